"""Fixtures for the configuration tests: a private, editable copy of the shipped manifests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


class ManifestCopy:
    """A copy of the repository's `overlays/` and `seeds/` that a test may break on purpose."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, relative: str) -> Path:
        return self.root / relative

    def replace(self, relative: str, old: str, new: str) -> int:
        """Replace the one occurrence of `old` in the file; return the 1-based line it is on."""
        path = self.path(relative)
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {relative}"
        line = text[: text.index(old)].count("\n") + 1
        path.write_text(text.replace(old, new), encoding="utf-8")
        return line

    def append(self, relative: str, text: str) -> int:
        """Append `text` to the file; return the line its first line lands on."""
        path = self.path(relative)
        current = path.read_text(encoding="utf-8")
        if not current.endswith("\n"):
            current += "\n"
        path.write_text(current + text, encoding="utf-8")
        return current.count("\n") + 1

    def line_of(self, relative: str, needle: str) -> int:
        text = self.path(relative).read_text(encoding="utf-8")
        assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times in {relative}"
        return text[: text.index(needle)].count("\n") + 1


@pytest.fixture
def manifests(tmp_path: Path) -> ManifestCopy:
    for folder in ("overlays", "seeds"):
        shutil.copytree(REPOSITORY / folder, tmp_path / folder)
    return ManifestCopy(tmp_path)
