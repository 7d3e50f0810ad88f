"""Where the store lives: choosing the database URL and describing it safely.

`database_url(name)` is the one rule for picking a database: `DS1_DATABASE_URL`
wins, otherwise an embedded SQLite file named after the configured database
(`dropship_sim` in simulation, `dropship` live) so a newcomer needs no server.
`parse_store_url` turns a URL into a `StoreLocation` whose `describe()` names
host, port and database and never the password, for error messages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from psycopg.conninfo import conninfo_to_dict

from ds1ray.errors import UserError

DATABASE_URL_ENV = "DS1_DATABASE_URL"
DEFAULT_DATA_DIR = Path("~/.local/share/ds1ray")

# libpq's keyword form, e.g. "host=127.0.0.1 dbname=dropship".
_KEYWORD_CONNINFO = re.compile(r"^(host|hostaddr|port|dbname|user|service)\s*=")

BackendName = Literal["sqlite", "postgresql"]


@dataclass(frozen=True)
class StoreLocation:
    """A parsed store URL: which backend, and where."""

    backend: BackendName
    url: str
    path: Path | None = None  # SQLite file
    host: str = ""
    port: str = ""
    database: str = ""

    def describe(self) -> str:
        """Name the database for messages: never includes a password."""
        if self.backend == "sqlite":
            return f"SQLite database {self.path}"
        return f"PostgreSQL database '{self.database}' at {self.host}:{self.port}"

    def safe_url(self) -> str:
        """The URL with any password replaced by `***`, for messages and logs."""
        return redact_password(self.url)


def database_url(name: str, env: Mapping[str, str] = os.environ) -> str:
    """The URL of the store named `name` (e.g. `dropship_sim`, `dropship`).

    `DS1_DATABASE_URL` overrides the name; otherwise the embedded default
    `sqlite:///~/.local/share/ds1ray/<name>.sqlite3` (home expanded).
    """
    override = env.get(DATABASE_URL_ENV, "").strip()
    if override:
        return override
    if not name or "/" in name or name.startswith("."):
        raise UserError(f"database name {name!r} is not a plain name (like 'dropship_sim')")
    path = (DEFAULT_DATA_DIR / f"{name}.sqlite3").expanduser()
    return f"sqlite:///{path}"


def parse_store_url(url: str) -> StoreLocation:
    """Parse `sqlite:///path`, a bare file path, `postgresql://…` or `host=… dbname=…`."""
    text = url.strip()
    if not text:
        raise UserError("the database URL is empty (give sqlite:///PATH or postgresql://…)")
    scheme = text.split(":", 1)[0].lower() if "://" in text else ""
    if scheme in ("postgresql", "postgres") or _KEYWORD_CONNINFO.match(text):
        return _parse_postgres(text)
    if scheme == "sqlite":
        # SQLAlchemy's convention: sqlite:///relative/path, sqlite:////absolute/path.
        path_text = unquote(urlsplit(text).path)[1:]
        if not path_text:
            raise UserError(f"the SQLite URL {text!r} names no file (use sqlite:///PATH)")
        return StoreLocation("sqlite", text, path=Path(path_text).expanduser())
    if scheme:
        raise UserError(
            f"unsupported database URL scheme '{scheme}://' "
            "(use sqlite:///PATH, a file path, or postgresql://…)"
        )
    return StoreLocation("sqlite", text, path=Path(text).expanduser())


def _parse_postgres(text: str) -> StoreLocation:
    try:
        params = conninfo_to_dict(text)
    except Exception as error:  # psycopg raises ProgrammingError for malformed URLs
        raise UserError(f"the PostgreSQL URL is malformed: {_first_line(error)}") from None
    host = str(params.get("host") or os.environ.get("PGHOST") or "localhost")
    port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
    user = str(params.get("user") or os.environ.get("PGUSER") or "")
    database = str(params.get("dbname") or os.environ.get("PGDATABASE") or user or "")
    if not all(part.isdigit() for part in port.split(",")):
        raise UserError(f"the PostgreSQL URL's port {port!r} is not a number")
    return StoreLocation("postgresql", text, host=host, port=port, database=database)


def redact_password(url: str) -> str:
    """`url` with the password of a URL or a `password=` conninfo item hidden."""
    redacted = re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", url)
    return re.sub(r"^(\w+://[^:/@?#]*):[^@/?#]*@", r"\1:***@", redacted)


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
