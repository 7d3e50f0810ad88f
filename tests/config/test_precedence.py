"""The order of the configuration sources: base < overlay < overrides, each layer visible.

Like pydantic-settings' sources, a later layer wins key by key and leaves the rest alone.
"""

from __future__ import annotations

import pytest

from ds1ray.config import ConfigError, load_config

from .conftest import ManifestCopy

BASE_CPM = "    cpm: 13.7\n"


@pytest.fixture
def layered(manifests: ManifestCopy) -> ManifestCopy:
    """The base sets cpm 11 and ctr 0.02; the simulation overlay sets cpm 22 only."""
    manifests.replace("overlays/bootstrap.base.yaml", BASE_CPM, "    cpm: 11.0\n")
    manifests.replace("overlays/bootstrap.base.yaml", "    ctr: 0.0159\n", "    ctr: 0.02\n")
    manifests.append("overlays/bootstrap.simulation.yaml", "market:\n  traffic:\n    cpm: 22.0\n")
    return manifests


def test_the_base_sets_what_the_overlay_leaves_alone(layered: ManifestCopy) -> None:
    traffic = load_config(root=layered.root).bootstrap.market.traffic

    assert traffic.ctr == 0.02


def test_the_overlay_wins_over_the_base(layered: ManifestCopy) -> None:
    config = load_config(root=layered.root)

    assert config.bootstrap.market.traffic.cpm == 22.0
    assert config.bootstrap.database.name == "dropship_sim"  # the base says dropship_base


def test_an_other_overlay_does_not_see_this_overlays_values(layered: ManifestCopy) -> None:
    assert load_config("staging", root=layered.root).bootstrap.market.traffic.cpm == 11.0


def test_overrides_win_over_the_overlay_and_the_base(layered: ManifestCopy) -> None:
    config = load_config(None, {"market.traffic.cpm": 33.0, "store.markup": 4.0}, root=layered.root)

    assert config.bootstrap.market.traffic.cpm == 33.0
    assert config.bootstrap.market.traffic.ctr == 0.02
    assert config.strategy("store").markup == 4.0


def test_the_merged_value_is_checked_where_it_was_set(layered: ManifestCopy) -> None:
    line = layered.replace("overlays/bootstrap.simulation.yaml", "    cpm: 22.0\n", "    cpm: -1.0\n")

    with pytest.raises(ConfigError) as caught:
        load_config(root=layered.root)

    assert caught.value.file.endswith("bootstrap.simulation.yaml")
    assert caught.value.line == line
