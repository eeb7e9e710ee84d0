"""A child process that is watched: restarted with back-off when it dies, stopped in bounded time.

The server's event mover runs this way (:class:`boomerang.ingest.flush.Mover`). What makes it
safe to stop whatever state the child is in:

- the parent tells the child to stop by closing a pipe (the child sees end-of-file), and
  never waits on a primitive shared with the child (a ``multiprocessing.Event`` shared with
  a dead child hangs ``set()`` for ever); the child sees the same end-of-file if the parent
  dies, and stops too;
- the child ignores SIGINT and SIGTERM, so that Ctrl+C or ``kill -TERM -PGID`` (systemd,
  docker) sent to the server's whole process group reaches the parent alone, which then
  stops the child (the signals are blocked from before the child exists until it ignores
  them, so none is lost in between);
- every wait has a timeout: the child gets ``stop_seconds`` to finish, then it is killed.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.process
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import resource_tracker
from typing import Any

log = logging.getLogger(__name__)

_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_POLL_SECONDS = 0.5
"""How often the watcher looks at the clock while the child runs (it wakes at once when the
child exits)."""


@dataclass(frozen=True)
class ProcessStatus:
    """What the watcher knows of its child."""

    running: bool  # started and not stopped: a child is meant to be alive
    alive: bool
    pid: int | None
    restarts: int
    last_exit_code: int | None  # of the last child that died (negative: killed by a signal)
    down_seconds: float | None  # since it died, while it waits to be restarted


class StopSignal:
    """What the child is given to learn that it should stop: ``wait(timeout)`` returns True
    once the parent asked (or died), else False after ``timeout`` seconds."""

    def __init__(self, connection: multiprocessing.connection.Connection) -> None:
        self._connection = connection

    def wait(self, timeout: float | None = None) -> bool:
        return bool(self._connection.poll(timeout))  # end-of-file counts as data


def _child_main(
    target: Callable[..., object],
    args: tuple[Any, ...],
    stop: multiprocessing.connection.Connection,
    parent_pid: int,
) -> None:
    """The child: ignores the process group's signals, then runs ``target(*args, stop, ppid)``."""
    for signum in _SIGNALS:
        signal.signal(signum, signal.SIG_IGN)  # discards any that arrived while blocked
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    target(*args, StopSignal(stop), parent_pid)


def describe_exit(code: int | None) -> str:
    """``-9`` -> ``"-9 (SIGKILL)"``."""
    if code is not None and code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return str(code)


class Supervisor:
    """Runs ``target(*args, stop, parent_pid)`` in a spawned child and keeps it running.

    A child that exits while it should run is logged (error, with its exit code) and
    restarted after ``backoff`` seconds, doubling up to ``max_backoff``; the delay starts
    over once a child has lived ``stable_seconds`` (default ``max_backoff``).
    """

    def __init__(
        self,
        *,
        target: Callable[..., object],
        args: tuple[Any, ...],
        name: str,
        stop_seconds: float,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        stable_seconds: float | None = None,
    ) -> None:
        self.target, self.args, self.name = target, args, name
        self.stop_seconds, self.backoff, self.max_backoff = stop_seconds, backoff, max_backoff
        self.stable_seconds = max_backoff if stable_seconds is None else stable_seconds
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._stop_pipe: multiprocessing.connection.Connection | None = None
        self._watcher: threading.Thread | None = None
        self._alive = False
        self._restarts = 0
        self._last_exit: int | None = None
        self._died_at: float | None = None
        self._deadline = 0.0

    def start(self) -> None:
        with self._lock:
            if self._watcher is not None:
                return
            self._spawn()
            self._watcher = threading.Thread(
                target=self._watch, name=f"{self.name}-watcher", daemon=True
            )
            self._watcher.start()
        atexit.register(self._abandon)

    def stop(self) -> None:
        """Ask the child to stop; kill it after ``stop_seconds``. Never waits longer."""
        with self._lock:
            watcher = self._watcher
            if watcher is None or self._stopping.is_set():
                return
            self._deadline = time.monotonic() + self.stop_seconds
            self._stopping.set()
            self._close_pipe()
        watcher.join(self.stop_seconds + 10)
        if watcher.is_alive():
            log.error("%s: the process could not be stopped; leaving it", self.name)
        atexit.unregister(self._abandon)

    def status(self) -> ProcessStatus:
        with self._lock:
            down = None if self._died_at is None else time.monotonic() - self._died_at
            return ProcessStatus(
                running=self._watcher is not None and not self._stopping.is_set(),
                alive=self._alive,
                pid=self._process.pid if self._alive and self._process else None,
                restarts=self._restarts,
                last_exit_code=self._last_exit,
                down_seconds=down,
            )

    # -- the watcher thread -------------------------------------------------------------

    def _spawn(self) -> None:
        """Start a child (with the lock held); SIGINT and SIGTERM stay blocked in it until
        it ignores them."""
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_child_main,
            args=(self.target, self.args, reader, os.getpid()),
            name=self.name,
            daemon=True,
        )
        # multiprocessing's resource tracker, started by the first child, unblocks both
        # signals once it is launched: launched now, it leaves the block below alone.
        resource_tracker.ensure_running()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            process.start()
        except BaseException:
            writer.close()
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            reader.close()  # the child has its own copy
        self._process, self._stop_pipe = process, writer
        self._alive, self._died_at = True, None

    def _close_pipe(self) -> None:
        if self._stop_pipe is not None:
            self._stop_pipe.close()
            self._stop_pipe = None

    def _watch(self) -> None:
        delay = self.backoff
        while True:
            lived = self._wait_for_exit()
            if self._stopping.is_set():
                return
            if lived >= self.stable_seconds:
                delay = self.backoff
            log.error(
                "%s: the process died (exit code %s) after %.1f s; restarting it in %.1f s",
                self.name,
                describe_exit(self._last_exit),
                lived,
                delay,
            )
            while True:  # until a child starts (a failed start is retried, later each time)
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, self.max_backoff)
                started = self._restart()
                if started is None:
                    return
                if started:
                    break

    def _wait_for_exit(self) -> float:
        """Wait until the child exits (killing it past the stop deadline); how long it lived."""
        process = self._process
        assert process is not None
        started = time.monotonic()
        while not multiprocessing.connection.wait([process.sentinel], _POLL_SECONDS):
            if self._stopping.is_set() and time.monotonic() > self._deadline:
                log.warning(
                    "%s: the process did not stop within %.0f s; killing it",
                    self.name,
                    self.stop_seconds,
                )
                process.kill()
        process.join()  # only this thread reaps it
        with self._lock:
            self._alive, self._last_exit = False, process.exitcode
            self._died_at = time.monotonic()
            if not self._stopping.is_set():
                self._close_pipe()
        return self._died_at - started

    def _restart(self) -> bool | None:
        """Start a new child: True if it started, False if it could not, None if stopping."""
        with self._lock:
            if self._stopping.is_set():
                return None
            try:
                self._spawn()
            except Exception:  # e.g. out of processes or file descriptors: retried
                log.exception("%s: the process could not be restarted", self.name)
                return False
            self._restarts += 1
            restarts = self._restarts
            pid = self._process.pid if self._process else None
        log.warning("%s: restarted (pid %s, restart %d)", self.name, pid, restarts)
        return True

    def _abandon(self) -> None:
        """At interpreter exit, a child left running is killed: multiprocessing would
        otherwise send it SIGTERM (which it ignores) and wait for it for ever."""
        with self._lock:
            process = self._process if self._alive else None
        if process is not None:
            process.kill()
