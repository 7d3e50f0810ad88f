"""Keep the shipped copies of the manifests in step with their sources of truth.

- The repository's top-level `overlays/` and `seeds/` are what users edit; the package
  carries a copy in `ds1ray/defaults/` so that `ds1ray` works from any folder.
- The `market:` block of `overlays/bootstrap.base.yaml` spells out `MarketParams()`'s
  defaults, so that every market parameter has a key an overlay can set; the `strategy:`
  blocks of `overlays/agent_config.yaml` spell out each agent's `STRATEGIES` defaults.

`python -m ds1ray.config.sync_defaults [--models]` rewrites the copies (and, with
`--models`, the market and strategy blocks from the models first);
`tests/config/test_sync_defaults.py` fails while anything differs.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import yaml

from ds1ray.agents.strategies import STRATEGIES
from ds1ray.config.locate import PACKAGED_ROOT
from ds1ray.market.params import MarketParams

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent.parent
"""The checkout this package was installed from (editable installs)."""


def sync_defaults(source: Path = REPOSITORY_ROOT, target: Path = PACKAGED_ROOT) -> list[Path]:
    """Copy `source/overlays/*.yaml` and `source/seeds/*.yaml` into `target`; return the copies.

    Files in `target` that no longer exist in `source` are removed, so the package never
    ships a manifest the repository dropped.
    """
    written = []
    for folder in ("overlays", "seeds"):
        (target / folder).mkdir(parents=True, exist_ok=True)
        wanted = {path.name for path in (source / folder).glob("*.yaml")}
        for stale in (target / folder).glob("*.yaml"):
            if stale.name not in wanted:
                stale.unlink()
        for name in sorted(wanted):
            written.append(Path(shutil.copyfile(source / folder / name, target / folder / name)))
    return written


def _block(key: str, tree: dict[str, object], indent: int) -> str:
    body = yaml.safe_dump(tree, sort_keys=False, default_flow_style=False, width=100)
    pad = " " * indent
    return f"{pad}{key}:\n" + "".join(f"{pad}  {line}" for line in body.splitlines(keepends=True))


def market_block() -> str:
    """The `market:` block with every `MarketParams` default, as bootstrap.base.yaml holds it."""
    return _block("market", MarketParams().model_dump(mode="json"), 0)


def strategy_block(agent_id: str) -> str:
    """An agent's `strategy:` block with its model's defaults, as agent_config.yaml holds it."""
    return _block("strategy", STRATEGIES[agent_id]().model_dump(mode="json"), 4)


def replace_block(text: str, header: str, block: str, *, after: str = "") -> str:
    """`text` with the block that starts at line `header` (the first after line `after`)
    replaced by `block`; the old block ends where a line is indented no deeper than its header."""
    lines = text.splitlines(keepends=True)
    start = lines.index(after) + 1 if after else 0
    start = lines.index(header, start)
    depth = len(header) - len(header.lstrip())
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > depth):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # keep the blank lines that separate the block from what follows
    return "".join([*lines[:start], block, *lines[end:]])


def rewrite_model_blocks(root: Path = REPOSITORY_ROOT) -> None:
    """Rewrite the market block and the agents' strategy blocks from the models' defaults."""
    base = root / "overlays" / "bootstrap.base.yaml"
    base.write_text(replace_block(base.read_text(encoding="utf-8"), "market:\n", market_block()))
    agents = root / "overlays" / "agent_config.yaml"
    text = agents.read_text(encoding="utf-8")
    for agent_id in STRATEGIES:
        text = replace_block(text, "    strategy:\n", strategy_block(agent_id), after=f"  {agent_id}:\n")
    agents.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        action="store_true",
        help="first rewrite the market and strategy blocks from the models' defaults",
    )
    args = parser.parse_args()
    if args.models:
        rewrite_model_blocks()
    for copied in sync_defaults():
        print(copied)


if __name__ == "__main__":
    main()
