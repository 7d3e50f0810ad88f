"""The experiment specification: what a sweep runs, read from a YAML file.

An experiment names a scenario (an overlay, a dated shock script, fixed
overrides), the strategies to compare (label → overrides of strategy
parameters), a parameter space over dotted paths, the replicate seeds and the
horizon. Every run is one (space point, strategy, replicate seed); every point
and strategy meets the same replicate seeds (common random numbers).

Example::

    from ds1ray.sweep import load_experiment
    experiment = load_experiment("experiments/quickstart.yaml")
    runs = experiment.run_specs()          # list[RunSpec], in canonical order
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from ds1ray.config.errors import ConfigError
from ds1ray.config.yamlfile import KeyPath, YamlDoc, read_yaml
from ds1ray.market.params import ScriptedShock
from ds1ray.runspec import RunSpec
from ds1ray.sweep.space import Point, SampledSpace, expand_points

SCRIPT_PATH = "market.shocks.script"
"""The dotted path a scenario's dated shock script is applied to."""


class ExperimentError(ConfigError):
    """An experiment file that cannot be used: `file:line: key.path: problem`."""


def doc_error(doc: YamlDoc, loc: KeyPath, problem: str) -> ExperimentError:
    return ExperimentError(problem, file=doc.path, key_path=tuple(loc), line=doc.line_of(tuple(loc)))


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scenario(_Spec):
    """The market every run of the experiment meets."""

    overlay: Path | None = Field(default=None, description="overlay file, relative to the experiment file")
    script: list[ScriptedShock] | Path | None = Field(
        default=None, description="dated shocks: a list of {day, kind} or a YAML file holding one"
    )
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted path → value")


class Space(_Spec):
    """The swept parameters: a grid, times random or Latin-hypercube samples."""

    grid: dict[str, list[Any]] = Field(default_factory=dict, description="dotted path → values")
    random: SampledSpace | None = None
    lhs: SampledSpace | None = None

    @model_validator(mode="after")
    def _one_sampler(self) -> Space:
        if self.random is not None and self.lhs is not None:
            raise ValueError("give `random` or `lhs`, not both")
        for path, values in self.grid.items():
            if not values:
                raise ValueError(f"grid[{path}] has no values")
        return self

    def paths(self) -> list[str]:
        sampled = self.random or self.lhs
        return [*self.grid, *(sampled.params if sampled else {})]


class Replicates(_Spec):
    """The replicate seeds every (point, strategy) runs with."""

    seeds: int = Field(ge=1, le=1_000_000, description="how many replicate seeds")
    first_seed: int = Field(0, ge=0, description="seeds are first_seed, first_seed + 1, …")

    def values(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.seeds))


class Experiment(_Spec):
    """A whole sweep specification."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)
    description: str = ""
    scenario: Scenario = Field(default_factory=lambda: Scenario())
    strategies: dict[str, dict[str, Any]] = Field(
        min_length=1, description="label → strategy overrides (dotted path → value)"
    )
    space: Space = Field(default_factory=Space)
    space_seed: int = Field(0, ge=0, description="seeds the random/lhs sampling of the space")
    replicates: Replicates
    days: int = Field(ge=1, le=3650, description="horizon of every run")

    _doc: YamlDoc | None = PrivateAttr(None)

    @property
    def source(self) -> Path | None:
        """The file this experiment was read from (None when built in Python)."""
        return self._doc.path if self._doc else None

    def base_dir(self) -> Path:
        return self._doc.path.parent if self._doc else Path.cwd()

    def overlay_path(self) -> Path | None:
        overlay = self.scenario.overlay
        return None if overlay is None else self.base_dir() / overlay

    def scenario_overrides(self) -> dict[str, Any]:
        """Fixed overrides of every run: the scenario's own plus its shock script."""
        overrides = dict(self.scenario.overrides)
        script = self._script()
        if script is not None:
            overrides[SCRIPT_PATH] = [shock.model_dump() for shock in script]
        return overrides

    def points(self) -> list[Point]:
        """The space's points in canonical order (grid product × samples, duplicates dropped)."""
        return expand_points(self.space.grid, self.space.random, self.space.lhs, self.space_seed)

    def swept_paths(self) -> list[str]:
        """Dotted paths the space varies: the parameter columns of `runs.parquet`."""
        return self.space.paths()

    def run_specs(self, points: list[Point] | None = None) -> list[RunSpec]:
        """Every run in canonical order: for each point, for each strategy, for each seed."""
        points = self.points() if points is None else points
        seeds = self.replicates.values()
        return [
            RunSpec(self.name, seed, label, {**overrides, **point})
            for point in points
            for label, overrides in self.strategies.items()
            for seed in seeds
        ]

    def override_origin(self, path: str, strategy: str | None = None) -> KeyPath:
        """Where the experiment file sets `path` (for error messages)."""
        if strategy is not None and path in self.strategies.get(strategy, {}):
            return ("strategies", strategy, path)
        if path in self.space.grid:
            return ("space", "grid", path)
        for kind in ("random", "lhs"):
            sampled = getattr(self.space, kind)
            if sampled is not None and path in sampled.params:
                return ("space", kind, "params", path)
        if path == SCRIPT_PATH:
            return ("scenario", "script")
        return ("scenario", "overrides", path)

    def error(self, loc: KeyPath, message: str) -> ExperimentError:
        if self._doc is None:
            return ExperimentError(message, file=f"experiment {self.name}", key_path=tuple(loc))
        return doc_error(self._doc, loc, message)

    def fingerprint(self) -> dict[str, Any]:
        """Everything in the spec that decides results, as plain JSON data."""
        data = self.model_dump(mode="json", exclude={"description"})
        # A script file counts by what it says, not by its name.
        script = self._script()
        data["scenario"]["script"] = None if script is None else [shock.model_dump(mode="json") for shock in script]
        return data

    def _script(self) -> list[ScriptedShock] | None:
        script = self.scenario.script
        if script is None or isinstance(script, list):
            return script
        path = self.base_dir() / script
        if not path.is_file():
            raise self.error(("scenario", "script"), f"shock script {path} does not exist")
        doc = read_yaml(path)
        if not isinstance(doc.data, list):
            raise doc_error(doc, (), "a shock script is a list of {day, kind}")
        shocks: list[ScriptedShock] = []
        for index, item in enumerate(doc.data):
            try:
                shocks.append(ScriptedShock.model_validate(item))
            except ValidationError as error:
                first = error.errors()[0]
                raise doc_error(doc, (index, *first["loc"]), _message(first)) from None
        return shocks


