"""What a bad configuration is reported as: one `ConfigError`, or a list of `Finding`s.

Both name the file, the line and the dotted key path, so that `file:line: path: problem`
leads the user straight to the spot.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ds1ray.errors import UserError

Severity = Literal["error", "warning"]


def display_path(path: Path | str | None) -> str:
    """A file as the user knows it: relative to the working directory when it lies below it."""
    if path is None:
        return "<config>"
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def dotted(key_path: tuple[str | int, ...]) -> str:
    """`("market", "traffic", "cpm")` → `market.traffic.cpm`; list indices stay numbers."""
    return ".".join(str(part) for part in key_path)


@dataclass(frozen=True)
class Finding:
    """One problem found by `ds1ray check`: where it is and what is wrong."""

    severity: Severity
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


class ConfigError(UserError):
    """A manifest, overlay, seed file or override that cannot be used.

    The message reads `file:line: key.path: problem`; the parts are kept as attributes
    for tests and tools.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: Path | str | None,
        key_path: tuple[str | int, ...] = (),
        line: int | None = None,
    ) -> None:
        self.file = display_path(file) if not isinstance(file, str) else file
        self.key_path = key_path
        self.line = line
        self.problem = problem
        self.finding = Finding("error", self.file, line, f"{dotted(key_path)}: {problem}" if key_path else problem)
        super().__init__(str(self.finding))

    @classmethod
    def from_finding(cls, finding: Finding, suffix: str = "") -> ConfigError:
        """A finding (whose message already starts with its key path) raised as an error."""
        return cls(finding.message + suffix, file=finding.file, line=finding.line)
