"""The analytics layer gives the same answers on every event source: the embedded store,
a DuckDB file and a real PostgreSQL table.

(Ibis's SQLite backend was tried and fails here: in Ibis 12 it compares timestamps as text
with and without fractional seconds, so window bounds come out wrong. Any engine reached
through plain ``ibis.connect`` should be added to ``ENGINES`` before it is trusted.)

The expected figures below were worked out by hand from ``ROWS``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import ibis
import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from boomerang.analytics import queries
from boomerang.analytics.source import (
    Events,
    EventSource,
    EventSourceError,
    _normalise_warehouse,
    connect_warehouse,
)
from boomerang.config import parse_event_columns
from boomerang.events.store import EventStore
from boomerang.health import measures
from boomerang.health.scorecard import Measure

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def _t(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=UTC)


# (account, user, call type, event or page name, timestamp)
ROWS: list[tuple[str | None, str | None, str, str, datetime]] = [
    ("acme", "u1", "track", "Login", _t("2026-06-30 12:00:00")),  # at as_of: in
    # The same UTC day, but not in Los Angeles: days are counted in UTC on every engine.
    ("acme", "u1", "track", "Login", _t("2026-06-29 03:00:00")),
    ("acme", "u2", "track", "Export", _t("2026-06-29 23:59:59")),
    ("acme", "u2", "track", "Login", _t("2026-06-15 00:00:00")),
    ("acme", None, "page", "Pricing", _t("2026-06-10 10:00:00")),  # no user: an event, no user
    ("acme", "u3", "track", "Login", _t("2026-05-31 12:00:00")),  # window start: out
    ("acme", "u3", "track", "Export", _t("2026-06-30 12:00:01")),  # after as_of: out
    ("acme", "u1", "track", "Export", _t("2026-05-01 09:00:00")),  # long ago: out
    ("globex", "u9", "track", "Login", _t("2026-06-20 10:00:00")),
    ("globex", "u9", "track", "Login", _t("2026-06-21 10:00:00")),
    (None, "u7", "track", "Signed Up", _t("2026-06-01 10:00:00")),  # no account
]

EXPECTED_TOTALS = queries.EventTotals(
    events=11, accounts=2, first=_t("2026-05-01 09:00:00"), last=_t("2026-06-30 12:00:01")
)
EXPECTED_ACME = queries.AccountActivity(
    events=5,
    active_users=2,
    active_days=4,
    last_seen=_t("2026-06-30 12:00:00"),
    top_events=[("Login", 3), ("Export", 1), ("Pricing", 1)],
)
# The warehouse tables call their columns differently, as real ones do.
MAPPING = "account_id=org_id,user_id=uid,event=event_name,timestamp=ts,properties=props"


def _embedded(tmp_path: Path) -> EventSource:
    store = EventStore(tmp_path / "events")
    store.append(
        pa.table(
            {
                "message_id": [f"m{i}" for i in range(len(ROWS))],
                "type": [r[2] for r in ROWS],
                "event": [r[3] if r[2] == "track" else None for r in ROWS],
                "name": [r[3] if r[2] == "page" else None for r in ROWS],
                "user_id": [r[1] for r in ROWS],
                "group_id": [r[0] for r in ROWS],
                "timestamp": [r[4] for r in ROWS],
                "received_at": [r[4] for r in ROWS],
                "properties": ['{"n": 1}' for _ in ROWS],
            }
        )
    )
    return EventSource(store)


def _duckdb_file(tmp_path: Path) -> EventSource:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA product")
    # Naive timestamps, as many pipelines write them: read as UTC.
    con.execute(
        "CREATE TABLE product.tracks (org_id VARCHAR, uid VARCHAR, event_name VARCHAR, "
        "ts TIMESTAMP, props JSON, extra INTEGER)"
    )
    con.executemany(
        "INSERT INTO product.tracks VALUES (?, ?, ?, ?, ?, 1)",
        [(a, u, e, ts.replace(tzinfo=None), '{"n": 1}') for a, u, _, e, ts in ROWS],
    )
    con.close()
    return EventSource(
        EventStore(tmp_path / "unused"),
        url=f"duckdb://{path}",
        table="product.tracks",
        columns=parse_event_columns(MAPPING),
    )


@pytest.fixture
def postgres_table(postgres_base_url: str) -> Iterator[str]:
    """A real table in a schema of its own, dropped afterwards; yields ``schema.table``."""
    schema = f"warehouse_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(
            text(
                f'CREATE TABLE "{schema}".tracks (org_id text, uid text, event_name text, '
                "ts timestamptz, props jsonb, extra int)"
            )
        )
        conn.execute(
            text(f'INSERT INTO "{schema}".tracks VALUES (:a, :u, :e, :ts, CAST(:p AS jsonb), 1)'),
            [{"a": a, "u": u, "e": e, "ts": ts, "p": '{"n": 1}'} for a, u, _, e, ts in ROWS],
        )
    try:
        yield f"{schema}.tracks"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


class _SparkSource:
    """The warehouse path on Spark in local mode: the same normalisation and queries over
    a Spark table (``make conformance-spark``; needs Java and the ``spark`` extra)."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    @contextmanager
    def open(self) -> Iterator[Events]:
        rows = [(a, u, e, ts.replace(tzinfo=None), '{"n": 1}') for a, u, _, e, ts in ROWS]
        schema = "org_id string, uid string, event_name string, ts timestamp_ntz, props string"
        self.spark.createDataFrame(rows, schema).createOrReplaceTempView("tracks")
        backend = ibis.pyspark.connect(self.spark)
        raw = backend.table("tracks")
        yield Events(_normalise_warehouse(raw, parse_event_columns(MAPPING), "tracks"))


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    spark = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .config("spark.sql.session.timeZone", "America/Los_Angeles")  # UTC must still win
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield spark
    spark.stop()


