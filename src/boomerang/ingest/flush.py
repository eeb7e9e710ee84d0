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
"""

from __future__ import annotations

import fcntl
import logging
import multiprocessing
import multiprocessing.process
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from boomerang.config import Settings
from boomerang.events.store import EventStore
from boomerang.ingest import service as ingest_service
from boomerang.ingest.inbox import Inbox
from boomerang.uow import Transaction

log = logging.getLogger(__name__)

FLUSH_ROWS = 200_000
COMPACT_SECONDS = 300
"""How often the mover merges the small files its moves leave in the event store."""


@dataclass(frozen=True)
class FlushResult:
    events: int
    report: ingest_service.IdentityReport
    recovered: int = 0


def recover(*, inbox: Inbox, store: EventStore) -> int:
    """Undo moves that a crash interrupted; returns how many files were removed."""
    removed = 0
    for tag in inbox.unfinished_flushes():
        removed += store.remove_tagged(tag)
        inbox.abort_flush(tag)
        log.warning("ingest: undid an interrupted move (%s, %d files)", tag, removed)
    return removed


@contextmanager
def mover_lock(inbox: Inbox) -> Iterator[None]:
    """Only one process moves events at a time (the server's mover, ``boomerang ingest
    flush``): an exclusive lock on a file beside the inbox, released if the holder dies."""
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
    batch = inbox.read_pending(limit=limit)
    if batch is None:
        return FlushResult(0, ingest_service.IdentityReport(), recovered)
    with transaction() as session:
        events, report = ingest_service.apply_identities(session=session, events=batch.table)
    tag = inbox.begin_flush(batch)
    store.append(events, tag=tag)
    inbox.finish_flush(tag, batch)
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
                    with mover_lock(inbox):
                        store.compact()
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
    the API for the interpreter lock; it stops (after a last move) with the server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self._process: multiprocessing.process.BaseProcess | None = None

    def start(self) -> None:
        if self._process is None:
            self._process = self._context.Process(
                target=_mover_main,
                args=(self.settings.model_dump(mode="json"), self._stop, os.getpid()),
                name="boomerang-mover",
                daemon=True,
            )
            self._process.start()

    def stop(self) -> None:
        if self._process is not None:
            self._stop.set()
            self._process.join(timeout=120)
            if self._process.is_alive():
                self._process.kill()
            self._process = None


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
