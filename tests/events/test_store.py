from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from boomerang.analytics.engine import connect
from boomerang.analytics.queries import account_activity, event_totals
from boomerang.analytics.source import EventSource
from boomerang.errors import Invalid
from boomerang.events.store import EventStore

TS = pa.timestamp("us", tz="UTC")


def _events(n: int, *, day: int = 1, type_: str = "track", account: str = "acme") -> pa.Table:
    return pa.table(
        {
            "message_id": [f"m-{day}-{i}" for i in range(n)],
            "type": [type_] * n,
            "event": ["Signed In" if i % 2 else "Report Created" for i in range(n)],
            "user_id": [f"u{i % 3}" for i in range(n)],
            "group_id": [account] * n,
            "timestamp": pa.array(
                [datetime(2026, 3, day, 12, i % 60, tzinfo=UTC) for i in range(n)], TS
            ),
            "received_at": pa.array([datetime(2026, 3, day, 13, tzinfo=UTC)] * n, TS),
        }
    )


def test_append_partitions_by_day_and_is_queryable(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    assert store.append(pa.concat_tables([_events(5, day=1), _events(4, day=2)])) == 9
    assert sorted(p.parent.name for p in store.files()) == ["date=2026-03-01", "date=2026-03-02"]
    assert not list(tmp_path.rglob("*.tmp"))
    with EventSource(store).open() as events:
        totals = event_totals(events)
        assert (totals.events, totals.accounts) == (9, 1)
        activity = account_activity(
            events, account_external_id="acme", as_of=datetime(2026, 3, 3, tzinfo=UTC), days=30
        )
    assert (activity.events, activity.active_users, activity.active_days) == (9, 3, 2)
    assert activity.top_events[0] == ("Report Created", 5)


def test_empty_store_answers_queries(tmp_path: Path) -> None:
    with EventSource(EventStore(tmp_path / "none")).open() as events:
        assert event_totals(events).events == 0
        assert (
            account_activity(events, account_external_id="x", as_of=datetime.now(UTC)).events == 0
        )


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        (_events(3, type_="click"), "unknown event type 'click'"),
        (_events(3).drop_columns(["message_id"]), "message_id"),
        (_events(3).set_column(0, "message_id", pa.array(["a", None, "c"])), "message_id"),
        (_events(2).set_column(5, "timestamp", pa.array(["yesterday", "today"])), "timestamp"),
    ],
)
def test_rejected_batches_write_nothing(tmp_path: Path, table: pa.Table, problem: str) -> None:
    store = EventStore(tmp_path)
    with pytest.raises(Invalid, match=problem):
        store.append(table)
    assert store.is_empty() and not list(tmp_path.rglob("*"))


def test_new_connection_sees_appended_events(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    store.append(_events(2))
    with EventSource(store).open() as events:
        assert event_totals(events).events == 2
    store.append(_events(3, day=5))
    with EventSource(store).open() as events:
        assert event_totals(events).events == 5


def _ids(store: EventStore) -> list[str]:
    with connect(store) as con:
        return sorted(r[0] for r in con.execute("SELECT message_id FROM events").fetchall())


def _batch(prefix: str, n: int, day: int) -> pa.Table:
    table = _events(n, day=day)
    ids = pa.array([f"{prefix}-{i}" for i in range(n)])
    return table.set_column(0, "message_id", ids)


def test_compaction_merges_small_files_and_keeps_every_event_once(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    for b in range(10):
        store.append(_batch(f"b{b}", 5, day=1))
    store.append(_batch("other", 3, day=2))
    before = _ids(store)
    assert len(before) == 53 and len(store.live_files()) == 11

    assert store.compact(min_files=8, now=1000.0) == 10
    live = store.live_files()
    assert len(live) == 2 and live[0].name.startswith("compact-")
    assert _ids(store) == before
    # The replaced files stay on disk for readers that listed them, until the grace ends.
    assert len(list(tmp_path.glob("date=2026-03-01/part-*.parquet"))) == 10
    store.compact(min_files=8, now=1000.0 + 3599)
    assert len(list(tmp_path.glob("date=2026-03-01/part-*.parquet"))) == 10
    store.compact(min_files=8, now=1000.0 + 3600)
    assert list(tmp_path.glob("date=2026-03-01/part-*.parquet")) == []
    assert _ids(store) == before

    # New small files next to a compacted one are merged with it later, still exactly once.
    for b in range(8):
        store.append(_batch(f"late{b}", 2, day=1))
    assert store.compact(min_files=8, now=5000.0) == 9
    assert _ids(store) == sorted(before + [f"late{b}-{i}" for b in range(8) for i in range(2)])
    assert len(store.live_files()) == 2


def test_compaction_interrupted_before_its_commit_changes_nothing(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    for b in range(8):
        store.append(_batch(f"b{b}", 3, day=1))
    before = _ids(store)
    # A crash after the merged file was renamed into place but before the manifest named it:
    directory = tmp_path / "date=2026-03-01"
    orphan = directory / "compact-orphan.parquet"
    orphan.write_bytes((directory / store.live_files()[0].name).read_bytes())
    (directory / ".compact-x.parquet.tmp").write_bytes(b"half")
    assert _ids(store) == before  # the orphan is not live
    store.compact(min_files=100, now=1e12)  # cleans up, merges nothing
    assert not orphan.exists() and not (directory / ".compact-x.parquet.tmp").exists()
    assert _ids(store) == before


def test_readers_keep_a_consistent_snapshot_during_compaction(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    for b in range(8):
        store.append(_batch(f"b{b}", 4, day=1))
    snapshot = store.live_files()
    store.compact(min_files=8, now=0.0)
    # A reader that listed the files before the compaction can still read all of them.
    import pyarrow.parquet as pq

    assert sum(pq.read_metadata(p).num_rows for p in snapshot) == 32
    assert sum(pq.read_metadata(p).num_rows for p in store.live_files()) == 32
