"""``/healthz``: liveness (200), with the event mover's state: "degraded" while it is dead or
stuck, and 503 then with ``?strict=true``."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from boomerang.ingest import segment
from boomerang.ingest.inbox import Submission
from boomerang.ingest.supervisor import StopSignal, Supervisor


def _until_stopped(stop: StopSignal, parent_pid: int) -> None:  # a stand-in mover process
    while not stop.wait(0.05):
        pass


def _wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def mover(app: FastAPI) -> Iterator[Supervisor]:
    """A real supervised child process in the mover's place (the test app runs none)."""
    supervisor = Supervisor(
        target=_until_stopped, args=(), name="test-mover", stop_seconds=5, backoff=0.5
    )
    supervisor.start()
    app.state.ingest.mover = supervisor
    yield supervisor
    supervisor.stop()


def test_without_a_mover_the_server_is_ok(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["mover"]["running"] is False and body["mover"]["pending"] == 0
    assert client.get("/healthz?strict=true").status_code == 200


def test_a_dead_mover_is_degraded_until_it_is_restarted(
    client: TestClient, mover: Supervisor
) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json()["status"] == "ok"
    assert answer.json()["mover"]["alive"] is True

    pid = mover.status().pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    _wait_until(lambda: not mover.status().alive)
    answer = client.get("/healthz")
    assert answer.status_code == 200  # still live: events are still accepted
    body = answer.json()
    assert body["status"] == "degraded"
    assert body["mover"]["alive"] is False and body["mover"]["last_exit_code"] == -9
    assert client.get("/healthz?strict=true").status_code == 503

    _wait_until(lambda: mover.status().alive)
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["mover"]["restarts"] == 1


def test_a_mover_that_moves_nothing_for_minutes_is_stuck(
    client: TestClient, app: FastAPI, mover: Supervisor
) -> None:
    long_ago = datetime.now(UTC) - timedelta(minutes=6)
    parsed = segment.parse(
        {"userId": "u1", "event": "Clicked", "messageId": "m-old"},
        call="track",
        received_at=long_ago,
    )
    app.state.ingest.inbox.store([Submission(parsed.rows, [], None)])
    answer = client.get("/healthz?strict=true")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "degraded"
    assert body["mover"]["alive"] is True and body["mover"]["stuck"] is True
    assert body["mover"]["pending"] == 1
    assert body["mover"]["oldest_pending_age_seconds"] >= 360
