"""What ``/healthz`` reports of the event mover: the inbox's backlog, and when it is stuck."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from boomerang.ingest import segment
from boomerang.ingest.backlog import Backlog, is_stuck, mover_report, read_backlog
from boomerang.ingest.inbox import Inbox, Submission
from boomerang.ingest.supervisor import ProcessStatus

ALIVE = ProcessStatus(
    running=True, alive=True, pid=1, restarts=0, last_exit_code=None, down_seconds=None
)
DEAD = ProcessStatus(
    running=True, alive=False, pid=None, restarts=2, last_exit_code=-9, down_seconds=0.5
)
OFF = ProcessStatus(
    running=False, alive=False, pid=None, restarts=0, last_exit_code=None, down_seconds=None
)


@pytest.fixture
def inbox(tmp_path: Path) -> Inbox:
    return Inbox(tmp_path / "inbox.sqlite3")


def _store(inbox: Inbox, *, received_at: datetime, n: int = 1) -> None:
    for i in range(n):
        body = {"userId": "u1", "event": "Clicked", "messageId": f"m-{received_at:%s}-{i}"}
        parsed = segment.parse(body, call="track", received_at=received_at)
        assert parsed.rows, parsed.rejections
        inbox.store([Submission(parsed.rows, [], None)])


def test_an_empty_inbox_has_no_backlog(inbox: Inbox) -> None:
    assert read_backlog(inbox.path, pending=0) == Backlog(0, None, None)


def test_the_oldest_pending_event_and_the_last_move_are_aged(inbox: Inbox) -> None:
    now = datetime.now(UTC)
    _store(inbox, received_at=now - timedelta(minutes=10), n=2)
    _store(inbox, received_at=now - timedelta(seconds=5))
    found = read_backlog(inbox.path, pending=inbox.pending, now=now.timestamp())
    assert found.pending == 3
    assert found.oldest_age_seconds == pytest.approx(600, abs=0.01)
    assert found.last_move_age_seconds is None

    batch = inbox.read_pending(limit=2)  # a move of the two oldest
    assert batch is not None
    inbox.finish_flush(inbox.begin_flush(batch), batch)
    later = read_backlog(inbox.path, pending=inbox.pending)
    assert later.pending == 1
    assert later.last_move_age_seconds is not None and later.last_move_age_seconds < 5
    assert later.oldest_age_seconds is not None and 5 <= later.oldest_age_seconds < 60


@pytest.mark.parametrize(
    ("backlog", "stuck"),
    [
        (Backlog(5, 301.0, None), True),  # old events, never a move
        (Backlog(5, 301.0, 400.0), True),  # old events, no move for a while
        (Backlog(5, 301.0, 2.0), False),  # working through a backlog
        (Backlog(5, 30.0, None), False),  # young events
        (Backlog(0, None, 900.0), False),  # nothing waits
    ],
)
def test_stuck_means_alive_with_old_events_and_no_recent_move(
    backlog: Backlog, stuck: bool
) -> None:
    assert is_stuck(ALIVE, backlog) is stuck
    assert is_stuck(DEAD, backlog) is False  # dead is reported as dead, not stuck


def test_the_report_is_unhealthy_when_a_mover_that_should_run_is_dead_or_stuck() -> None:
    calm = Backlog(3, 1.5, 0.5)
    assert mover_report(ALIVE, calm)["healthy"] is True
    dead = mover_report(DEAD, calm)
    assert dead == {
        "running": True,
        "alive": False,
        "healthy": False,
        "stuck": False,
        "restarts": 2,
        "last_exit_code": -9,
        "down_seconds": 0.5,
        "pending": 3,
        "oldest_pending_age_seconds": 1.5,
        "last_move_age_seconds": 0.5,
    }
    stuck = mover_report(ALIVE, Backlog(3, 400.0, None))
    assert stuck["stuck"] is True and stuck["healthy"] is False
    assert mover_report(OFF, Backlog(3, 400.0, None))["healthy"] is True  # no mover here
