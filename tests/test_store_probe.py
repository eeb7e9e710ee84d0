"""``boomerang status`` on SQLite reads with :mod:`sqlite3`: the same numbers as SQLAlchemy."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

import boomerang.models  # noqa: F401
from boomerang.db import count_rows, current_revision, make_engine, session_factory
from boomerang.errors import BoomerangError
from boomerang.schema import migrate
from boomerang.schema_head import SCHEMA_HEAD
from boomerang.store_probe import read_sqlite, sqlite_file
from tests.factories import add_line, make_account

TABLES = ["accounts", "subscriptions", "contacts", "timeline_entries"]


def test_sqlite_file_names_only_plain_file_urls() -> None:
    assert sqlite_file("sqlite:////var/lib/b.sqlite3") == Path("/var/lib/b.sqlite3")
    assert sqlite_file("sqlite:///var/b.sqlite3") == Path("var/b.sqlite3")
    assert sqlite_file("sqlite+pysqlite:////x.db") == Path("/x.db")
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("sqlite:////x.db?timeout=3") is None
    assert sqlite_file("postgresql+psycopg://u@h/db") is None


def test_counts_and_revision_equal_sqlalchemys(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with session_factory(engine)() as session, session.begin():
        for n in range(3):
            account = make_account(session)
            add_line(session, account, arr=1000 * (n + 1), start=date(2026, 1, 1))
    with engine.connect() as connection:
        expected = count_rows(connection, TABLES)
    revision = current_revision(engine)
    engine.dispose()

    found = read_sqlite(path, TABLES, SCHEMA_HEAD)
    assert found.revision == revision == SCHEMA_HEAD
    assert found.rows == expected
    assert found.rows["accounts"] == 3


def test_a_missing_or_uninitialised_file_is_not_created_or_counted(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite3"
    assert read_sqlite(missing, TABLES, SCHEMA_HEAD).revision is None
    assert not missing.exists()
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    assert read_sqlite(empty, TABLES, SCHEMA_HEAD).rows == {}


def test_an_older_revision_is_reported_without_counting(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
        connection.execute("INSERT INTO alembic_version VALUES ('0001')")
    found = read_sqlite(path, TABLES, SCHEMA_HEAD)
    assert found.revision == "0001" and found.rows == {}


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not a database file at all" * 100)
    with pytest.raises(BoomerangError, match="cannot use the database"):
        read_sqlite(path, TABLES, SCHEMA_HEAD)
