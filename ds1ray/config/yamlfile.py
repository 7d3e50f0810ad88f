"""Read a YAML file into plain data while remembering the line of every key.

PyYAML's SafeLoader composes a node tree that carries source marks; `read_yaml` builds
the data from that tree itself so it can record, for each key path, the line where the
key (or list item) starts. Errors later name that line. Duplicate keys, which PyYAML
silently lets the last one win, are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ds1ray.config.errors import ConfigError

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDoc:
    """The data of one YAML file and the 1-based line of each key path in it."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, key_path: KeyPath) -> int | None:
        """The line of `key_path`, or of its nearest ancestor present in the file."""
        for depth in range(len(key_path), -1, -1):
            line = self.lines.get(key_path[:depth])
            if line is not None:
                return line
        return None


def read_yaml(path: Path) -> YamlDoc:
    """Parse `path`; a missing file, bad syntax or a duplicate key is a `ConfigError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=path) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the file ({error.__class__.__name__})", file=path) from None
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> YamlDoc:
    """Parse YAML `text` that came from `path` (used for messages)."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        data = _build(loader, root, (), lines, path) if root is not None else {}
    except yaml.MarkedYAMLError as error:
        raise ConfigError(f"invalid YAML: {_syntax_problem(error)}", file=path, line=_syntax_line(error)) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"invalid YAML: {error}", file=path) from None
    finally:
        loader.dispose()
    if root is not None:
        lines.setdefault((), root.start_mark.line + 1)
    return YamlDoc(path=path, data=data, lines=lines)


def _syntax_line(error: yaml.MarkedYAMLError) -> int | None:
    # An unclosed bracket or quote is to be fixed where it was opened (the context mark), not
    # where the parser gave up; anything else where the parser stopped (the problem mark).
    opened = error.context_mark if error.context and ("flow" in error.context or "quoted" in error.context) else None
    mark = opened or error.problem_mark or error.context_mark
    return mark.line + 1 if mark is not None else None


def _syntax_problem(error: yaml.MarkedYAMLError) -> str:
    context = (
        f"{error.context} (line {error.context_mark.line + 1})"
        if error.context and error.context_mark
        else error.context
    )
    problem = (
        f"{error.problem} (line {error.problem_mark.line + 1})"
        if error.problem and error.problem_mark
        else error.problem
    )
    return ": ".join(part for part in (context, problem) if part)


def _build(loader: yaml.SafeLoader, node: yaml.Node, key_path: KeyPath, lines: dict[KeyPath, int], path: Path) -> Any:
    if isinstance(node, yaml.MappingNode):
        return _build_mapping(loader, node, key_path, lines, path)
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item_node in enumerate(node.value):
            lines[(*key_path, index)] = item_node.start_mark.line + 1
            items.append(_build(loader, item_node, (*key_path, index), lines, path))
        return items
    return loader.construct_object(node, deep=True)


def _build_mapping(
    loader: yaml.SafeLoader, node: yaml.MappingNode, key_path: KeyPath, lines: dict[KeyPath, int], path: Path
) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    inherited: list[yaml.Node] = []
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            # `<<: *anchor` (or a list of anchors): keys written here win over the merged ones.
            inherited.extend(value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node])
            continue
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str | int) or isinstance(key, bool):
            raise ConfigError(f"a key must be a name, not {key!r}", file=path, key_path=key_path, line=line)
        if key in mapping:
            first = lines[(*key_path, key)]
            raise ConfigError(
                f"duplicate key (first set on line {first})", file=path, key_path=(*key_path, key), line=line
            )
        lines[(*key_path, key)] = line
        mapping[key] = _build(loader, value_node, (*key_path, key), lines, path)
    for source in inherited:
        source_lines: dict[KeyPath, int] = {}
        merged = _build(loader, source, key_path, source_lines, path)
        if not isinstance(merged, dict):
            raise ConfigError(
                "`<<` must merge a mapping", file=path, key_path=key_path, line=source.start_mark.line + 1
            )
        for key in [key for key in merged if key not in mapping]:  # keep the anchor's key order
            mapping[key] = merged[key]
            depth = len(key_path) + 1
            lines.update({p: n for p, n in source_lines.items() if p[:depth] == (*key_path, key)})
    return mapping
