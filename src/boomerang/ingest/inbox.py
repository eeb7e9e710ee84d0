"""The durable inbox: where the tracking API puts an event before it answers 200.

A SQLite file in the data dir (WAL, ``synchronous=FULL``: a committed transaction survives
a crash or a power cut). It holds:

- ``seen``: every messageId accepted in the last ``dedup_hours``, so a retried message is
  absorbed, across restarts;
- ``pending``: accepted events not yet moved to the event store;
- ``flushes``: a journal of moves to the event store, so that a crash in the middle of one
  neither loses nor duplicates events (see :mod:`boomerang.ingest.flush`);
- ``minutes`` and ``rejections``: what the Data sources page shows;
- ``quarantine``: pending rows the mover could not read (:mod:`boomerang.ingest.rows`), set
  aside with the reason so that the rest moves on; :meth:`Inbox.replay_quarantine` puts
  back those that pass the checks again.

One writer thread owns writes from the API (:mod:`boomerang.ingest.writer`), so that many
requests share one commit; other processes (the CLI) may open the same file.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from boomerang.ingest import rows as inbox_rows
from boomerang.ingest.segment import ROW_FIELDS, Rejection, Row

log = logging.getLogger(__name__)

_CHUNK = 500
KEEP_REJECTIONS = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    message_id TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_seen_received_at ON seen (received_at);
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    payload BLOB NOT NULL,  -- the row as one JSON object (ROW_FIELDS as keys)
    write_key_id TEXT
);
CREATE TABLE IF NOT EXISTS flushes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tag TEXT NOT NULL UNIQUE,
    max_seq INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('writing', 'done', 'aborted')),
    started_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE TABLE IF NOT EXISTS minutes (
    minute INTEGER PRIMARY KEY,
    accepted INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rejections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    write_key_id TEXT,
    message_id TEXT,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    seq INTEGER NOT NULL,  -- where it was in pending
    message_id TEXT,
    write_key_id TEXT,
    payload BLOB NOT NULL,  -- the row as it was stored
    reason TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Submission:
    """What one request asks the inbox to keep."""

    rows: Sequence[Row]
    rejections: Sequence[Rejection]
    write_key_id: str | None


@dataclass(frozen=True)
class Outcome:
    accepted: int
    duplicates: int


@dataclass(frozen=True)
class PendingBatch:
    """Events waiting to be moved to the event store, oldest first, up to ``max_seq``."""

    max_seq: int
    table: pa.Table


@dataclass(frozen=True)
class MinuteStats:
    minute: datetime
    accepted: int
    duplicates: int
    rejected: int


@dataclass(frozen=True)
class RejectionRecord:
    at: datetime
    write_key_id: str | None
    message_id: str | None
    reason: str


@dataclass(frozen=True)
class Replay:
    """What :meth:`Inbox.replay_quarantine` did: rows put back in pending, rows kept."""

    moved: int
    kept: int


class Inbox:
    """The inbox file at ``path``; thread-safe (one connection behind a lock)."""

    def __init__(self, path: Path, *, dedup_hours: int = 72) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.dedup_hours = dedup_hours
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=60
        )
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA busy_timeout = 60000")
        with self._lock:
            self._conn.executescript(_SCHEMA)
        # Reads (the move to the event store, statistics) use their own connection: in WAL
        # mode they never wait for, nor hold up, the API's writes.
        self._read_lock = threading.Lock()
        self._reader = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=60
        )
        self._reader.execute("PRAGMA busy_timeout = 60000")
        self._pending = self._count_pending()

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._conn.close()
            self._reader.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- writes from the API -------------------------------------------------------------

    def store(self, submissions: Sequence[Submission]) -> list[Outcome]:
        """Keep every new message of ``submissions`` in one durable transaction.

        A messageId already seen (earlier, or earlier in the same call) is a duplicate and
        is not stored again. Returns one outcome per submission, in order.
        """
        now = _now_micros()
        outcomes: list[Outcome] = []
        with self._transaction() as conn:
            ids = [row[0] for sub in submissions for row in sub.rows]
            known = self._known(conn, ids)
            new_rows: list[tuple[Any, ...]] = []
            rejections: list[tuple[Any, ...]] = []
            for sub in submissions:
                accepted = duplicates = 0
                for row in sub.rows:
                    if row[0] in known:
                        duplicates += 1
                        continue
                    known.add(row[0])
                    payload = orjson.dumps(dict(zip(ROW_FIELDS, row, strict=True)))
                    new_rows.append((row[0], payload, sub.write_key_id))
                    accepted += 1
                outcomes.append(Outcome(accepted, duplicates))
                rejections.extend(
                    (now, sub.write_key_id, r.message_id, r.reason) for r in sub.rejections
                )
            conn.executemany(
                "INSERT INTO seen (message_id, received_at) VALUES (?, ?)",
                [(row[0], now) for row in new_rows],
            )
            conn.executemany(
                "INSERT INTO pending (message_id, payload, write_key_id) VALUES (?, ?, ?)",
                new_rows,
            )
            if rejections:
                conn.executemany(
                    "INSERT INTO rejections (at, write_key_id, message_id, reason) "
                    "VALUES (?, ?, ?, ?)",
                    rejections,
                )
            conn.execute(
                "INSERT INTO minutes (minute, accepted, duplicates, rejected) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (minute) DO UPDATE SET accepted = accepted + excluded.accepted, "
                "duplicates = duplicates + excluded.duplicates, "
                "rejected = rejected + excluded.rejected",
                (
                    now // 60_000_000 * 60,
                    len(new_rows),
                    sum(o.duplicates for o in outcomes),
                    len(rejections),
                ),
            )
        self._pending += len(new_rows)
        return outcomes

    def _known(self, conn: sqlite3.Connection, ids: list[str]) -> set[str]:
        known: set[str] = set()
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            known.update(
                r[0]
                for r in conn.execute(
                    f"SELECT message_id FROM seen WHERE message_id IN ({marks})", chunk
                )
            )
        return known

    # -- the move to the event store -----------------------------------------------------

    @property
    def pending(self) -> int:
        """Accepted events not yet in the event store (as this process last counted)."""
        return self._pending

    def refresh_pending(self) -> int:
        """Recount pending events (another process may have moved some)."""
        self._pending = self._count_pending()
        return self._pending

    def _count_pending(self) -> int:
        with self._read_lock:
            row = self._reader.execute("SELECT count(*) FROM pending").fetchone()
        return int(row[0])

    def read_pending(self, *, limit: int) -> PendingBatch | None:
        """The oldest ``limit`` pending events as an Arrow table in the event store's schema.

        A row that cannot be read is moved to the quarantine (with the reason), never left
        to fail every move: the others are returned.
        """
        while True:
            with self._read_lock:
                fetched = self._reader.execute(
                    "SELECT seq, payload, message_id, write_key_id FROM pending "
                    "ORDER BY seq LIMIT ?",
                    (limit,),
                ).fetchall()
            if not fetched:
                self._pending = 0
                return None
            table, bad = inbox_rows.readable([inbox_rows.PendingRow(*r) for r in fetched])
            if bad:
                self._set_aside(bad)
            if table is not None:
                return PendingBatch(max_seq=int(fetched[-1][0]), table=table)

    def _set_aside(self, bad: Sequence[inbox_rows.Unreadable]) -> None:
        now = _now_micros()
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO quarantine (at, seq, message_id, write_key_id, payload, reason) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (now, u.row.seq, u.row.message_id, u.row.write_key_id, u.row.payload, u.reason)
                    for u in bad
                ],
            )
            conn.executemany("DELETE FROM pending WHERE seq = ?", [(u.row.seq,) for u in bad])
        self._pending = max(0, self._pending - len(bad))
        log.warning("ingest: %d unreadable rows quarantined: %s", len(bad), bad[0].reason)

    def begin_flush(self, batch: PendingBatch) -> str:
        """Journal a move of ``batch`` to the event store; returns the tag its files carry."""
        tag = f"ingest{uuid.uuid4().hex[:16]}"
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO flushes (tag, max_seq, rows, state, started_at) "
                "VALUES (?, ?, ?, 'writing', ?)",
                (tag, batch.max_seq, batch.table.num_rows, _now_micros()),
            )
        return tag

    def finish_flush(self, tag: str, batch: PendingBatch) -> None:
        """The batch's files are in the event store: forget its pending rows, atomically."""
        with self._transaction() as conn:
            cursor = conn.execute("DELETE FROM pending WHERE seq <= ?", (batch.max_seq,))
            conn.execute(
                "UPDATE flushes SET state = 'done', finished_at = ? WHERE tag = ?",
                (_now_micros(), tag),
            )
            deleted = cursor.rowcount
        self._pending = max(0, self._pending - deleted)

    def unfinished_flushes(self) -> list[str]:
        """Tags of moves that a crash interrupted (their files must be removed)."""
        with self._lock:
            return [
                r[0] for r in self._conn.execute("SELECT tag FROM flushes WHERE state = 'writing'")
            ]

    def abort_flush(self, tag: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE flushes SET state = 'aborted', finished_at = ? WHERE tag = ?",
                (_now_micros(), tag),
            )

    # -- housekeeping and reporting ------------------------------------------------------

    def prune(self, *, now: datetime | None = None) -> int:
        """Forget messageIds older than the dedup window and old statistics."""
        now_us = _micros(now) if now else _now_micros()
        horizon = now_us - self.dedup_hours * 3_600_000_000
        week = now_us - 7 * 86_400_000_000
        with self._transaction() as conn:
            forgotten = conn.execute("DELETE FROM seen WHERE received_at < ?", (horizon,)).rowcount
            conn.execute("DELETE FROM minutes WHERE minute < ?", (week // 1_000_000,))
            conn.execute("DELETE FROM flushes WHERE state != 'writing' AND started_at < ?", (week,))
            conn.execute(
                "DELETE FROM rejections WHERE id <= (SELECT max(id) FROM rejections) - ?",
                (KEEP_REJECTIONS,),
            )
        return int(forgotten)

    def minutes(self, *, since: datetime) -> list[MinuteStats]:
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT minute, accepted, duplicates, rejected FROM minutes WHERE minute >= ? "
                "ORDER BY minute",
                (int(since.timestamp()),),
            ).fetchall()
        return [MinuteStats(datetime.fromtimestamp(m, UTC), a, d, r) for m, a, d, r in rows]

    def recent_rejections(self, *, limit: int = 50) -> list[RejectionRecord]:
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT at, write_key_id, message_id, reason FROM rejections "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            RejectionRecord(datetime.fromtimestamp(at / 1_000_000, UTC), key, mid, reason)
            for at, key, mid, reason in rows
        ]

    def quarantined(self) -> int:
        """Rows set aside because the mover could not read them (see :meth:`read_pending`)."""
        with self._read_lock:
            return int(self._reader.execute("SELECT count(*) FROM quarantine").fetchone()[0])

    def recent_quarantine(self, *, limit: int = 10) -> list[RejectionRecord]:
        """The latest quarantined rows: when, whose, which message and why."""
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT at, write_key_id, message_id, reason FROM quarantine "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            RejectionRecord(datetime.fromtimestamp(at / 1_000_000, UTC), key, mid, reason)
            for at, key, mid, reason in rows
        ]

    def replay_quarantine(self) -> Replay:
        """Re-check every quarantined row (:func:`rows.recheck`): those that pass go back to
        pending, to be moved like any other; the others stay, with today's reason."""
        moved = kept = 0
        last = 0
        while True:
            with self._read_lock:
                batch = self._reader.execute(
                    "SELECT id, message_id, write_key_id, payload FROM quarantine "
                    "WHERE id > ? ORDER BY id LIMIT ?",
                    (last, _CHUNK),
                ).fetchall()
            if not batch:
                return Replay(moved, kept)
            last = batch[-1][0]
            verdicts = [(row, inbox_rows.recheck(bytes(row[3]))) for row in batch]
            with self._transaction() as conn:
                for (qid, message_id, key_id, payload), reason in verdicts:
                    if reason is None:
                        conn.execute(
                            "INSERT INTO pending (message_id, payload, write_key_id) "
                            "VALUES (?, ?, ?)",
                            (message_id, payload, key_id),
                        )
                        conn.execute("DELETE FROM quarantine WHERE id = ?", (qid,))
                    else:
                        conn.execute("UPDATE quarantine SET reason = ? WHERE id = ?", (reason, qid))
            passed = sum(reason is None for _, reason in verdicts)
            moved, kept = moved + passed, kept + len(verdicts) - passed
            self._pending += passed

    def seen_count(self) -> int:
        with self._read_lock:
            return int(self._reader.execute("SELECT count(*) FROM seen").fetchone()[0])


def _now_micros() -> int:
    return time.time_ns() // 1000


def _micros(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)