SPARK = os.environ.get("BOOMERANG_TEST_SPARK") == "1"
ENGINES = ["embedded", "duckdb-file", "postgresql", *(["spark"] if SPARK else [])]


@pytest.fixture(params=ENGINES)
def source(request: pytest.FixtureRequest, tmp_path: Path) -> EventSource:
    if request.param == "embedded":
        return _embedded(tmp_path)
    if request.param == "duckdb-file":
        return _duckdb_file(tmp_path)
    if request.param == "spark":
        return _SparkSource(request.getfixturevalue("spark_session"))  # type: ignore[return-value]
    table = request.getfixturevalue("postgres_table")
    base = make_url(request.getfixturevalue("postgres_base_url"))
    # A session time zone far from UTC in the URL: Boomerang must still count UTC days.
    url = base.update_query_dict({"options": "-c TimeZone=America/Los_Angeles"})
    return EventSource(
        EventStore(tmp_path / "unused"),
        url=url.render_as_string(hide_password=False),
        table=table,
        columns=parse_event_columns(MAPPING),
    )


def test_every_engine_gives_the_same_totals(source: EventSource) -> None:
    with source.open() as events:
        assert queries.event_totals(events) == EXPECTED_TOTALS


def test_every_engine_gives_the_same_account_activity(source: EventSource) -> None:
    with source.open() as events:
        acme = queries.account_activity(events, account_external_id="acme", as_of=AS_OF)
        nobody = queries.account_activity(events, account_external_id="nobody", as_of=AS_OF)
        week = queries.account_activity(events, account_external_id="acme", as_of=AS_OF, days=7)
    assert acme == EXPECTED_ACME
    assert nobody == queries.AccountActivity(0, 0, 0, None, [])
    # 2026-06-23 12:00 < t <= 2026-06-30 12:00: the two Logins of u1 and u2's Export.
    assert (week.events, week.active_users, week.active_days) == (3, 2, 2)


def test_an_empty_embedded_store_reads_as_no_events(tmp_path: Path) -> None:
    with EventSource(EventStore(tmp_path / "events")).open() as events:
        assert queries.event_totals(events) == queries.EventTotals(0, 0, None, None)


def test_the_embedded_store_reads_only_the_days_of_the_window(tmp_path: Path) -> None:
    source = _embedded(tmp_path)
    with source.open() as events:
        window = events.between(AS_OF - timedelta(days=7), AS_OF)
        sql = str(window.compile())
    assert '"date" >=' in sql or "date >=" in sql


def test_duckdb_warehouse_is_opened_read_only(tmp_path: Path) -> None:
    source = _duckdb_file(tmp_path)
    assert source.url is not None
    backend = connect_warehouse(source.url)
    try:
        with pytest.raises(Exception, match="read-only"):
            backend.raw_sql("CREATE TABLE product.scribble (x INTEGER)")
    finally:
        backend.disconnect()


