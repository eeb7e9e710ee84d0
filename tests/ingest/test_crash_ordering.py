"""Crash ordering of the move to the event store and of compaction (issue 23).

A forked child runs what the mover does (a compaction, a move, a compaction) and dies, by
``os._exit(137)``, at one named crash point; some scenarios kill a second child as well.
Then the next mover cycle runs here (a compaction first, as a mover between two moves would,
then a move and a compaction) and the event store must hold every acknowledged messageId
exactly once. The moves' identity step uses the operational store, SQLite and PostgreSQL;
the journal is in the inbox (SQLite).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine

from boomerang.crashpoints import ENV, KILLED
from boomerang.db import make_engine, session_factory
from boomerang.events.store import EventStore
from boomerang.ingest.flush import compact, flush_all, flush_once
from boomerang.ingest.inbox import Inbox, Submission
from boomerang.ingest.segment import normalise

MESSAGES = 120
DAYS = (datetime(2026, 11, 10, 9, tzinfo=UTC), datetime(2026, 11, 11, 9, tzinfo=UTC))

# Every crash point of a move and of a compaction, in the order the child reaches them.
POINTS = (
    "move.recovered",
    "move.read",
    "move.identities",
    "move.journalled",
    "append.tmp",
    "append.file",
    "move.written",
    "move.done",
    "compact.removed",
    "compact.merged",
    "compact.swapped",
)
# A second crash before anyone recovered from the first: in the recovery itself, in the
# compaction that finds the interrupted move, in the next move.
SCENARIOS = [
    *((point,) for point in POINTS),
    ("move.written", "recover.removed"),
    ("append.file", "compact.merged"),
    ("move.written", "compact.swapped"),
    ("move.journalled", "move.written"),
]


def _open(data: Path) -> tuple[Inbox, EventStore]:
    return Inbox(data / "inbox.sqlite3"), EventStore(data / "events")


def _compact(inbox: Inbox, store: EventStore) -> int:
    return compact(inbox=inbox, store=store, min_files=2, grace_seconds=0)


def _acknowledge(data: Path, engine: Engine) -> set[str]:
    """Accept MESSAGES track calls over two days and move half of them in three moves
    (three small files a day, for compaction to merge); returns the acknowledged ids."""
    inbox, store = _open(data)
    received = datetime.now(UTC)
    rows = [
        normalise(
            {
                "anonymousId": f"anon-{i % 7}",
                "event": "Report Filed",
                "messageId": f"m-{i}",
                "timestamp": (DAYS[i % 2] + timedelta(seconds=i)).isoformat(),
            },
            call="track",
            received_at=received,
        )
        for i in range(MESSAGES)
    ]
    outcomes = inbox.store([Submission(rows[:60], [], None), Submission(rows[60:], [], None)])
    assert sum(o.accepted for o in outcomes) == MESSAGES
    for _ in range(3):
        flush_once(inbox=inbox, store=store, transaction=session_factory(engine).begin, limit=20)
    inbox.close()
    return {row[0] for row in rows}


def _mover_cycle(data: Path, database_url: str) -> None:
    """In a child: a compaction, a move, a compaction (whose start deletes the files the
    first one replaced: their grace period is 0)."""
    engine = make_engine(database_url)
    inbox, store = _open(data)
    _compact(inbox, store)
    flush_once(inbox=inbox, store=store, transaction=session_factory(engine).begin, limit=30)
    _compact(inbox, store)


def _killed_at(point: str, data: Path, database_url: str) -> None:
    os.environ[ENV] = point
    _mover_cycle(data, database_url)


def _stored_ids(store: EventStore) -> Counter[str]:
    tables = [pq.read_table(path, columns=["message_id"]) for path in store.live_files()]
    return Counter(pa.concat_tables(tables).column("message_id").to_pylist())


@pytest.mark.parametrize("points", SCENARIOS, ids=["+".join(s) for s in SCENARIOS])
def test_a_crash_at_any_step_stores_each_acknowledged_message_once(
    tmp_path: Path, database_url: str, engine: Engine, points: tuple[str, ...]
) -> None:
    acknowledged = _acknowledge(tmp_path, engine)
    fork = multiprocessing.get_context("fork")
    for point in points:
        child = fork.Process(target=_killed_at, args=(point, tmp_path, database_url))
        child.start()
        child.join(timeout=60)
        assert child.exitcode == KILLED, f"the child did not die at {point}: {child.exitcode}"

    inbox, store = _open(tmp_path)
    try:
        _compact(inbox, store)  # the mover's compaction may come first
        flush_all(inbox=inbox, store=store, transaction=session_factory(engine).begin)
        _compact(inbox, store)
        stored = _stored_ids(store)
        assert sorted(stored) == sorted(acknowledged)  # nothing lost, nothing invented
        assert {m: n for m, n in stored.items() if n != 1} == {}  # none twice
        assert sum(stored.values()) == MESSAGES
        assert inbox.refresh_pending() == 0 and inbox.unfinished_flushes() == []
        # The last compaction merged each day's files: one live file a day.
        assert [p.name.split("-")[0] for p in store.live_files()] == ["compact", "compact"]
    finally:
        inbox.close()


def test_compaction_skips_the_files_of_unfinished_moves(tmp_path: Path) -> None:
    """What the store guarantees on its own: files of the tags it is told are unfinished
    stay regular files, so removing them later removes their events entirely."""
    store = EventStore(tmp_path / "events")
    day = DAYS[0]

    def events(prefix: str, n: int) -> pa.Table:
        ts = pa.array([day + timedelta(seconds=i) for i in range(n)], pa.timestamp("us", "UTC"))
        return pa.table(
            {
                "message_id": [f"{prefix}-{i}" for i in range(n)],
                "type": ["track"] * n,
                "timestamp": ts,
                "received_at": ts,
            }
        )

    for move in range(3):
        store.append(events(f"done{move}", 4), tag=f"ingestdone{move}")
    store.append(events("unfinished", 4), tag="ingestunfinished")
    assert store.compact(min_files=2, skip_tags=["ingestunfinished"]) == 3
    assert store.remove_tagged("ingestunfinished") == 1
    assert sorted(_stored_ids(store)) == sorted(f"done{m}-{i}" for m in range(3) for i in range(4))
