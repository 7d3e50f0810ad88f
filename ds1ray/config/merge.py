"""Deep-merge an overlay over its base, remembering where every value came from.

Mappings merge key by key; scalars and lists replace the base's value whole (a list in
an overlay is the new list, not an addition to the old one). An overlay may only set keys
the base has: a new key is almost always a typo, so it is reported, not silently added.
The exceptions are the open mappings in `OPEN_MAPPINGS` (such as `secrets`), whose keys
the overlays are meant to fill in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ds1ray.adapters.ports import PORT_NAMES
from ds1ray.config.errors import Finding, display_path, dotted
from ds1ray.config.yamlfile import KeyPath, YamlDoc

# An adapter's `options` are its platform's own settings (an ad account id): the base cannot list them.
OPEN_MAPPINGS: frozenset[KeyPath] = frozenset({("secrets",), *(("adapters", port, "options") for port in PORT_NAMES)})
"""Key paths whose mapping an overlay may extend with keys the base does not have."""


@dataclass(frozen=True)
class Origin:
    """The file and line a merged value was read from."""

    file: Path
    line: int | None

    def __str__(self) -> str:
        name = display_path(self.file)
        return name if self.line is None else f"{name}:{self.line}"


Origins = dict[KeyPath, Origin]


def origins_of(doc: YamlDoc, prefix: KeyPath = ()) -> Origins:
    """Every key path of `doc` mapped to its line in `doc.path`, under `prefix`."""
    return {(*prefix, *key_path): Origin(doc.path, line) for key_path, line in doc.lines.items()}


def origin_at(origins: Mapping[KeyPath, Origin], key_path: KeyPath, default_file: Path) -> Origin:
    """Where `key_path` (or its nearest recorded ancestor) came from."""
    for depth in range(len(key_path), -1, -1):
        origin = origins.get(key_path[:depth])
        if origin is not None:
            return origin
    return Origin(default_file, None)


def new_keys(base: Any, overlay: Any, key_path: KeyPath = ()) -> Iterator[KeyPath]:
    """Key paths the overlay sets that the base does not have (outside the open mappings)."""
    if not isinstance(base, dict) or not isinstance(overlay, dict) or key_path in OPEN_MAPPINGS:
        return
    for key, value in overlay.items():
        if key not in base:
            yield (*key_path, key)
        else:
            yield from new_keys(base[key], value, (*key_path, key))


def new_key_findings(base: YamlDoc, overlay: YamlDoc) -> list[Finding]:
    """One finding per overlay key that the base lacks, each naming what the base offers there."""
    findings = []
    for key_path in new_keys(base.data, overlay.data):
        parent = _lookup(base.data, key_path[:-1])
        offered = ", ".join(str(key) for key in parent) if isinstance(parent, dict) else "nothing"
        findings.append(
            Finding(
                "error",
                display_path(overlay.path),
                overlay.line_of(key_path),
                f"{dotted(key_path)}: key not in {base.path.name} "
                f"(an overlay may only set keys of its base; there: {offered})",
            )
        )
    return findings


def deep_merge(base: YamlDoc, overlay: YamlDoc, base_origins: Origins) -> tuple[Any, Origins]:
    """`overlay` merged over `base`, and the origin of every merged key path."""
    origins = dict(base_origins)
    merged = _merge(base.data, overlay.data, (), overlay, origins)
    return merged, origins


def _merge(base: Any, overlay: Any, key_path: KeyPath, doc: YamlDoc, origins: Origins) -> Any:
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            child = (*key_path, key)
            if key in base:
                merged[key] = _merge(base[key], value, child, doc, origins)
            else:
                merged[key] = value
                _replace_origins(child, doc, origins)
        return merged
    _replace_origins(key_path, doc, origins)
    return overlay


def _replace_origins(key_path: KeyPath, doc: YamlDoc, origins: Origins) -> None:
    """The subtree at `key_path` now comes from `doc`: forget the base's lines below it."""
    depth = len(key_path)
    for stale in [path for path in origins if path[:depth] == key_path]:
        del origins[stale]
    for path, line in doc.lines.items():
        if path[:depth] == key_path:
            origins[path] = Origin(doc.path, line)


def _lookup(data: Any, key_path: KeyPath) -> Any:
    for key in key_path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data