def test_postgres_warehouse_is_opened_read_only(
    postgres_base_url: str, postgres_table: str
) -> None:
    backend = connect_warehouse(postgres_base_url)
    try:
        with pytest.raises(Exception, match="read-only transaction"):
            backend.raw_sql(f"DELETE FROM {postgres_table}")
    finally:
        backend.disconnect()
    admin = create_engine(postgres_base_url)
    with admin.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {postgres_table}")).scalar() == len(ROWS)
    admin.dispose()


def _problem(source: EventSource) -> str:
    with pytest.raises(EventSourceError) as caught, source.open() as events:
        queries.event_totals(events)
    return caught.value.message


def test_problems_with_the_warehouse_are_named(tmp_path: Path) -> None:
    good = _duckdb_file(tmp_path)
    store = good.store
    missing_file = EventSource(store, url=f"duckdb://{tmp_path}/nope.duckdb")
    assert _problem(missing_file) == f"DuckDB file {tmp_path}/nope.duckdb does not exist"

    no_table = EventSource(store, url=good.url, table="product.nope", columns=good.columns)
    assert _problem(no_table).startswith("table product.nope cannot be read at duckdb://")

    unmapped = EventSource(store, url=good.url, table="product.tracks")
    assert _problem(unmapped) == (
        "table product.tracks has no column account_id, user_id, event, timestamp; it has "
        "org_id, uid, event_name, ts, props, extra. Map fields to columns with "
        "BOOMERANG_EVENTS_COLUMNS, for example account_id=org_id,timestamp=ts"
    )
    wrong_props = EventSource(
        store,
        url=good.url,
        table="product.tracks",
        columns=parse_event_columns(MAPPING.replace("props", "payload")),
    )
    assert "has no column payload (for properties)" in _problem(wrong_props)

    int_time = EventSource(
        store,
        url=good.url,
        table="product.tracks",
        columns=parse_event_columns(MAPPING.replace("timestamp=ts", "timestamp=extra")),
    )
    assert _problem(int_time) == (
        "column extra of table product.tracks is int32, not a timestamp, date or text"
    )

    no_backend = EventSource(store, url="snowflake://user:pw@account/db/schema")
    assert _problem(no_backend).startswith("no Ibis backend for snowflake:// is installed")


def test_unreachable_postgres_is_named_with_the_password_masked(tmp_path: Path) -> None:
    source = EventSource(
        EventStore(tmp_path / "unused"), url="postgresql://ana:s3cret@127.0.0.1:1/warehouse"
    )
    message = _problem(source)
    assert message.startswith("cannot connect to postgresql://ana:***@127.0.0.1:1/warehouse: ")
    assert "s3cret" not in message
    assert "s3cret" not in source.describe()
    assert (
        source.describe() == "warehouse table events at postgresql://ana:***@127.0.0.1:1/warehouse"
    )


def test_wrong_postgres_table_is_named(postgres_base_url: str, tmp_path: Path) -> None:
    source = EventSource(EventStore(tmp_path / "x"), url=postgres_base_url, table="nope.events")
    assert _problem(source).startswith("table nope.events cannot be read at postgresql")


def test_health_usage_measures_agree_on_every_engine(source: EventSource, session: Session) -> None:
    """The event measures of health scores, on the same rows, by hand (see ROWS)."""
    accounts = measures.Population(
        as_of=AS_OF.date(), ids=["id-acme", "id-globex"], external_ids=["acme", "globex"]
    )
    wanted = [
        Measure.model_validate(
            {
                "key": kind,
                "kind": kind,
                "weight": 1,
                "features": ["Export", "Login", "Nope"],
                "scoring": {"type": "linear", "worst": 0, "best": 1},
            }
        )
        for kind in ("active_days", "active_users", "feature_depth", "usage_trend", "recency")
    ]
    with source.open() as events:
        raw = measures.compute(session=session, measures=wanted, events=events, accounts=accounts)
    got = {k: [None if np.isnan(v) else round(float(v), 6) for v in raw[k]] for k in raw}
    # The window is the whole as-of day: (2026-06-01 00:00, 2026-07-01 00:00].
    assert got == {
        "active_days": [4, 2],
        "active_users": [3, 1],
        "feature_depth": [round(2 / 3, 6), round(1 / 3, 6)],
        "usage_trend": [6.0, None],  # acme: 6 events against 1 (2026-05-31); globex: none before
        "recency": [0, 9],
    }