def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file; any problem is one `ExperimentError`."""
    doc = read_yaml(Path(path))
    if not isinstance(doc.data, dict):
        raise doc_error(doc, (), "an experiment is a mapping with name, strategies, replicates, days, …")
    try:
        experiment = Experiment.model_validate(doc.data)
    except ValidationError as error:
        first = error.errors()[0]
        loc = tuple(part for part in first["loc"] if not _is_union_tag(part))
        raise doc_error(doc, loc, _message(first)) from None
    experiment._doc = doc
    _check_consistency(experiment)
    experiment.scenario_overrides()  # reads and checks a script file now, not mid-sweep
    return experiment


_LOCATION_KEYS = frozenset({"root", "overlay", "sources"})


def experiment_hash(experiment: Experiment, config: dict[str, Any]) -> str:
    """Identity of what the experiment computes: its spec and the merged configuration.

    Cohort files in a results folder belong to one hash; a changed experiment (or
    overlay, or base defaults) no longer matches them.
    """
    # Where the files lie (root, sources) is not what they say: a moved checkout resumes.
    content = {key: value for key, value in config.items() if key not in _LOCATION_KEYS}
    payload = json.dumps(
        {"experiment": experiment.fingerprint(), "config": content},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.blake2b(payload.encode(), digest_size=10).hexdigest()


def _check_consistency(experiment: Experiment) -> None:
    """Rules that span sections: every path is dotted and set in one place only."""
    space_paths = experiment.space.paths()
    scenario = experiment.scenario.overrides
    for label, overrides in experiment.strategies.items():
        for path in overrides:
            _check_dotted(experiment, ("strategies", label, path), path)
            if path in space_paths:
                raise experiment.error(
                    ("strategies", label, path),
                    f"{path} is also swept by the space; set it in one place",
                )
            if path in scenario:
                raise experiment.error(
                    ("strategies", label, path),
                    f"{path} is also fixed by scenario.overrides; set it in one place",
                )
    for path in space_paths:
        _check_dotted(experiment, experiment.override_origin(path), path)
        if path in scenario:
            raise experiment.error(
                experiment.override_origin(path),
                f"{path} is also fixed by scenario.overrides; set it in one place",
            )
    for path in scenario:
        _check_dotted(experiment, ("scenario", "overrides", path), path)
    if SCRIPT_PATH in scenario and experiment.scenario.script is not None:
        raise experiment.error(("scenario", "script"), f"give scenario.script or {SCRIPT_PATH}, not both")
    total = len(experiment.points()) * len(experiment.strategies) * experiment.replicates.seeds
    if total > 10_000_000:
        raise experiment.error(("replicates",), f"{total:,} runs is more than this tool handles (10,000,000)")


def _check_dotted(experiment: Experiment, loc: KeyPath, path: str) -> None:
    if "." not in path or any(not part for part in path.split(".")):
        raise experiment.error(loc, f"'{path}' is not a dotted parameter path such as marketing.allocation")


def _is_union_tag(part: str | int) -> bool:
    # pydantic names the union member it tried ("list[ScriptedShock]"); not a key of the file.
    return isinstance(part, str) and ("[" in part or part in {"path", "none"})


def _message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    return message
