"""Event imports: streamed through DuckDB into the event store, all or nothing."""

from __future__ import annotations

import gzip
import json
import os
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from boomerang.analytics.engine import connect
from boomerang.errors import Invalid
from boomerang.events.schema import EVENT_SCHEMA
from boomerang.events.store import EventStore
from boomerang.imports.mapping import Mapping, parse_flags
from boomerang.imports.models import ImportStatus
from boomerang.imports.service import run_import
from tests.factories import add_line, make_account

SPARKIFY = Path(__file__).parents[3] / "shared" / "data" / "sparkify_eventsim_log_2018-11.ndjson"


def _import(session: Session, store: EventStore, path: Path, flags: list[str], **options: object):  # type: ignore[no-untyped-def]
    mapping = options.pop("mapping", None) or parse_flags(flags)
    assert isinstance(mapping, Mapping)
    return run_import(
        session=session,
        store=store,
        kind="events",
        path=path,
        mapping=mapping,
        **options,  # type: ignore[arg-type]
    )


def _rows(store: EventStore, sql: str) -> list[tuple[object, ...]]:
    with connect(store) as con:
        return con.execute(sql).fetchall()


CSV = (
    "id,who,account,what,when,count,beta,note\n"
    "e1,u1,A-1,Report Built,1730000000000,3,true,hello\n"
    "e2,u2,A-1,Report Built,2024-10-27T03:33:20Z,007,false,\n"
    "e3,,A-2,Logged In,2024-10-28,1.5,TRUE,x\n"
)


