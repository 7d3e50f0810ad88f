"""Versioned schema migrations, shared by both backends.

Each `migrations/NNNN_name.sql` file is one version. A file is written once
for both backends: `{{json}}`-style placeholders become each backend's types,
and `-- dialect: postgresql` / `-- dialect: sqlite` / `-- dialect: all` lines
select backend-specific sections. `schema_migrations` records what was applied
(with a checksum, so an edited migration shows up in `ds1ray db status`).
A conversion SQL cannot express on one backend is a Python step
(`ds1ray.store.migration_steps`), run in the migration's transaction.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Protocol

from ds1ray.store.migration_steps import STEPS
from ds1ray.store.transaction import Transaction

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_DIALECT_LINE = re.compile(r"^--\s*dialect:\s*(\w+)\s*$")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")

LEDGER_TABLE = "schema_migrations"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    def render(self, dialect: str, types: dict[str, str]) -> str:
        """The SQL of this migration for one backend."""
        kept: list[str] = []
        section = "all"
        for line in self.text.splitlines():
            match = _DIALECT_LINE.match(line.strip())
            if match:
                section = match.group(1)
                continue
            if section in ("all", dialect):
                kept.append(line)

        def substitute(match: re.Match[str]) -> str:
            try:
                return types[match.group(1)]
            except KeyError:
                raise ValueError(
                    f"migration {self.version:04d}_{self.name}: unknown placeholder "
                    f"{match.group(0)}"
                ) from None

        return _PLACEHOLDER.sub(substitute, "\n".join(kept) + "\n")


@cache
def all_migrations() -> tuple[Migration, ...]:
    """The migrations shipped with this code, in version order."""
    found: list[Migration] = []
    for entry in resources.files("ds1ray.store").joinpath("migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"store migrations must be numbered 1, 2, 3, … without gaps: {versions}")
    return tuple(found)


def code_version() -> int:
    """The schema version this code expects."""
    return all_migrations()[-1].version


class MigratingBackend(Protocol):
    def table_exists(self, tx: Transaction, table: str) -> bool: ...
    def execute_script(self, tx: Transaction, script: str) -> None: ...


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: str


def applied_migrations(backend: MigratingBackend, tx: Transaction) -> list[AppliedMigration]:
    """What the database says was applied (empty for a fresh database)."""
    if not backend.table_exists(tx, LEDGER_TABLE):
        return []
    rows = tx.execute(
        f"SELECT version, name, checksum, applied_at FROM {LEDGER_TABLE} ORDER BY version"
    ).fetchall()
    return [
        AppliedMigration(int(version), name, checksum, str(tx.dialect.load_timestamp(applied)))
        for version, name, checksum, applied in rows
    ]


def ensure_ledger(backend: MigratingBackend, tx: Transaction, types: dict[str, str]) -> None:
    backend.execute_script(
        tx,
        f"CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (version BIGINT PRIMARY KEY, "
        f"name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at {types['timestamp']} NOT NULL);",
    )


def apply_migration(
    backend: MigratingBackend, tx: Transaction, migration: Migration, types: dict[str, str]
) -> None:
    """Apply one migration inside `tx` (so it applies wholly or not at all)."""
    backend.execute_script(tx, migration.render(tx.dialect.name, types))
    step = STEPS.get((migration.version, tx.dialect.name))
    if step is not None:
        step(tx)
    tx.execute(
        f"INSERT INTO {LEDGER_TABLE} (version, name, checksum, applied_at) VALUES (%s, %s, %s, %s)",
        [migration.version, migration.name, migration.checksum, tx.dialect.timestamp(tx.now())],
    )
