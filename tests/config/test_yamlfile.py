"""Reading YAML with line numbers: the lines errors point at."""

from __future__ import annotations

from pathlib import Path

import pytest

from ds1ray.config.errors import ConfigError
from ds1ray.config.yamlfile import parse_yaml, read_yaml

DOC = """\
# a comment
market:
  traffic:
    cpm: 13.7
    ctr: 0.0159
shocks:
  - kind: crash
    days: 21
  - kind: viral
"""


def test_records_the_line_of_every_key_and_list_item() -> None:
    doc = parse_yaml(DOC, Path("x.yaml"))

    assert doc.data["market"]["traffic"]["cpm"] == 13.7
    assert doc.lines[("market",)] == 2
    assert doc.lines[("market", "traffic", "cpm")] == 4
    assert doc.lines[("market", "traffic", "ctr")] == 5
    assert doc.lines[("shocks", 0)] == 7
    assert doc.lines[("shocks", 0, "days")] == 8
    assert doc.lines[("shocks", 1, "kind")] == 9


def test_line_of_a_missing_key_is_its_nearest_ancestor() -> None:
    doc = parse_yaml(DOC, Path("x.yaml"))

    assert doc.line_of(("market", "traffic", "hill_slope")) == 3
    assert doc.line_of(("nowhere", "at", "all")) == 2  # the document's first line


def test_a_duplicate_key_is_refused_with_both_lines() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_yaml("a:\n  b: 1\n  c: 2\n  b: 3\n", Path("dup.yaml"))

    assert str(caught.value) == "dup.yaml:4: a.b: duplicate key (first set on line 2)"


def test_an_unclosed_bracket_is_reported_where_it_was_opened() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_yaml("a: 1\nb: [1, 2\nc: 3\n", Path("bad.yaml"))

    assert str(caught.value) == (
        "bad.yaml:2: invalid YAML: while parsing a flow sequence (line 2): expected ',' or ']', but got ':' (line 3)"
    )


def test_a_misindented_key_is_reported_where_the_parser_stopped() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_yaml("a:\n  - x\n  y: 1\n", Path("bad.yaml"))

    assert caught.value.line == 3
    assert str(caught.value).startswith("bad.yaml:3: invalid YAML: ")


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        read_yaml(tmp_path / "absent.yaml")

    assert str(caught.value).endswith("absent.yaml: file not found")


def test_anchors_and_merge_keys_resolve() -> None:
    doc = parse_yaml("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 5\n", Path("m.yaml"))

    assert doc.data["other"] == {"x": 1, "y": 5}


def test_an_empty_file_is_an_empty_mapping() -> None:
    assert parse_yaml("# nothing\n", Path("e.yaml")).data == {}