def test_csv_events_land_with_typed_properties(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(CSV)
    run = _import(
        session,
        event_store,
        path,
        ["message_id=id,user_id=who,group_id=account,event=what,timestamp=when"],
    )
    assert run.status is ImportStatus.succeeded, run.errors
    assert (run.rows_total, run.inserted) == (3, 3)
    rows = _rows(
        event_store,
        "SELECT message_id, type, user_id, group_id, event, timestamp, properties, date "
        "FROM events ORDER BY message_id",
    )
    when = datetime(2024, 10, 27, 3, 33, 20, tzinfo=UTC)
    assert [r[:6] for r in rows] == [
        ("e1", "track", "u1", "A-1", "Report Built", when),
        ("e2", "track", "u2", "A-1", "Report Built", when),
        ("e3", "track", None, "A-2", "Logged In", datetime(2024, 10, 28, tzinfo=UTC)),
    ]
    assert json.loads(str(rows[0][6])) == {"count": 3, "beta": True, "note": "hello"}
    # Leading zeros are not a number: kept as text.
    assert json.loads(str(rows[1][6])) == {"count": "007", "beta": False, "note": None}
    assert json.loads(str(rows[2][6])) == {"count": 1.5, "beta": True, "note": "x"}
    assert str(rows[0][7]) == "2024-10-27"


def test_a_bad_row_rejects_the_file_and_leaves_the_store_as_it_was(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(CSV)
    flags = ["message_id=id,user_id=who,group_id=account,event=what,timestamp=when"]
    assert _import(session, event_store, good, flags).status is ImportStatus.succeeded
    before = sorted(event_store.live_files())
    bad = tmp_path / "bad.csv"
    bad.write_text(
        CSV.replace("e1,", "f1,").replace("e2,", "f2,").replace("e3,", "f3,")
        + "f4,u4,A-1,Report Built,yesterday,1,true,\n"  # line 5
        + "f5,u5,A-1,,2024-10-28,1,true,\n"  # line 6: a track without a name
        + "f6,,,Logged In,2024-10-28,1,true,\n"  # line 7: nobody
    )
    run = _import(session, event_store, bad, flags)
    assert run.status is ImportStatus.rejected
    assert run.errors == [
        {"line": 5, "column": "when", "reason": "timestamp: not a time (ISO 8601 or epoch)"},
        {"line": 6, "column": "what", "reason": "event: a track event needs a name"},
        {"line": 7, "column": "who", "reason": "needs a user_id, an anonymous_id or a group_id"},
    ]
    assert run.error_count == 3
    assert sorted(event_store.live_files()) == before
    assert _rows(event_store, "SELECT count(*) FROM events") == [(3,)]
    assert not list((event_store.root / "_staging").glob("*"))


def test_parquet_events_take_their_account_from_the_subscription(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    account = make_account(session, external_id="A-77", name="Acme")
    add_line(session, account, 1000, date(2024, 1, 1), external_id="S-1")
    path = tmp_path / "usage.parquet"
    pq.write_table(
        pa.table(
            {
                "usage_id": ["U-1", "U-2"],
                "subscription_id": ["S-1", "S-1"],
                "usage_date": pa.array([datetime(2024, 5, 1), datetime(2024, 5, 2)]),
                "feature_name": ["feature_1", "feature_2"],
                "usage_count": [4, 5],
            }
        ),
        path,
    )
    flags = ["message_id=usage_id,subscription=subscription_id,timestamp=usage_date"]
    run = _import(session, event_store, path, [*flags, "event=feature_name"])
    assert run.status is ImportStatus.succeeded, run.errors
    rows = _rows(event_store, "SELECT group_id, event, properties FROM events ORDER BY event")
    assert rows == [
        ("A-77", "feature_1", '{"usage_count":4}'),
        ("A-77", "feature_2", '{"usage_count":5}'),
    ]
    # An unknown subscription is a bad row, with its row number.
    pq.write_table(
        pa.table(
            {
                "usage_id": ["U-3", "U-4"],
                "subscription_id": ["S-1", "S-404"],
                "usage_date": pa.array([datetime(2024, 5, 3)] * 2),
                "feature_name": ["feature_1", "feature_1"],
            }
        ),
        path,
    )
    run = _import(session, event_store, path, [*flags, "event=feature_name"])
    assert run.errors == [
        {"line": 2, "column": "subscription_id", "reason": "subscription: no such subscription"}
    ]


def test_same_file_twice_is_refused_unless_forced_and_dry_run_writes_nothing(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(CSV)
    flags = ["user_id=who,group_id=account,event=what,timestamp=when"]
    run = _import(session, event_store, path, flags, dry_run=True)
    assert run.status is ImportStatus.dry_run and run.inserted == 3
    assert event_store.is_empty()
    _import(session, event_store, path, flags)
    with pytest.raises(Invalid, match="already imported"):
        _import(session, event_store, path, flags)
    # Forced, the file is read again, and each of its events is stored once still.
    run = _import(session, event_store, path, flags, force=True)
    assert (run.status, run.inserted, run.unchanged) == (ImportStatus.succeeded, 0, 3)
    assert _rows(event_store, "SELECT count(*), count(DISTINCT message_id) FROM events") == [(3, 3)]


def test_sparkify_log_gzipped(session: Session, event_store: EventStore, tmp_path: Path) -> None:
    if not SPARKIFY.exists():
        pytest.skip(f"reference data absent: {SPARKIFY}")
    lines = SPARKIFY.read_text().splitlines()
    path = tmp_path / "sparkify.ndjson.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    mapping = Path(__file__).parents[2] / "examples" / "mappings" / "sparkify_events.yaml"
    from boomerang.imports.mapping import load_file

    run = _import(session, event_store, path, [], mapping=load_file(mapping))
    assert run.status is ImportStatus.succeeded, run.errors
    assert run.inserted == len(lines)
    guests = sum(1 for line in lines if json.loads(line)["userId"] in ("", None))
    rows = _rows(
        event_store,
        "SELECT count(*), count(*) FILTER (WHERE user_id IS NULL), "
        "count(*) FILTER (WHERE anonymous_id IS NULL), min(timestamp) FROM events",
    )
    first = min(json.loads(line)["ts"] for line in lines)
    assert rows == [(len(lines), guests, 0, datetime.fromtimestamp(first / 1000, tz=UTC))]


def test_imported_files_compact_and_crash_debris_is_invisible_then_collected(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    for i in range(9):
        path.write_text(f"id,who,what,when\nx{i},u,Opened,2024-10-27T0{i}:00:00Z\n")
        assert (
            _import(
                session, event_store, path, ["message_id=id,user_id=who,event=what,timestamp=when"]
            ).status
            is ImportStatus.succeeded
        )
    day = event_store.root / "date=2024-10-27"
    assert len(list(day.glob("import-*.parquet"))) == 9
    # An import that moved its file but crashed before its commit: not live.
    debris = day / "import-crashed-00000.parquet"
    pq.write_table(pa.table({"message_id": ["zzz"]}), debris)
    assert debris not in event_store.live_files()
    assert event_store.compact(min_files=8, grace_seconds=3600) == 9
    assert debris.exists()  # young: it may be an import committing right now
    assert len(event_store.live_files()) == 1
    table = pq.read_table(event_store.live_files()[0], schema=EVENT_SCHEMA.with_metadata(None))
    assert sorted(table.column("message_id").to_pylist()) == [f"x{i}" for i in range(9)]
    old = time.time() - 7200
    os.utime(debris, (old, old))
    event_store.compact(grace_seconds=3600)
    assert not debris.exists()
