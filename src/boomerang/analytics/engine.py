"""DuckDB connections with an ``events`` view over the event store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from boomerang.events.store import EVENT_SCHEMA, EventStore

_DUCK_TYPES = {
    "string": "VARCHAR",
    "timestamp[us, tz=UTC]": "TIMESTAMPTZ",
}


def _empty_events_sql() -> str:
    columns = ", ".join(
        f"CAST(NULL AS {_DUCK_TYPES[str(f.type)]}) AS {f.name}" for f in EVENT_SCHEMA
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
