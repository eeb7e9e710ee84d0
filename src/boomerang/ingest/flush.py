"""Moving accepted events from the inbox to the event store, exactly once.

One move (:func:`flush_once`):

1. a move that a crash interrupted is undone: the files carrying its tag are deleted (its
   events are still pending, so nothing is lost);
2. the oldest pending events are read;
3. their identify / group / alias calls are applied to contacts and accounts and missing
   ``group_id``s resolved, in one transaction of the operational store (upserts: replaying
   them after a crash changes nothing);
4. the move is journalled, the events written to the event store under the move's tag, and
   the pending rows deleted together with marking the move done (one inbox transaction).

A crash before 4 completes leaves the events pending and the tagged files, if any, are
removed by step 1 of the next move: no event is lost, none is stored twice.

Compaction (:func:`compact`) merges the event store's small files under the same lock, held
from a recovery like step 1 to the end of the merge, so it never merges the files of a move
that has not committed: merged, they would survive their removal and the events, still
pending, would be stored a second time.

The crash points (:mod:`boomerang.crashpoints`), in order: a move passes ``move.recovered``
(after step 1; recovery itself passes ``recover.removed`` between deleting a move's files and
marking it aborted), ``move.read``, ``move.identities``, ``move.journalled``, then for each
day's file ``append.tmp`` (written, not yet renamed) and ``append.file``, then
``move.written`` and ``move.done``; a compaction passes ``compact.removed`` (replaced files
past their grace period deleted, the manifest not yet saved), then for each merged day
``compact.merged`` (the merged file written) and ``compact.swapped`` (the manifest saved).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from boomerang.config import Settings
from boomerang.crashpoints import crash_point
from boomerang.events.store import EventStore
from boomerang.ingest import service as ingest_service
from boomerang.ingest.inbox import Inbox
from boomerang.ingest.supervisor import ProcessStatus, Supervisor
from boomerang.uow import Transaction

log = logging.getLogger(__name__)

FLUSH_ROWS = 200_000
COMPACT_SECONDS = 300
"""How often the mover merges the small files its moves leave in the event store."""
MOVER_STOP_SECONDS = 30.0
"""How long the server's shutdown waits for the mover's last move before killing it."""


@dataclass(frozen=True)
class FlushResult:
    events: int
    report: ingest_service.IdentityReport
    recovered: int = 0


def recover(*, inbox: Inbox, store: EventStore) -> int:
    """Undo moves that a crash interrupted; returns how many files were removed."""
    removed = 0
    for tag in inbox.unfinished_flushes():
        files = store.remove_tagged(tag)
        crash_point("recover.removed")
        inbox.abort_flush(tag)
        removed += files
        log.warning("ingest: undid an interrupted move (%s, %d files)", tag, files)
    return removed


@contextmanager
def mover_lock(inbox: Inbox) -> Iterator[None]:
    """Only one process moves events or compacts the event store at a time (the server's
    mover, ``boomerang ingest flush``): an exclusive lock on a file beside the inbox,
    released if the holder dies. Not re-entrant: a holder that takes it again waits forever."""
    path = inbox.path.with_name(inbox.path.name + ".mover.lock")
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def flush_once(
    *, inbox: Inbox, store: EventStore, transaction: Transaction, limit: int = FLUSH_ROWS
) -> FlushResult:
    """Move up to ``limit`` pending events to the event store (see the module doc)."""
    with mover_lock(inbox):
        return _flush_once(inbox=inbox, store=store, transaction=transaction, limit=limit)


def _flush_once(
    *, inbox: Inbox, store: EventStore, transaction: Transaction, limit: int = FLUSH_ROWS
) -> FlushResult:
    recovered = recover(inbox=inbox, store=store)
    crash_point("move.recovered")
    batch = inbox.read_pending(limit=limit)
    if batch is None:
        return FlushResult(0, ingest_service.IdentityReport(), recovered)
    crash_point("move.read")
    with transaction() as session:
        events, report = ingest_service.apply_identities(session=session, events=batch.table)
    crash_point("move.identities")
    tag = inbox.begin_flush(batch)
    crash_point("move.journalled")
    store.append(events, tag=tag)
    crash_point("move.written")
    inbox.finish_flush(tag, batch)
    crash_point("move.done")
    return FlushResult(events.num_rows, report, recovered)


def flush_all(*, inbox: Inbox, store: EventStore, transaction: Transaction) -> int:
    """Move every pending event; returns how many."""
    moved = 0
    with mover_lock(inbox):
        while True:
            result = _flush_once(inbox=inbox, store=store, transaction=transaction)
            if result.events == 0:
                return moved
            moved += result.events


def compact(
    *, inbox: Inbox, store: EventStore, min_files: int = 8, grace_seconds: float = 3600
) -> int:
    """Merge the event store's small files (:meth:`EventStore.compact`); returns how many.

    Under the mover lock, after undoing interrupted moves: with the lock held throughout, no
    move can start meanwhile, so no file of an unfinished move is merged (they are also
    skipped, should recovery have left one).
    """
    with mover_lock(inbox):
        recover(inbox=inbox, store=store)
        return store.compact(
            min_files=min_files,
            grace_seconds=grace_seconds,
            skip_tags=inbox.unfinished_flushes(),
        )


def _mover_main(settings_data: dict[str, Any], stop: Any, parent_pid: int) -> None:
    """The mover process: moves events every interval until told to stop or orphaned."""
    import boomerang.models  # noqa: F401  (every table, so that mappers resolve)
    from boomerang.config import Settings
    from boomerang.db import engine_from_settings, session_factory

    settings = Settings(**settings_data)
    engine = engine_from_settings(settings)
    inbox = Inbox(settings.inbox_path, dedup_hours=settings.ingest_dedup_hours)
    store = EventStore(settings.events_dir)
    transaction = session_factory(engine).begin
    last_prune = last_compaction = 0.0
    try:
        while True:
            stopping = stop.wait(settings.ingest_flush_seconds) or os.getppid() != parent_pid
            try:
                flush_all(inbox=inbox, store=store, transaction=transaction)
                if time.monotonic() - last_compaction > COMPACT_SECONDS:
                    compact(inbox=inbox, store=store)
                    last_compaction = time.monotonic()
                if time.monotonic() - last_prune > 3600:
                    inbox.prune()
                    last_prune = time.monotonic()
            except Exception:  # the events stay pending; the next cycle retries
                log.exception("ingest: moving events failed; will retry")
            if stopping:
                return
    finally:
        inbox.close()
        engine.dispose()


class Mover:
    """The server's event mover, in a process of its own so that it never competes with
    the API for the interpreter lock. Supervised (:mod:`boomerang.ingest.supervisor`): if
    it dies it is logged and restarted (after 1 s, 2 s, 4 s ... up to 60 s); it stops with
    the server after a last move, killed if that takes over :data:`MOVER_STOP_SECONDS`
    (what it was moving stays pending, for the next start: see the module doc)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._supervisor = Supervisor(
            target=_mover_main,
            args=(settings.model_dump(mode="json"),),
            name="boomerang-mover",
            stop_seconds=MOVER_STOP_SECONDS,
        )

    def start(self) -> None:
        self._supervisor.start()

    def stop(self) -> None:
        self._supervisor.stop()

    def status(self) -> ProcessStatus:
        return self._supervisor.status()


class Housekeeper:
    """A light thread in the server: records write-key use and recounts pending events
    (the mover, in another process, shrinks the count)."""

    def __init__(
        self,
        *,
        inbox: Inbox,
        transaction: Transaction,
        interval: float,
        key_usage: Callable[[], dict[str, datetime]],
    ) -> None:
        self.inbox = inbox
        self.transaction = transaction
        self.interval = interval
        self.key_usage = key_usage
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="ingest-housekeeper", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        self.cycle()

    def _run(self) -> None:
        while not self._stop.wait(min(self.interval, 1.0)):
            self.cycle()

    def cycle(self) -> None:
        try:
            self.inbox.refresh_pending()
            usage = self.key_usage()
            if usage:
                with self.transaction() as session:
                    ingest_service.touch_keys(session=session, last_used=usage)
        except Exception:
            log.exception("ingest: housekeeping failed; will retry")
