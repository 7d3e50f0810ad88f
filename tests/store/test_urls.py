"""Choosing and describing the store's database."""

from __future__ import annotations

from pathlib import Path

import pytest

from ds1ray.errors import UserError
from ds1ray.store import database_url, parse_store_url
from ds1ray.store.store import resolve_url


def test_the_embedded_default_is_named_after_the_configured_database():
    url = database_url("dropship_sim", env={})
    assert url == f"sqlite:///{Path('~/.local/share/ds1ray/dropship_sim.sqlite3').expanduser()}"
    assert parse_store_url(url).path == Path("~/.local/share/ds1ray/dropship_sim.sqlite3") \
        .expanduser()
    assert database_url("dropship", env={}).endswith("/dropship.sqlite3")


def test_ds1_database_url_overrides_the_configured_name():
    env = {"DS1_DATABASE_URL": "postgresql://ds1@db.internal:5433/dropship"}
    assert database_url("dropship_sim", env=env) == env["DS1_DATABASE_URL"]


def test_an_explicit_url_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DS1_DATABASE_URL", "postgresql://env/db")
    assert resolve_url("sqlite:///x.db") == "sqlite:///x.db"
    assert resolve_url(None) == "postgresql://env/db"


def test_a_database_name_with_a_path_in_it_is_refused():
    with pytest.raises(UserError, match="not a plain name"):
        database_url("../etc/passwd", env={})


@pytest.mark.parametrize(("url", "backend", "where"), [
    ("sqlite:////var/lib/ds1/sim.sqlite3", "sqlite", "SQLite database /var/lib/ds1/sim.sqlite3"),
    ("sqlite:///rel/sim.sqlite3", "sqlite", "SQLite database rel/sim.sqlite3"),
    ("/tmp/sim.sqlite3", "sqlite", "SQLite database /tmp/sim.sqlite3"),
    ("postgresql://ds1:s3cret@db.internal:6543/dropship", "postgresql",
     "PostgreSQL database 'dropship' at db.internal:6543"),
    ("postgres://db.internal/dropship_sim", "postgresql",
     "PostgreSQL database 'dropship_sim' at db.internal:5432"),
    ("host=10.0.0.5 port=5544 dbname=dropship password=s3cret", "postgresql",
     "PostgreSQL database 'dropship' at 10.0.0.5:5544"),
])
def test_urls_pick_the_backend_and_describe_it_without_the_password(
    url: str, backend: str, where: str
):
    location = parse_store_url(url)
    assert location.backend == backend
    assert location.describe() == where
    assert "s3cret" not in location.safe_url()


@pytest.mark.parametrize(("url", "message"), [
    ("", "empty"),
    ("mysql://db/x", "unsupported database URL scheme 'mysql://'"),
    ("sqlite:///", "names no file"),
    ("postgresql://db:notaport/x", "port 'notaport' is not a number"),
    ("postgresql://db/x?bogus=1", "malformed"),
])
def test_bad_urls_get_one_clear_error(url: str, message: str):
    with pytest.raises(UserError, match=message):
        parse_store_url(url)
