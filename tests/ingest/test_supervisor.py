"""The supervised child process behind the server's event mover: its death is logged and it
is restarted with back-off; stopping it never waits on a dead child nor for ever."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Iterator

import pytest

from boomerang.ingest.supervisor import StopSignal, Supervisor

LOGGER = "boomerang.ingest.supervisor"


# Children's targets (module level: a spawned child imports them by name).
def _until_stopped(stop: StopSignal, parent_pid: int) -> None:
    while not stop.wait(0.05):
        pass


def _exits_at_once(code: int, stop: StopSignal, parent_pid: int) -> None:
    os._exit(code)


def _never_stops(stop: StopSignal, parent_pid: int) -> None:
    while True:
        time.sleep(1)


def _wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def supervisors() -> Iterator[list[Supervisor]]:
    made: list[Supervisor] = []
    yield made
    for supervisor in made:
        supervisor.stop()


def _supervisor(
    made: list[Supervisor], target: Callable[..., None], *args: object, **options: float
) -> Supervisor:
    options.setdefault("stop_seconds", 5.0)
    supervisor = Supervisor(target=target, args=args, name="test-child", **options)  # type: ignore[arg-type]
    made.append(supervisor)
    supervisor.start()
    return supervisor


def test_a_killed_child_is_logged_and_restarted(
    supervisors: list[Supervisor], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    supervisor = _supervisor(supervisors, _until_stopped, backoff=0.3)
    first = supervisor.status()
    assert first.running and first.alive and first.restarts == 0 and first.pid

    os.kill(first.pid, signal.SIGKILL)
    _wait_until(lambda: not supervisor.status().alive)
    down = supervisor.status()
    assert down.running and down.last_exit_code == -signal.SIGKILL and down.pid is None
    assert down.down_seconds is not None
    died = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(died) == 1 and "exit code -9 (SIGKILL)" in died[0].getMessage()

    _wait_until(lambda: supervisor.status().alive)
    again = supervisor.status()
    assert again.restarts == 1 and again.pid not in (None, first.pid)
    assert again.down_seconds is None


@pytest.mark.parametrize(
    ("stable_seconds", "delays"),
    [(30.0, ["0.1", "0.2", "0.4", "0.4"]), (0.0, ["0.1", "0.1", "0.1", "0.1"])],
)
def test_restarts_back_off_up_to_a_ceiling(
    supervisors: list[Supervisor],
    caplog: pytest.LogCaptureFixture,
    stable_seconds: float,
    delays: list[str],
) -> None:
    """Each death doubles the wait (to ``max_backoff``); a child that lived ``stable_seconds``
    starts it over."""
    caplog.set_level(logging.ERROR, logger=LOGGER)
    options = {"backoff": 0.1, "max_backoff": 0.4, "stable_seconds": stable_seconds}
    supervisor = _supervisor(supervisors, _exits_at_once, 3, **options)
    _wait_until(lambda: supervisor.status().restarts >= 4, timeout=20)
    supervisor.stop()
    said = [r.getMessage() for r in caplog.records][:4]
    assert all("(exit code 3)" in message for message in said), said
    assert [m.rsplit("restarting it in ", 1)[1].removesuffix(" s") for m in said] == delays


def test_stop_does_not_wait_on_a_dead_child(supervisors: list[Supervisor]) -> None:
    supervisor = _supervisor(supervisors, _until_stopped, backoff=60.0)
    pid = supervisor.status().pid
    assert pid
    os.kill(pid, signal.SIGKILL)
    _wait_until(lambda: not supervisor.status().alive)
    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 1.0
    assert not supervisor.status().running and supervisor.status().restarts == 0


def test_a_child_that_does_not_stop_is_killed_in_time(
    supervisors: list[Supervisor], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    supervisor = _supervisor(supervisors, _never_stops, stop_seconds=0.5)
    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 3.0
    status = supervisor.status()
    assert not status.alive and status.last_exit_code == -signal.SIGKILL
    assert any("did not stop within" in r.getMessage() for r in caplog.records)


def test_the_child_ignores_the_process_groups_signals_and_stops_when_asked(
    supervisors: list[Supervisor],
) -> None:
    """SIGTERM or SIGINT sent to the whole process group (systemd, docker, Ctrl+C) reaches
    the parent, which stops the child; the child itself does not die of them."""
    supervisor = _supervisor(supervisors, _until_stopped)
    pid = supervisor.status().pid
    assert pid
    time.sleep(0.5)  # well into its loop (the signals were blocked until then anyway)
    os.kill(pid, signal.SIGTERM)
    os.kill(pid, signal.SIGINT)
    time.sleep(0.3)
    assert supervisor.status().alive and supervisor.status().pid == pid
    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 3.0
    assert supervisor.status().last_exit_code == 0  # it returned, told by the closed pipe


def test_the_signals_are_blocked_from_before_the_child_starts(
    supervisors: list[Supervisor],
) -> None:
    """A signal sent to the group while the child is still starting (importing) is lost on
    it too, not fatal."""
    supervisor = _supervisor(supervisors, _until_stopped)
    pid = supervisor.status().pid
    assert pid
    os.kill(pid, signal.SIGTERM)  # at once: the child is still starting
    time.sleep(1.0)
    assert supervisor.status().alive and supervisor.status().restarts == 0
