"""What `ds1ray tune` searches: the `tune:` section of an experiment file.

The experiment gives the scenario, the replicate seeds, the horizon and the
strategy the search starts from; `tune:` gives the strategy parameters to
search, each a range or a list of choices inside the bounds its agent's
strategy model declares (`ds1ray/agents/strategies.py`).

Example (in an experiment YAML)::

    tune:
      base: baseline                 # strategy whose overrides every trial starts from
      trials: 40
      objective: lcb                 # mean | lcb (lower end of the 95 % CI of mean net profit)
      search_seed: 0
      params:
        marketing.kill_roas: {low: 0.5, high: 3.0}
        marketing.allocation: {choices: [equal, roas_greedy, bandit]}
        ceo.daily_ad_budget: {low: 10, high: 200, log: true}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ds1ray.agents.strategies import STRATEGIES
from ds1ray.config.overrides import allowed
from ds1ray.config.yamlfile import read_yaml
from ds1ray.sweep.experiment import Experiment, ExperimentError, doc_error
from ds1ray.sweep.space import Distribution

Objective = Literal["mean", "lcb"]


class TuneSpec(BaseModel):
    """The search: parameters, number of trials, objective, and the strategy it starts from."""

    model_config = ConfigDict(extra="forbid")

    params: dict[str, Distribution] = Field(default_factory=dict, description="strategy path → range or choices")
    trials: int = Field(20, ge=1, le=100_000)
    objective: Objective = "lcb"
    base: str | None = Field(None, description="strategy label the trials start from (default: the first)")
    search_seed: int = Field(0, ge=0)


def bounds_problem(path: str, distribution: Distribution) -> str | None:
    """Why `distribution` does not fit the declared bounds of strategy parameter `path`, or None."""
    agent, _, name = path.partition(".")
    model = STRATEGIES.get(agent)
    if model is None or "." in name or name not in model.model_fields:
        return f"not a strategy parameter (<agent>.<parameter>; agents: {', '.join(STRATEGIES)})"
    info = model.model_fields[name]
    if distribution.choices is None and info.annotation not in (int, float):
        return f"takes {allowed(info)}: search it with choices, not a range"
    values: list[Any] = (
        list(distribution.choices) if distribution.choices is not None else [distribution.low, distribution.high]
    )
    for value in values:
        try:
            model.model_validate({**model().model_dump(), name: value})
        except ValidationError:
            return f"{value!r} is outside what the parameter allows ({allowed(info)})"
    return None


def load_tune(path: str | Path, cli_params: dict[str, Distribution] | None = None) -> tuple[Experiment, TuneSpec]:
    """Read an experiment file with a `tune:` section; `cli_params` add to (or replace) its params.

    Any problem is one `ExperimentError` naming the file, key path and line.
    """
    doc = read_yaml(Path(path))
    if not isinstance(doc.data, dict):
        raise doc_error(doc, (), "an experiment is a mapping with name, strategies, replicates, days, tune, …")
    data = dict(doc.data)
    tune_data = data.pop("tune", None) or {}
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as error:
        raise _first(doc, (), error) from None
    try:
        spec = TuneSpec.model_validate(tune_data)
    except ValidationError as error:
        raise _first(doc, ("tune",), error) from None
    experiment._doc = doc
    experiment.scenario_overrides()  # a bad script file stops here
    if cli_params:
        spec = spec.model_copy(update={"params": {**spec.params, **cli_params}})
    if not spec.params:
        raise doc_error(doc, ("tune", "params"), "nothing to search: give tune.params or --param PATH=LOW:HIGH")
    for name, distribution in spec.params.items():
        problem = bounds_problem(name, distribution)
        if problem is not None:
            raise doc_error(doc, ("tune", "params", name), problem)
    if spec.base is not None and spec.base not in experiment.strategies:
        raise doc_error(
            doc, ("tune", "base"), f"no strategy '{spec.base}'; strategies: {', '.join(experiment.strategies)}"
        )
    for name in spec.params:
        if name in experiment.swept_paths():
            raise doc_error(doc, ("tune", "params", name), f"{name} is also swept by the space; set it in one place")
    return experiment, spec


def parse_param(text: str) -> tuple[str, Distribution]:
    """`PATH=LOW:HIGH` (a range; `:log` or `:int` may follow) or `PATH=a,b,c` (choices)."""
    path, sep, rhs = text.partition("=")
    if not sep or not path or not rhs:
        raise ExperimentError(f"--param {text!r}: expected PATH=LOW:HIGH or PATH=a,b,c", file="command line")
    try:
        if ":" in rhs:
            low, high, *flags = rhs.split(":")
            return path, Distribution(low=float(low), high=float(high), log="log" in flags, integer="int" in flags)
        return path, Distribution(choices=[_scalar(part) for part in rhs.split(",")])
    except ValidationError as error:
        problem = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
        raise ExperimentError(f"--param {text!r}: {problem}", file="command line") from None
    except ValueError as error:
        raise ExperimentError(f"--param {text!r}: {error}", file="command line") from None


def _scalar(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _first(doc: Any, prefix: tuple[str, ...], error: ValidationError) -> ExperimentError:
    first = error.errors()[0]
    loc = (*prefix, *(part for part in first["loc"] if not (isinstance(part, str) and "[" in part)))
    message = "unknown key" if first["type"] == "extra_forbidden" else str(first["msg"]).removeprefix("Value error, ")
    return doc_error(doc, loc, message)
