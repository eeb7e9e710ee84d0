"""What ``boomerang status`` reads from a SQLite operational store, with the standard library.

``status`` is what people, cron lines and monitoring run to see that the stores are there: it
should answer at once. SQLAlchemy's import costs more than the rest of the command, so on the
embedded store (a ``sqlite:///`` file) the counts and the schema revision are read with
:mod:`sqlite3` in one read-only transaction; any other store goes through SQLAlchemy
(:func:`boomerang.db.count_rows`). Both read the same tables and give the same numbers
(``tests/cli/test_commands.py`` compares them).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from boomerang.errors import BoomerangError, Busy

_SQLITE_FILE = re.compile(r"^sqlite(?:\+pysqlite)?:///(?P<path>[^?]+)$")
_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class StoreCounts:
    revision: str | None
    """Alembic's revision, None when ``init`` never ran."""
    rows: dict[str, int]
    """Rows per table (empty unless ``revision`` is the head asked for)."""


def sqlite_file(url: str) -> Path | None:
    """The database file a plain ``sqlite:///PATH`` URL names (SQLAlchemy's reading: an
    absolute path after four slashes, else relative to the working directory), or None for
    any other URL (another database, an in-memory one, or query options)."""
    match = _SQLITE_FILE.match(url)
    if match is None or match["path"] == ":memory:":
        return None
    return Path(match["path"])


def read_sqlite(path: Path, tables: Sequence[str], head: str) -> StoreCounts:
    """The revision of the SQLite file at ``path`` and, when it is ``head``, the row counts of
    ``tables``, in one deferred read transaction (under WAL it never waits for a writer, and it
    never writes: ``query_only``). A file that does not exist is reported as not initialised,
    and not created."""
    for table in tables:
        if not _TABLE_NAME.match(table):
            raise ValueError(f"not a table name: {table!r}")
    if not path.is_file():
        return StoreCounts(revision=None, rows={})
    try:
        connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    except sqlite3.Error as exc:
        raise BoomerangError(f"cannot use the database: {exc}") from None
    try:
        connection.execute("PRAGMA query_only = ON")
        connection.execute("BEGIN")
        has_versions = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        if has_versions is None:
            return StoreCounts(revision=None, rows={})
        versions = [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]
        if len(versions) > 1:
            raise BoomerangError(f"the database has several migration heads: {', '.join(versions)}")
        revision = versions[0] if versions else None
        if revision != head:
            return StoreCounts(revision=revision, rows={})
        rows = {
            table: int(connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
            for table in tables
        }
        return StoreCounts(revision=revision, rows=rows)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise Busy("the database is busy with other work: run the command again") from None
        raise BoomerangError(f"cannot use the database: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise BoomerangError(f"cannot use the database: {exc}") from None
    finally:
        connection.close()
