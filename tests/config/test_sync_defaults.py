"""The shipped copies agree with their sources of truth (see ds1ray/config/sync_defaults.py).

When one of these fails, run `python -m ds1ray.config.sync_defaults --models` and review
the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ds1ray.agents.strategies import STRATEGIES
from ds1ray.config import load_config
from ds1ray.config.locate import PACKAGED_ROOT
from ds1ray.config.sync_defaults import replace_block, sync_defaults
from ds1ray.config.yamlfile import read_yaml
from ds1ray.market.params import MarketParams

from .conftest import REPOSITORY

FIX = "run `python -m ds1ray.config.sync_defaults --models`"


def shipped_files() -> list[str]:
    return sorted(
        f"{folder}/{path.name}" for folder in ("overlays", "seeds") for path in (REPOSITORY / folder).glob("*.yaml")
    )


@pytest.mark.parametrize("relative", shipped_files())
def test_the_package_ships_an_identical_copy_of_each_manifest_and_seed(relative: str) -> None:
    packaged = PACKAGED_ROOT / relative

    assert packaged.is_file(), f"{relative} is not in ds1ray/defaults: {FIX}"
    assert packaged.read_bytes() == (REPOSITORY / relative).read_bytes(), f"ds1ray/defaults/{relative} differs: {FIX}"


def test_the_package_ships_nothing_the_repository_dropped() -> None:
    packaged = sorted(str(path.relative_to(PACKAGED_ROOT)) for path in PACKAGED_ROOT.glob("*/*.yaml"))

    assert packaged == shipped_files(), FIX


def test_the_base_market_block_spells_out_every_market_default() -> None:
    written = read_yaml(REPOSITORY / "overlays" / "bootstrap.base.yaml").data["market"]

    assert written == MarketParams().model_dump(mode="json"), FIX


@pytest.mark.parametrize("agent_id", list(STRATEGIES))
def test_each_strategy_block_spells_out_every_default_of_its_model(agent_id: str) -> None:
    written = read_yaml(REPOSITORY / "overlays" / "agent_config.yaml").data["agents"][agent_id]["strategy"]

    assert written == STRATEGIES[agent_id]().model_dump(mode="json"), FIX


def test_sync_copies_and_removes_stale_files(tmp_path: Path) -> None:
    target = tmp_path / "defaults"
    (target / "seeds").mkdir(parents=True)
    (target / "seeds" / "dropped.yaml").write_text("old: 1\n")

    sync_defaults(REPOSITORY, target)

    assert sorted(str(p.relative_to(target)) for p in target.glob("*/*.yaml")) == shipped_files()
    assert load_config("live", root=target).bootstrap.environment == "live"


def test_replace_block_keeps_comments_and_the_sections_around_it() -> None:
    text = "a: 1\n# about b\nb:\n  x: 1\n  y:\n    z: 2\n\n# about c\nc: 3\n"

    assert replace_block(text, "b:\n", "b:\n  x: 9\n") == "a: 1\n# about b\nb:\n  x: 9\n\n# about c\nc: 3\n"
