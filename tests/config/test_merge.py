"""Deep merge of an overlay over its base: precedence, replacement and where values came from."""

from __future__ import annotations

from pathlib import Path

from ds1ray.config.merge import deep_merge, new_key_findings, origins_of
from ds1ray.config.yamlfile import parse_yaml

BASE = parse_yaml(
    """\
adapters:
  ai: {mode: mock, timeout_s: 30}
  shop: {mode: mock, timeout_s: 10}
retry_statuses: [429, 500, 502]
secrets: {}
market:
  traffic:
    cpm: 13.7
    ctr: 0.0159
""",
    Path("base.yaml"),
)


def merged_with(overlay_text: str) -> tuple[dict, dict]:
    overlay = parse_yaml(overlay_text, Path("overlay.yaml"))
    return deep_merge(BASE, overlay, origins_of(BASE))


def test_the_overlay_wins_over_the_base_and_untouched_keys_keep_the_base_value() -> None:
    merged, _ = merged_with("adapters:\n  ai: {mode: live}\nmarket:\n  traffic:\n    cpm: 20.0\n")

    assert merged["adapters"]["ai"] == {"mode": "live", "timeout_s": 30}
    assert merged["adapters"]["shop"] == {"mode": "mock", "timeout_s": 10}
    assert merged["market"]["traffic"] == {"cpm": 20.0, "ctr": 0.0159}


def test_a_list_in_the_overlay_replaces_the_base_list_whole() -> None:
    merged, origins = merged_with("retry_statuses: [503]\n")

    assert merged["retry_statuses"] == [503]
    assert ("retry_statuses", 1) not in origins  # the base's items are gone, lines too


def test_origins_point_at_the_file_that_set_each_value() -> None:
    _, origins = merged_with("market:\n  traffic:\n    cpm: 20.0\n")

    assert (origins[("market", "traffic", "cpm")].file.name, origins[("market", "traffic", "cpm")].line) == (
        "overlay.yaml",
        3,
    )
    assert (origins[("market", "traffic", "ctr")].file.name, origins[("market", "traffic", "ctr")].line) == (
        "base.yaml",
        9,
    )


def test_the_base_is_not_modified_by_merging() -> None:
    merged_with("adapters:\n  ai: {mode: live}\n")

    assert BASE.data["adapters"]["ai"]["mode"] == "mock"


def test_an_overlay_key_the_base_lacks_is_a_finding_with_its_line_and_the_keys_offered() -> None:
    overlay = parse_yaml("market:\n  traffic:\n    cpn: 1.0\n", Path("overlay.yaml"))

    findings = new_key_findings(BASE, overlay)

    assert [str(finding) for finding in findings] == [
        "overlay.yaml:3: market.traffic.cpn: key not in base.yaml "
        "(an overlay may only set keys of its base; there: cpm, ctr)"
    ]


def test_secrets_is_open_for_overlays_to_fill_in() -> None:
    overlay = parse_yaml('secrets:\n  OPENAI_API_KEY: "${OPENAI_API_KEY}"\n', Path("overlay.yaml"))

    assert new_key_findings(BASE, overlay) == []
    merged, origins = deep_merge(BASE, overlay, origins_of(BASE))
    assert merged["secrets"] == {"OPENAI_API_KEY": "${OPENAI_API_KEY}"}
    assert origins[("secrets", "OPENAI_API_KEY")].line == 2
