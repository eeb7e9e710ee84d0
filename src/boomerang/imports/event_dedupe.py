"""Each event stored once, by ``message_id``: an import skips the events the store holds
already and the repeats inside its own file, so importing a file again (``--force``, or an
export that grew by a few rows) stores only what is new.

A row without a message id gets one from its content (:func:`generated_id`): the same row
imported twice has the same id; a row with one changed byte is another event.

After the file is staged (see :mod:`.events`), set-based DuckDB queries compare the staged
ids with each other and with the ids of every live file of the store (a join on the id
column alone). A new file, the common case, is adopted as staged; otherwise its rows are
copied once more without the repeats. Rows that share a message id but differ are refused,
naming both lines: which one is right is the file's author's to say.

Imports hold a lock of their own from this check until their commit, so two imports of
the same file at once cannot both store it. Imports write only to the embedded store, so
that is where the ids are checked (a warehouse, when events are read from one, is the
customer's table, read-only and without message ids).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from boomerang.events.store import EventStore
from boomerang.imports.event_rows import lit, q
from boomerang.imports.records.rows import MAX_REPORTED

IMPORT_LOCK = ".imports.lock"
CONTENT = ("type", "event", "name", "user_id", "anonymous_id", "group_id")


def generated_id(message_id: str) -> str:
    """SQL for the message id of a row: its own (``message_id``, NULL when the file has
    none), else ``imp-`` and the MD5 of the row's fields as a JSON array (unambiguous:
    NULL is not ``""``; MD5 as a fingerprint, not a defence: it costs half of SHA-256)."""
    fields = ", ".join(
        [
            *CONTENT,
            "strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%fZ')",
            "CAST(properties AS VARCHAR)",
            "CAST(context AS VARCHAR)",
        ]
    )
    return f"coalesce({message_id}, 'imp-' || md5(CAST(to_json([{fields}]) AS VARCHAR)))"


@contextlib.contextmanager
def import_lock(store: EventStore) -> Iterator[None]:
    """One import at a time between its check of the stored ids and its commit."""
    store.root.mkdir(parents=True, exist_ok=True)
    with (store.root / IMPORT_LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Repeats:
    """What the staged rows repeat: ``unique`` message ids among ``total`` rows, ``stored``
    of those ids already in the store, and the ids whose rows differ (``conflicts``)."""

    total: int = 0
    unique: int = 0
    stored: int = 0
    conflicts: list[str] = field(default_factory=list)

    @property
    def new(self) -> int:
        """Events to store."""
        return self.unique - self.stored


def _staged(staging: Path) -> str | None:
    if not any(staging.glob("date=*/*.parquet")):
        return None
    pattern = lit(str(staging / "date=*" / "*.parquet"))
    return f"read_parquet({pattern}, hive_partitioning = true, union_by_name = true)"


def _stored(store: EventStore) -> str | None:
    files = store.live_files()
    if not files:
        return None
    listed = ", ".join(lit(str(f)) for f in files)
    return f"(SELECT message_id FROM read_parquet([{listed}], union_by_name = true))"


def find(con: duckdb.DuckDBPyConnection, staging: Path, store: EventStore) -> Repeats:
    """Count the staged rows' repeats (call under :func:`import_lock` to act on them)."""
    staged = _staged(staging)
    if staged is None:
        return Repeats()
    stored = _stored(store)
    # The store's ids probe a table of the file's (not the other way: the store is larger).
    in_store = (
        f"(SELECT count(DISTINCT message_id) FROM {stored} AS s SEMI JOIN ids USING (message_id))"
        if stored
        else "0"
    )
    row = con.execute(
        f"WITH ids AS (SELECT message_id, count(*) AS n FROM {staged} GROUP BY message_id) "
        f"SELECT sum(n), count(*), {in_store}, count(*) FILTER (WHERE n > 1) FROM ids"
    ).fetchone()
    assert row is not None  # an aggregate always answers one row
    total, unique, in_stored, repeated = (int(x or 0) for x in row)
    conflicts = _conflicts(con, staged) if repeated else []
    return Repeats(total=total, unique=unique, stored=in_stored, conflicts=conflicts)


def _conflicts(con: duckdb.DuckDBPyConnection, staged: str) -> list[str]:
    """Message ids given to rows that differ (the first MAX_REPORTED)."""
    columns = [str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {staged}").fetchall()]
    content = ", ".join(q(c) for c in columns if c not in ("message_id", "received_at"))
    rows = con.execute(
        f"SELECT message_id FROM {staged} WHERE message_id IN "
        f"(SELECT message_id FROM {staged} GROUP BY message_id HAVING count(*) > 1) "
        f"GROUP BY message_id HAVING count(DISTINCT row({content})) > 1 "
        f"ORDER BY message_id LIMIT {MAX_REPORTED}"
    ).fetchall()
    return [str(r[0]) for r in rows]


def keep_new(con: duckdb.DuckDBPyConnection, staging: Path, target: Path, store: EventStore) -> int:
    """Copy the staged rows to ``target`` once each, without those the store holds;
    returns how many. The rows of one message id are equal (conflicts are refused first),
    so DISTINCT keeps one of each."""
    staged = _staged(staging)
    if staged is None:
        return 0
    stored = _stored(store)
    # The ids of the file that the store holds (a short list), then the rows without them.
    known = (
        f"WITH ids AS (SELECT DISTINCT message_id FROM {staged}), known AS "
        f"(SELECT DISTINCT message_id FROM {stored} AS s SEMI JOIN ids USING (message_id)) "
        if stored
        else "WITH known AS (SELECT CAST(NULL AS VARCHAR) AS message_id WHERE false) "
    )
    row = con.execute(
        f"COPY ({known}SELECT DISTINCT * FROM {staged} ANTI JOIN known USING (message_id)) "
        f"TO {lit(str(target))} "
        "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (date), OVERWRITE_OR_IGNORE true, "
        "ROW_GROUP_SIZE 256000)"
    ).fetchone()
    return int(row[0]) if row else 0
