"""The best strategy of a search, as a fragment that `ds1ray sweep` and `ds1ray run` accept.

Bootstrap overlays cannot set agent strategies (they hold adapters, market and
policies; strategies live in `agent_config.yaml`), so the fragment uses the
two forms that do carry strategy overrides: an experiment's `strategies:`
block, and `ds1ray run --set PATH=VALUE` pairs (in the file's header, and from
`run_arguments`)::

    # Best of 40 trials of `ds1ray tune …`; objective lcb: …
    # Run it:   ds1ray run --set marketing.kill_roas=1.7 --set marketing.allocation=bandit
    # Sweep it: copy the `strategies:` entry below into an experiment.
    strategies:
      tuned:
        marketing.kill_roas: 1.7
        marketing.allocation: bandit
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ds1ray.errors import UserError

LABEL = "tuned"


def run_arguments(overrides: Mapping[str, Any]) -> list[str]:
    """`--set PATH=VALUE` arguments of `ds1ray run` (values as YAML scalars, as `--set` reads them)."""
    arguments = []
    for path, value in overrides.items():
        arguments += ["--set", f"{path}={yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...')}"]
    return [argument.strip() for argument in arguments]


def write_fragment(path: Path, overrides: Mapping[str, Any], comment: str) -> Path:
    """Write `overrides` as a `strategies: {tuned: …}` fragment with how to run and sweep it."""
    command = " ".join(["ds1ray run", *run_arguments(overrides)])
    header = "\n".join(
        [
            f"# {comment}",
            f"# Run it:   {command}",
            "# Sweep it: copy the `strategies:` entry below into an experiment (next to its baseline).",
        ]
    )
    body = yaml.safe_dump({"strategies": {LABEL: dict(overrides)}}, sort_keys=False, allow_unicode=True)
    path.write_text(f"{header}\n{body}", encoding="utf-8")
    return path


def read_fragment(path: str | Path) -> dict[str, Any]:
    """The strategy overrides of a fragment written by `write_fragment`."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such fragment") from None
    try:
        overrides = data["strategies"][LABEL]
    except (TypeError, KeyError):
        raise UserError(f"{path}: not a tune fragment (expected strategies: {{{LABEL}: …}})") from None
    return dict(overrides)
