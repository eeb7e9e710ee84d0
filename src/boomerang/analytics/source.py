"""Where the analytics layer reads events: the embedded store, or the customer's warehouse.

Every analytic is an Ibis expression over one normalised table, whatever the engine:

========== ============================ ==========================================
column     type                         embedded store
========== ============================ ==========================================
account_id string                       ``group_id``
user_id    string                       ``user_id``
event      string                       ``event``, else the page/screen ``name``,
                                        else the call ``type``
timestamp  timestamp (UTC)              ``timestamp``
properties string (JSON) or null        ``properties``
========== ============================ ==========================================

In warehouse mode (``BOOMERANG_EVENTS_SOURCE``) the table is the customer's own, read in
place through a read-only connection, its columns renamed by ``BOOMERANG_EVENTS_COLUMNS``:
nothing is copied.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from sqlalchemy.engine import make_url

from boomerang.analytics.engine import connect as connect_embedded
from boomerang.analytics.engine import describe as describe_embedded
from boomerang.config import EVENT_FIELDS, Settings, parse_event_columns
from boomerang.errors import BoomerangError
from boomerang.events.store import EventStore

UTC_TIMESTAMP = dt.Timestamp(timezone="UTC")
_REQUIRED = tuple(f for f in EVENT_FIELDS if f != "properties")
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


class EventSourceError(BoomerangError):
    """The configured event source cannot be read; the message says why."""

    status_code = 503


@dataclass(frozen=True)
class Events:
    """The normalised events table of an open source."""

    table: ir.Table
    partitioned: bool = False  # has a ``date`` column that prunes files (embedded store)

    def between(self, start: datetime, end: datetime) -> ir.Table:
        """Events with ``start < timestamp <= end``; only the files of those days are read."""
        t = self.table
        window = t.filter(t.timestamp > start, t.timestamp <= end)
        if self.partitioned:
            window = window.filter(window.date >= start.date(), window.date <= end.date())
        return window


@dataclass(frozen=True)
class EventSource:
    """The embedded store, or a warehouse table given by URL, table name and column mapping."""

    store: EventStore
    url: str | None = None
    table: str = "events"
    columns: Mapping[str, str] = field(default_factory=lambda: parse_event_columns(""))

    @classmethod
    def from_settings(cls, settings: Settings, store: EventStore) -> EventSource:
        return cls(
            store=store,
            url=settings.events_source,
            table=settings.events_table,
            columns=settings.event_columns,
        )

    @property
    def embedded(self) -> bool:
        return self.url is None

    def describe(self) -> str:
        """One line for people: where events are read, password masked."""
        if self.url is None:
            return describe_embedded(self.store)
        renamed = {f: c for f, c in self.columns.items() if f != c}
        mapping = (
            " (" + ", ".join(f"{f} = {c}" for f, c in renamed.items()) + ")" if renamed else ""
        )
        return f"warehouse table {self.table} at {_masked(self.url)}{mapping}"

    @contextmanager
    def open(self) -> Iterator[Events]:
        """The normalised events table; raises :class:`EventSourceError` with the reason."""
        if self.url is None:
            with connect_embedded(self.store) as con:
                backend = ibis.duckdb.from_connection(con)
                yield Events(_normalise_embedded(backend.table("events")), partitioned=True)
            return
        backend = connect_warehouse(self.url)
        try:
            raw = _warehouse_table(backend, self.table, self.url)
            yield Events(_normalise_warehouse(raw, self.columns, self.table))
        finally:
            backend.disconnect()


def _normalise_embedded(raw: ir.Table) -> ir.Table:
    def column(name: str) -> ir.Value:
        # Imported files leave out columns that are empty in every row.
        return raw[name] if name in raw.columns else ibis.null("string")

    return raw.select(
        account_id=column("group_id"),
        user_id=column("user_id"),
        event=ibis.coalesce(column("event"), column("name"), raw.type),
        timestamp=raw.timestamp.cast(UTC_TIMESTAMP),
        properties=column("properties"),
        date=raw.date,
    )


def _normalise_warehouse(raw: ir.Table, columns: Mapping[str, str], table: str) -> ir.Table:
    present = set(raw.columns)
    wanted = [f for f in _REQUIRED if columns[f] not in present]
    if columns["properties"] != "properties" and columns["properties"] not in present:
        wanted.append("properties")  # optional, unless a column was named for it
    missing = [columns[f] if columns[f] == f else f"{columns[f]} (for {f})" for f in wanted]
    if missing:
        raise EventSourceError(
            f"table {table} has no column {', '.join(missing)}; it has "
            f"{', '.join(raw.columns)}. Map fields to columns with BOOMERANG_EVENTS_COLUMNS, "
            "for example account_id=org_id,timestamp=ts"
        )
    ts = raw[columns["timestamp"]]
    if not (ts.type().is_timestamp() or ts.type().is_date() or ts.type().is_string()):
        raise EventSourceError(
            f"column {columns['timestamp']} of table {table} is {ts.type()}, "
            "not a timestamp, date or text"
        )
    properties = (
        raw[columns["properties"]].cast("string")
        if columns["properties"] in present
        else ibis.null("string")
    )
    return raw.select(
        account_id=raw[columns["account_id"]].cast("string"),
        user_id=raw[columns["user_id"]].cast("string"),
        event=raw[columns["event"]].cast("string"),
        timestamp=ts.cast(UTC_TIMESTAMP),
        properties=properties,
    )


def connect_warehouse(url: str) -> Any:
    """A read-only Ibis backend on the warehouse at ``url``, its session in UTC."""
    try:
        if url.startswith("duckdb://"):
            path = Path(url.removeprefix("duckdb://"))
            if not path.exists():
                raise EventSourceError(f"DuckDB file {path} does not exist")
            backend = ibis.duckdb.connect(str(path), read_only=True)
            backend.raw_sql("SET TimeZone = 'UTC'")
            return backend
        parsed = make_url(url)
        if parsed.drivername not in _POSTGRES_SCHEMES:
            return ibis.connect(url)
        extra: dict[str, Any] = {k: v for k, v in parsed.query.items() if isinstance(v, str)}
        # Boomerang only ever reads the customer's warehouse, and reads times in UTC.
        options = f"{extra.pop('options', '')} -c default_transaction_read_only=on -c TimeZone=UTC"
        extra.setdefault("connect_timeout", 10)
        return ibis.postgres.connect(
            host=parsed.host or "localhost",
            port=parsed.port or 5432,
            user=parsed.username,
            password=parsed.password,
            database=parsed.database,
            options=options.strip(),
            **extra,
        )
    except EventSourceError:
        raise
    except ImportError as exc:
        scheme = url.partition("://")[0]
        raise EventSourceError(
            f"no Ibis backend for {scheme}:// is installed ({_first_line(exc)}); "
            f"install it with: pip install 'ibis-framework[{scheme}]'"
        ) from exc
    except Exception as exc:  # every driver raises its own kinds; report them as one
        raise EventSourceError(f"cannot connect to {_masked(url)}: {_first_line(exc)}") from exc


def _warehouse_table(backend: Any, table: str, url: str) -> ir.Table:
    schema, _, name = table.rpartition(".")
    try:
        raw: ir.Table = backend.table(name, database=schema or None)
    except Exception as exc:
        raise EventSourceError(
            f"table {table} cannot be read at {_masked(url)}: {_first_line(exc)}"
        ) from exc
    return raw


def _masked(url: str) -> str:
    if url.startswith("duckdb://"):
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
