"""DuckDB connections with an ``events`` view over the event store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import duckdb

from boomerang.events.store import EventStore
from boomerang.events.types import EVENT_COLUMNS

_DUCK_TYPES = {"text": "VARCHAR", "time": "TIMESTAMPTZ"}


def _empty_events_sql() -> str:
    columns = ", ".join(
        f"CAST(NULL AS {_DUCK_TYPES[kind]}) AS {name}" for name, kind, _ in EVENT_COLUMNS
    )
    return f"SELECT {columns}, CAST(NULL AS DATE) AS date WHERE false"


@contextmanager
def connect(
    store: EventStore, *, threads: int | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection with a read-only ``events`` view over ``store``.

    The view is defined over the files present when the connection opens; open a new
    connection to see events appended since.
    """
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        # A snapshot of the live files: consistent while a compaction runs (see EventStore).
        files = store.live_files()
        if not files:
            con.execute(f"CREATE VIEW events AS {_empty_events_sql()}")
        else:
            listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            con.execute(
                "CREATE VIEW events AS SELECT * FROM read_parquet("
                f"[{listed}], hive_partitioning = true, union_by_name = true)"
            )
        yield con
    finally:
        con.close()


def describe(store: EventStore) -> str:
    """One line for people: where the embedded store keeps events."""
    return f"embedded Parquet store at {store.root.resolve()}"


def event_span(store: EventStore) -> tuple[int, datetime | None, datetime | None]:
    """How many events the embedded store holds, and the first and last event times (UTC),
    in one DuckDB query: ``boomerang status`` reads it without loading Ibis."""
    with connect(store) as con:
        row = con.execute("SELECT count(*), min(timestamp), max(timestamp) FROM events").fetchone()
    assert row is not None  # an aggregate always answers one row
    count, first, last = row
    return int(count), _utc(first), _utc(last)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
