"""How the server's event mover is doing, for ``/healthz``: alive, restarted, stuck.

The mover is *stuck* when it is alive but makes no progress: events older than
:data:`STUCK_SECONDS` wait in the inbox and no move finished in that time (a mover working
through a large backlog finishes a move at least every few seconds, so it is not stuck).
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from boomerang.ingest.supervisor import ProcessStatus

STUCK_SECONDS = 300.0


@dataclass(frozen=True)
class Backlog:
    """The inbox's waiting events: how many, and how long the oldest has waited."""

    pending: int
    oldest_age_seconds: float | None
    last_move_age_seconds: float | None  # since the last move to the event store finished


def read_backlog(inbox_path: Path, *, pending: int, now: float | None = None) -> Backlog:
    """The ages of the oldest pending event and of the last move (two indexed reads, in a
    connection of their own); ``pending`` is the server's own count of waiting events."""
    now_us = int((time.time() if now is None else now) * 1_000_000)
    with closing(sqlite3.connect(inbox_path, timeout=5)) as conn:
        oldest = conn.execute("SELECT payload FROM pending ORDER BY seq LIMIT 1").fetchone()
        moved = conn.execute(
            "SELECT finished_at FROM flushes WHERE state = 'done' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    received = _received_at(oldest[0]) if oldest else None
    return Backlog(
        pending=max(pending, 1) if oldest else 0,  # the count may lag a moment behind
        oldest_age_seconds=_age(received, now_us),
        last_move_age_seconds=_age(moved[0] if moved else None, now_us),
    )


def _received_at(payload: bytes) -> object:
    """The row's ``received_at`` (microseconds), or None for a row the mover cannot read
    either (it sets those aside: see :mod:`boomerang.ingest.inbox`)."""
    try:
        row = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    return row.get("received_at") if isinstance(row, dict) else None


def _age(micros: object, now_us: int) -> float | None:
    if not isinstance(micros, int) or isinstance(micros, bool):
        return None
    return round(max(0, now_us - micros) / 1_000_000, 3)


def is_stuck(
    status: ProcessStatus, backlog: Backlog, *, stuck_seconds: float = STUCK_SECONDS
) -> bool:
    """Alive, yet old events wait and no move finished for ``stuck_seconds``."""
    waited = backlog.oldest_age_seconds
    moved = backlog.last_move_age_seconds
    return (
        status.alive
        and waited is not None
        and waited > stuck_seconds
        and (moved is None or moved > stuck_seconds)
    )


def mover_report(
    status: ProcessStatus, backlog: Backlog, *, stuck_seconds: float = STUCK_SECONDS
) -> dict[str, Any]:
    """The ``mover`` part of ``/healthz``; ``healthy`` is False when a mover that should
    run is dead or stuck."""
    stuck = is_stuck(status, backlog, stuck_seconds=stuck_seconds)
    return {
        "running": status.running,  # False where the server runs no mover (tests)
        "alive": status.alive,
        "healthy": not status.running or (status.alive and not stuck),
        "stuck": stuck,
        "restarts": status.restarts,
        "last_exit_code": status.last_exit_code,
        "down_seconds": None if status.down_seconds is None else round(status.down_seconds, 3),
        "pending": backlog.pending,
        "oldest_pending_age_seconds": backlog.oldest_age_seconds,
        "last_move_age_seconds": backlog.last_move_age_seconds,
    }
