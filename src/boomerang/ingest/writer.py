"""One thread that writes the inbox, so concurrent requests share a commit (group commit).

A request hands its rows to :meth:`Writer.submit` and waits on the future; the thread takes
every submission waiting, stores them in one transaction (one fsync) and resolves them all.
When more events wait than ``max_pending`` allows, :meth:`submit` refuses at once with
:class:`Overloaded`, which the API turns into 429 + Retry-After.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future

from boomerang.ingest.inbox import Inbox, Outcome, Submission
from boomerang.ingest.segment import Rejection, Row

log = logging.getLogger(__name__)

MAX_GROUP_ROWS = 50_000


class Overloaded(Exception):
    """Too many events wait to be stored or moved; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"ingestion is overloaded; retry after {retry_after} s")
        self.retry_after = retry_after


class Writer:
    def __init__(self, inbox: Inbox, *, max_pending: int) -> None:
        self.inbox = inbox
        self.max_pending = max_pending
        self._queue: queue.Queue[tuple[Submission, Future[Outcome]] | None] = queue.Queue()
        self._queued_rows = 0
        self._count_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Store everything already submitted, then stop."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def submit(
        self, rows: Sequence[Row], rejections: Sequence[Rejection], write_key_id: str | None
    ) -> Future[Outcome]:
        with self._count_lock:
            if self._queued_rows + self.inbox.pending + len(rows) > self.max_pending:
                raise Overloaded(retry_after=2)
            self._queued_rows += len(rows)
        if self._thread is None:
            self.start()
        future: Future[Outcome] = Future()
        self._queue.put((Submission(rows, rejections, write_key_id), future))
        return future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            group = [first]
            rows = len(first[0].rows)
            while rows < MAX_GROUP_ROWS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                group.append(item)
                rows += len(item[0].rows)
            self._write(group, rows)

    def _write(self, group: list[tuple[Submission, Future[Outcome]]], rows: int) -> None:
        try:
            outcomes = self.inbox.store([submission for submission, _ in group])
        except Exception as exc:  # the request answers 503; the client library retries
            log.exception("ingest: storing %d submissions failed", len(group))
            for _, future in group:
                future.set_exception(exc)
        else:
            for (_, future), outcome in zip(group, outcomes, strict=True):
                future.set_result(outcome)
        finally:
            with self._count_lock:
                self._queued_rows -= rows
