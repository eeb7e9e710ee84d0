"""Soak benchmark: does Boomerang stay correct and responsive under a mixed, sustained load?

Starts its own processes, on loopback only, and always stops them (also on Ctrl+C or an
error): a fresh data dir in a temporary folder with the demo company, then

- ``--store sqlite`` (default): one ``boomerang serve``;
- ``--store postgresql``: the database named by ``--url`` (default a fresh
  ``boomerang_soak_<pid>`` on postgresql://postgres@127.0.0.1:5432, created when missing and
  then dropped at the end), three ``boomerang serve`` and two ``boomerang worker`` processes,
  the load spread round-robin over the three servers.

Once the jobs the servers queue as they start (the day's work) are done, it drives for
``--minutes``, concurrently: readers of the account list, account pages,
health, renewals and revenue, through the UI (logged in as the demo admin) and the REST API
(a token from ``boomerang tokens create``); an unmodified segment-analytics-python client
sending track calls with unique messageIds (a write key from ``boomerang keys create``); and,
after the baseline, ``boomerang health compute`` in a loop beside a rotating series of CLI
commands (imports of an accounts CSV and of an events file, segments evaluate, playbooks run,
digests preview, show commands). The first 20% of the run (at least 15 s) runs no CLI command
at all: its read latencies are the baseline that the latencies while a health compute runs are
compared with, in the same run. On PostgreSQL a short tracking-only burst against one server,
then against three, gives the tracking throughput ratio.

Nothing is retried by the bench: every response >= 500, failed connection and failed CLI
command is counted and shown (the Segment client retries as it does in production; each
attempt's answer is counted). Events acknowledged by the tracking API are then counted in the
event store (DuckDB over its live Parquet files), after the servers stopped and a
``boomerang ingest flush``.

Targets (issue 16, item 6), printed as PASS/MISS; the exit code is 0 when all pass, else 1:

- no response >= 500, no failed connection and no CLI command failing on a database lock;
- every CLI command exits 0;
- p99 of UI and API reads while a health compute runs <= 3x their p99 with nothing running;
- tracked events stored == unique messageIds acknowledged, none twice; imported event files
  all or nothing;
- every server and worker stops within 120 s of SIGTERM (none killed);
- (PostgreSQL) tracking throughput with three servers > 1.1x with one.

    .venv/bin/python bench/soak.py [--minutes 5] [--accounts 200] [--store sqlite|postgresql]
        [--url postgresql://postgres@127.0.0.1:5432/DB] [--readers 4] [--events-per-second 200]
        [--burst-seconds 8] [--keep DIR] [--json]

With ``--json`` the report goes to stderr and the figures, as one JSON document, to stdout.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import http.client
import itertools
import json
import logging
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from rich.console import Console
from rich.table import Table

console = Console(width=None if sys.stdout.isatty() else 150)
HOST = "127.0.0.1"
DEFAULT_PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
READER_EMAIL = "soak-reader@boomerang.demo"
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "error")
QUIET, HEALTH, JOBS = "quiet", "health compute", "other jobs"
"""What ran when a request started: nothing heavy (the baseline), a health compute, or only
the other CLI commands."""
READ_TIMEOUT = 60.0
CLI_TIMEOUT = 900.0
GRACE = 120.0
"""Seconds the servers and workers have, in all, to stop after SIGTERM."""


# --------------------------------------------------------------------------- processes


class Processes:
    """Every process the bench starts, each in a session of its own so that a Ctrl+C in the
    terminal reaches only the bench, which then stops them in order (servers last, so that
    they move their pending events on the way out)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self._lock = threading.Lock()
        self._running: list[subprocess.Popen[bytes]] = []
        self.services: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: Sequence[str], env: dict[str, str]) -> None:
        """Start a long-running ``boomerang`` process, its output in ``<logs>/<name>.log``."""
        with (self.logs / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "boomerang", *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.services.append((name, proc))

    def run(
        self, args: Sequence[str], env: dict[str, str], *, stdin: str | None = None
    ) -> tuple[int, str, str]:
        """Run one ``boomerang`` command to its end: exit code, stdout, stderr."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "boomerang", *args],
            env=env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        with self._lock:
            self._running.append(proc)
        try:
            out, err = proc.communicate(stdin.encode() if stdin is not None else None, CLI_TIMEOUT)
        except subprocess.TimeoutExpired:
            _stop(proc, grace=10)
            out, err = proc.communicate()
            err += f"\nkilled by the bench after {CLI_TIMEOUT:.0f} s".encode()
        finally:
            with self._lock:
                self._running.remove(proc)
        return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    def stop_commands(self) -> None:
        """Stop the CLI commands still running (only on Ctrl+C or an error)."""
        with self._lock:
            running = list(self._running)
        for proc in running:
            _stop(proc, grace=15)

    def stop_services(self, grace: float = GRACE) -> dict[str, int | None]:
        """SIGTERM every server and worker (the process itself, which stops its own
        children), wait for them all up to ``grace`` seconds in total, then SIGKILL what is
        left of each one's process group. Their exit codes (-9: killed)."""
        for _, proc in self.services:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        codes: dict[str, int | None] = {}
        for name, proc in self.services:
            codes[name] = _stop(proc, grace=max(0.0, deadline - time.monotonic()), term=False)
        self.services.clear()
        return codes

    def kill_all(self) -> None:
        """SIGKILL every process group still there (a second Ctrl+C)."""
        with self._lock:
            running = [*self._running, *(proc for _, proc in self.services)]
        for proc in running:
            _stop(proc, grace=0, term=False)
        self.services.clear()


def _stop(proc: subprocess.Popen[bytes], *, grace: float, term: bool = True) -> int | None:
    """SIGTERM ``proc`` (unless already done), wait ``grace`` seconds, then SIGKILL its
    process group (the processes it started and left behind too)."""
    if term and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return proc.returncode


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SetupError(f"the server on port {port} exited while starting (see its log)")
        try:
            status, _, _ = request(port, "GET", "/healthz", timeout=2)
            if status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.25)
    raise SetupError(f"the server on port {port} did not answer /healthz in {timeout:.0f} s")


class SetupError(Exception):
    """The stack could not be set up: nothing was measured."""


# ------------------------------------------------------------------------------ figures


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..1), None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class Phase:
    """Which heavy work runs now, read by every request as it starts."""

    def __init__(self) -> None:
        self.heavy = False
        self.health_computes = 0
        self._lock = threading.Lock()

    def tag(self) -> str:
        if not self.heavy:
            return QUIET
        return HEALTH if self.health_computes else JOBS

    @contextmanager
    def health_compute(self) -> Iterator[None]:
        with self._lock:
            self.health_computes += 1
        try:
            yield
        finally:
            with self._lock:
                self.health_computes -= 1


class Recorder:
    """Status classes per route class, latencies per route class and phase, and what the
    failures said (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.failures: Counter[tuple[str, str]] = Counter()

    def record(
        self, route: str, tag: str | None, status: int | None, seconds: float, detail: str = ""
    ) -> None:
        klass = "error" if status is None else f"{status // 100}xx"
        with self._lock:
            self.counts[route][klass] += 1
            if tag is not None and status is not None:
                self.samples[route][tag].append(seconds)
            if klass in ("5xx", "error"):
                text = " ".join(detail.split())[:160]
                where = f"{route} ({tag or 'not measured'})"
                self.failures[(where, f"{status or 'no answer'}: {text}")] += 1

    def latency(self, routes: Sequence[str], tag: str) -> list[float]:
        with self._lock:
            return [s for r in routes for s in self.samples.get(r, {}).get(tag, [])]


@dataclass
class CliRun:
    phase: str
    command: str
    seconds: float
    exit_code: int
    last_stderr: str

    @property
    def lock_failure(self) -> bool:
        return self.exit_code != 0 and "locked" in self.last_stderr.lower()


class Cli:
    """Runs ``boomerang`` commands in the stack's environment and keeps every run."""

    def __init__(self, processes: Processes, env: dict[str, str], root: Path) -> None:
        self.processes = processes
        self.env = env
        self.root = f"{root}/"
        self.runs: list[CliRun] = []
        self._lock = threading.Lock()

    def __call__(self, phase: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
        started = time.perf_counter()
        code, out, err = self.processes.run(args, self.env, stdin=stdin)
        lines = [line.strip() for line in err.splitlines() if line.strip()]
        run = CliRun(
            phase=phase,
            command="boomerang " + " ".join(self._shown(a) for a in args),
            seconds=time.perf_counter() - started,
            exit_code=code,
            last_stderr=lines[-1] if lines else "",
        )
        with self._lock:
            self.runs.append(run)
        return code, out

    def _shown(self, arg: str) -> str:
        arg = arg.removeprefix(self.root)  # the bench's own files, by name
        return repr(arg) if " " in arg else arg


# ------------------------------------------------------------------------------ HTTP


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = READ_TIMEOUT,
) -> tuple[int, bytes, http.client.HTTPMessage]:
    """One request on a connection of its own (no reuse: an idle keep-alive connection closed
    by the server must never show up as a failure, nor be retried away)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), response.headers
    finally:
        conn.close()


def _cookies(headers: http.client.HTTPMessage) -> dict[str, str]:
    found = {}
    for value in headers.get_all("Set-Cookie") or []:
        name, _, rest = value.split(";")[0].partition("=")
        found[name.strip()] = rest.strip()
    return found


def login(port: int, email: str, password: str) -> str:
    """The Cookie header of a UI session."""
    status, page, headers = request(port, "GET", "/login")
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    if status != 200 or match is None:
        raise SetupError(f"GET /login answered {status} without a CSRF token")
    jar = _cookies(headers)
    form = urlencode(
        {"email": email, "password": password, "csrf_token": match.group(1).decode(), "next": "/"}
    )
    status, _, headers = request(
        port,
        "POST",
        "/login",
        body=form.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
        },
    )
    jar.update(_cookies(headers))
    if status != 303:
        raise SetupError(f"logging in as {email} answered {status}, not 303")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


ROUTES = {
    "ui": [
        ("UI account list", "/accounts?owner=all"),
        ("UI account page", "/accounts/{id}"),
        ("UI health", "/health"),
        ("UI renewals", "/renewals"),
        ("UI revenue", "/metrics/revenue"),
    ],
    "api": [
        ("API account list", "/api/v1/accounts?limit=50"),
        ("API account", "/api/v1/accounts/{ext}"),
        ("API health", "/api/v1/accounts/{ext}/health"),
        ("API renewals", "/api/v1/renewals"),
        ("API revenue", "/api/v1/metrics/revenue"),
    ],
}
READ_ROUTES = [route for routes in ROUTES.values() for route, _ in routes]
ALL_READS = "all reads (UI + API)"


@dataclass(frozen=True)
class Target:
    """What the load reads and writes with: live accounts and the credentials."""

    accounts: tuple[tuple[str, str], ...]  # (id, external id) of live accounts
    cookie: str  # a UI session of the demo admin
    token: str  # a REST token of a viewer
    key: str  # a tracking write key

    def routes(self, kind: str, n: int) -> list[tuple[str, str]]:
        """The ``n``-th round of (route class, path) of a UI or API reader."""
        acc_id, ext = self.accounts[n % len(self.accounts)]
        return [(route, path.format(id=acc_id, ext=ext)) for route, path in ROUTES[kind]]

    def headers(self, kind: str) -> dict[str, str]:
        if kind == "ui":
            return {"Cookie": self.cookie}
        return {"Authorization": f"Bearer {self.token}"}


def timed_get(
    recorder: Recorder,
    phase: Phase | None,
    route: str,
    port: int,
    path: str,
    headers: dict[str, str],
) -> None:
    """GET ``path`` and record its status and latency (``phase`` None: not a measured one)."""
    tag = phase.tag() if phase is not None else None
    started = time.perf_counter()
    try:
        status, body, _ = request(port, "GET", path, headers=headers)
    except (OSError, http.client.HTTPException) as exc:
        recorder.record(
            route, tag, None, time.perf_counter() - started, f"{type(exc).__name__} {exc}"
        )
        return
    detail = body[:300].decode(errors="replace") if status >= 500 else ""
    recorder.record(route, tag, status, time.perf_counter() - started, detail)


def reader(
    kind: str,
    offset: int,
    ports: Sequence[int],
    target: Target,
    recorder: Recorder,
    phase: Phase,
    stop: threading.Event,
) -> None:
    """Read the five pages (UI) or resources (API) round after round until ``stop``."""
    headers = target.headers(kind)
    turn = itertools.count(offset)
    for n in itertools.count(offset):
        for route, path in target.routes(kind, n):
            if stop.is_set():
                return
            timed_get(recorder, phase, route, ports[next(turn) % len(ports)], path, headers)


# --------------------------------------------------------------------------- tracking


class Tracking:
    """Unmodified Segment clients (one per server) sending track calls with unique
    messageIds. A response hook on the library's HTTP session only observes: each attempt's
    status and latency, and the messageIds of every 2xx answer (minus those it rejected)."""

    def __init__(
        self, key: str, ports: Sequence[int], run_id: str, recorder: Recorder, phase: Phase
    ) -> None:
        from segment.analytics import request as segment_request
        from segment.analytics.client import Client

        logging.getLogger("segment").setLevel(logging.CRITICAL)  # its failures are counted here
        self.recorder = recorder
        self.phase = phase
        self.prefix = f"soak-{run_id}-t-"
        self.acknowledged: set[str] = set()  # by the Segment clients' requests
        self.burst_acknowledged: set[str] = set()
        self.client_errors: Counter[str] = Counter()
        self.not_queued = 0
        self.queued = 0
        self._lock = threading.Lock()
        self._session = segment_request._session
        self._session.hooks["response"].append(self._observe)
        self.clients = [
            Client(
                write_key=key,
                host=f"http://{HOST}:{port}",
                gzip=True,
                upload_interval=0.25,
                on_error=self._on_error,
                max_total_backoff_duration=60,
                max_rate_limit_duration=60,
            )
            for port in ports
        ]

    def _observe(self, response: Any, *args: Any, **kwargs: Any) -> None:
        try:
            self._count(response)
        except Exception as exc:  # an observer must never change what the client does
            with self._lock:
                self.client_errors[f"bench could not read an answer: {exc!r}"[:160]] += 1

    def _count(self, response: Any) -> None:
        seconds = response.elapsed.total_seconds()
        detail = response.text[:300] if response.status_code >= 500 else ""
        self.recorder.record(
            "tracking (Segment client)", self.phase.tag(), response.status_code, seconds, detail
        )
        if not 200 <= response.status_code < 300:
            return
        raw = response.request.body
        if response.request.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        ids = {m.get("messageId") for m in json.loads(raw).get("batch", [])}
        ids -= {r.get("messageId") for r in response.json().get("rejected", [])}
        with self._lock:
            self.acknowledged.update(i for i in ids if isinstance(i, str))

    def _on_error(self, error: Exception, batch: list[Any]) -> None:
        with self._lock:
            self.client_errors[f"events given up: {type(error).__name__}: {error}"[:160]] += len(
                batch
            )

    def send(self, rate: float, stop: threading.Event, accounts: Sequence[str]) -> None:
        """Track ``rate`` events a second, round-robin over the servers, until ``stop``."""
        started = time.perf_counter()
        for n in itertools.count():
            if stop.is_set():
                return
            ahead = n / rate - (time.perf_counter() - started)
            if ahead > 0:
                time.sleep(ahead)
            client = self.clients[n % len(self.clients)]
            ok, _ = client.track(
                user_id=f"soak-user-{n % 50}",
                event="Soak Event",
                properties={"n": n, "plan": "pro"},
                context={"groupId": accounts[n % len(accounts)]},
                message_id=f"{self.prefix}{n}",
            )
            self.queued += 1
            if not ok:
                self.not_queued += 1

    def finish(self, timeout: float = 120) -> bool:
        """Flush and stop every client; False when they did not finish within ``timeout``."""
        done = threading.Event()

        def shutdown() -> None:
            for client in self.clients:
                client.shutdown()
            done.set()

        threading.Thread(target=shutdown, daemon=True).start()
        finished = done.wait(timeout)
        self._session.hooks["response"].remove(self._observe)
        return finished


def burst(
    key: str,
    ports: Sequence[int],
    seconds: float,
    connections: int,
    prefix: str,
    recorder: Recorder,
) -> tuple[float, set[str]]:
    """Tracking only: batches of 100 unique events from ``connections`` threads spread over
    ``ports`` for ``seconds``; events accepted a second and the acknowledged messageIds."""
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": auth}
    route = f"tracking burst ({len(ports)} server{'s' if len(ports) > 1 else ''})"
    acknowledged: set[str] = set()
    lock = threading.Lock()
    batches = itertools.count()
    now = datetime.now(UTC).isoformat()
    stop_at = time.perf_counter() + seconds

    def body(b: int) -> tuple[list[str], bytes]:
        ids = [f"{prefix}{b}-{i}" for i in range(100)]
        batch = [
            {
                "type": "track",
                "event": "Soak Burst",
                "userId": f"soak-user-{i % 50}",
                "messageId": mid,
                "timestamp": now,
                "properties": {"i": i},
            }
            for i, mid in enumerate(ids)
        ]
        return ids, json.dumps({"batch": batch, "sentAt": now}).encode()

    def post(port: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=READ_TIMEOUT)
        while time.perf_counter() < stop_at:
            ids, payload = body(next(batches))
            started = time.perf_counter()
            try:
                conn.request("POST", "/v1/batch", body=payload, headers=headers)
                response = conn.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as exc:
                recorder.record(route, None, None, time.perf_counter() - started, str(exc))
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=READ_TIMEOUT)
                continue
            detail = answer[:300].decode(errors="replace") if response.status >= 500 else ""
            recorder.record(route, None, response.status, time.perf_counter() - started, detail)
            if response.status == 200:
                rejected = {r.get("messageId") for r in json.loads(answer).get("rejected", [])}
                with lock:
                    acknowledged.update(i for i in ids if i not in rejected)
        conn.close()

    threads = [
        threading.Thread(target=post, args=(ports[i % len(ports)],), daemon=True)
        for i in range(connections)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(acknowledged) / (time.perf_counter() - started), acknowledged


def stored_events(data_dir: Path, prefix: str) -> tuple[int, set[str]]:
    """Rows in the event store whose messageId starts with ``prefix``, and those ids (only
    the live files: the manifest's)."""
    import duckdb

    from boomerang.events.store import EventStore

    live = [str(f) for f in EventStore(data_dir / "events").live_files()]
    if not live:
        return 0, set()
    rows = (
        duckdb.connect()
        .execute(
            "SELECT message_id FROM read_parquet(?, union_by_name = true) "
            "WHERE starts_with(message_id, ?)",
            [live, prefix],
        )
        .fetchall()
    )
    return len(rows), {r[0] for r in rows}


# ------------------------------------------------------------------------- the stack


@dataclass
class Stack:
    """The data dir, the environment of every process, the servers' ports."""

    root: Path
    env: dict[str, str]
    ports: list[int] = field(default_factory=list)
    workers: int = 0
    database: str = "SQLite file in the data dir"
    settled: float | None = None  # seconds the start-up jobs took, None: still running

    @property
    def data_dir(self) -> Path:
        return self.root / "var"


def child_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env.update(BOOMERANG_DATA_DIR=str(data_dir), BOOMERANG_LOG_LEVEL="warning")
    if database_url:
        env.update(BOOMERANG_DATABASE_URL=database_url, BOOMERANG_WORKER_IN_SERVER="false")
    return env


def _pg_urls(url: str) -> tuple[str, str, str]:
    """(SQLAlchemy URL for Boomerang, libpq URL of the maintenance database, database name)."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme not in ("postgresql", "postgres"):
        raise SetupError(f"--url must be a postgresql:// URL, not {url!r}")
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise SetupError(f"--url must name a database (letters, digits, _), not {name!r}")
    app = urlunsplit(parts._replace(scheme="postgresql+psycopg"))
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    return app, admin, name


@contextmanager
def postgres_database(url: str) -> Iterator[tuple[str, bool]]:
    """The database of ``url`` (created when missing, then dropped): (its URL, created)."""
    import psycopg
    from psycopg import sql

    app_url, admin_url, name = _pg_urls(url)
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        raise SetupError(f"cannot reach PostgreSQL at {admin_url}: {exc}") from None
    with admin:
        created = (
            admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None
        )
        if created:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield app_url, created
    finally:
        if created:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                admin.execute(drop.format(sql.Identifier(name)))


def set_up(args: argparse.Namespace, stack: Stack, cli: Cli, processes: Processes) -> Target:
    """Demo company, reader user, token, write key, then the servers (and workers)."""
    status(f"loading the demo company ({args.accounts} accounts) ...")
    code, _ = cli("setup", "demo", "--accounts", str(args.accounts))
    if code:
        raise SetupError(f"boomerang demo failed: {cli.runs[-1].last_stderr}")
    login_text = (stack.data_dir / "demo-login.txt").read_text()
    email = re.search(r"email:\s*(\S+)", login_text)
    password = re.search(r"password:\s*(\S+)", login_text)
    if email is None or password is None:
        raise SetupError("demo-login.txt does not give the admin's email and password")
    cli(
        "setup",
        "users",
        "create",
        "--email",
        READER_EMAIL,
        "--role",
        "viewer",
        stdin=secrets.token_urlsafe(16),
    )
    token = _printed(
        cli("setup", "tokens", "create", "--user", READER_EMAIL, "--name", "soak"), "bmr_"
    )
    key = _printed(cli("setup", "keys", "create", "--name", "soak"), "bwk_")

    servers = 3 if args.store == "postgresql" else 1
    stack.ports = [free_port() for _ in range(servers)]
    for i, port in enumerate(stack.ports):
        processes.start(f"serve-{i + 1}", ["serve", "--host", HOST, "--port", str(port)], stack.env)
    stack.workers = 2 if args.store == "postgresql" else 0
    for i in range(stack.workers):
        processes.start(f"worker-{i + 1}", ["worker"], stack.env)
    for (_, proc), port in zip(processes.services, stack.ports, strict=False):
        wait_ready(port, proc)
    status("waiting for the jobs the servers queue at start (the day's work) to be done ...")
    stack.settled = settle(cli)

    cookie = login(stack.ports[0], email.group(1), password.group(1))
    status_code, page, _ = request(
        stack.ports[0],
        "GET",
        "/api/v1/accounts?limit=100",
        headers={"Authorization": f"Bearer {token}"},
    )
    if status_code != 200:
        raise SetupError(f"GET /api/v1/accounts answered {status_code}")
    live = [(a["id"], a["external_id"]) for a in json.loads(page)["items"] if not a["churned_at"]]
    if not live:
        raise SetupError("the demo company has no live account")
    return Target(tuple(live[:20]), cookie, token, key)


STEADY_JOBS = frozenset({"outbox.deliver", "escalations.tick"})
"""Jobs queued every few seconds or minutes: the steady background, in both phases."""


def settle(cli: Cli, timeout: float = 240) -> float | None:
    """Wait until no job but the steady ones is running or due (the servers queue the day's
    work when they start); the seconds that took, or None after ``timeout``."""
    started = time.monotonic()
    time.sleep(5)
    while time.monotonic() - started < timeout:
        code, out = cli("settle", "jobs", "list", "--json", "--limit", "200")
        with suppress(ValueError):  # not JSON: a failure, counted with the CLI runs
            if code == 0 and not _busy(json.loads(out)):
                return time.monotonic() - started
        time.sleep(3)
    return None


def _busy(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        job
        for job in jobs
        if job["kind"] not in STEADY_JOBS
        and (
            job["status"] == "running"
            or (job["status"] == "queued" and datetime.fromisoformat(job["run_at"]) <= now)
        )
    ]


def _printed(result: tuple[int, str], prefix: str) -> str:
    code, out = result
    found = re.search(rf"\b{prefix}[A-Za-z0-9_-]+", out)
    if code or found is None:
        raise SetupError(f"no {prefix}... secret printed (exit code {code})")
    return found.group(0)


def status(text: str) -> None:
    console.print(f"[dim]{datetime.now(UTC):%H:%M:%S}[/dim] {text}")


# ------------------------------------------------------------------------ CLI load


class Rotation:
    """The rotating series of CLI commands of the heavy phase, each file a new one."""

    def __init__(self, stack: Stack, cli: Cli, run_id: str, accounts: Sequence[str]) -> None:
        self.stack = stack
        self.cli = cli
        self.accounts = accounts
        self.import_prefix = f"soak-{run_id}-i-"
        self.imported_ok = 0  # event rows in files imported with exit code 0
        self.imported_failed_ids: set[str] = set()
        self.round = 0

    def account(self) -> str:
        return self.accounts[self.round % len(self.accounts)]

    def import_accounts(self) -> None:
        path = self.stack.root / f"accounts-{self.round}.csv"
        rows = [f"soak-{i},Soak Account {i},Soak,{self.round}" for i in range(1, 6)]
        path.write_text("external_id,name,industry,soak_round\n" + "\n".join(rows) + "\n")
        self.cli(
            "load", "import", "accounts", str(path), "--map", "attributes.soak_round=soak_round"
        )

    def import_events(self) -> None:
        path = self.stack.root / f"events-{self.round}.ndjson"
        now = datetime.now(UTC)
        ids = [f"{self.import_prefix}{self.round}-{i}" for i in range(20)]
        lines = [
            json.dumps(
                {
                    "message_id": mid,
                    "type": "track",
                    "event": "Soak Import",
                    "user_id": f"soak-user-{i}",
                    "group_id": self.accounts[i % len(self.accounts)],
                    "timestamp": now.isoformat(),
                    "properties": {"round": self.round, "i": i},
                }
            )
            for i, mid in enumerate(ids)
        ]
        path.write_text("\n".join(lines) + "\n")
        code, _ = self.cli("load", "import", "events", str(path))
        if code == 0:
            self.imported_ok += len(ids)
        else:
            self.imported_failed_ids.update(ids)

    def steps(self) -> list[Callable[[], object]]:
        return [
            self.import_accounts,
            lambda: self.cli("load", "segments", "evaluate"),
            lambda: self.cli("load", "health", "show", self.account()),
            self.import_events,
            lambda: self.cli("load", "playbooks", "run"),
            lambda: self.cli("load", "churn", "show", self.account()),
            lambda: self.cli("load", "digests", "preview", self.account()),
            lambda: self.cli("load", "journey", "show", self.account()),
        ]

    def loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            for step in self.steps():
                if stop.is_set():
                    return
                step()
            self.round += 1


def health_loop(cli: Cli, phase: Phase, stop: threading.Event) -> None:
    while not stop.is_set():
        with phase.health_compute():
            cli("load", "health", "compute")


# ------------------------------------------------------------------------- the run


def spawn(target: Callable[..., object], *args: object) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def drive(
    args: argparse.Namespace,
    stack: Stack,
    cli: Cli,
    target: Target,
    recorder: Recorder,
    run_id: str,
) -> tuple[dict[str, Any], Tracking, Rotation]:
    """The baseline, then the heavy phase; returns the phase lengths."""
    phase = Phase()
    total = args.minutes * 60
    baseline = max(15.0, 0.2 * total)
    heavy = max(15.0, total - baseline)
    externals = [ext for _, ext in target.accounts]

    for kind in ("ui", "api"):  # warm-up: statuses counted, latencies not
        for route, path in target.routes(kind, 0):
            for port in stack.ports:
                timed_get(recorder, None, route, port, path, target.headers(kind))

    readers_stop, jobs_stop = threading.Event(), threading.Event()
    tracking = Tracking(target.key, stack.ports, run_id, recorder, phase)
    rotation = Rotation(stack, cli, run_id, externals)
    threads = [spawn(tracking.send, args.events_per_second, readers_stop, externals)]
    for i in range(args.readers):
        kind = "ui" if i % 2 == 0 else "api"
        threads.append(spawn(reader, kind, i, stack.ports, target, recorder, phase, readers_stop))
    try:
        status(f"baseline: readers and tracking only, {baseline:.0f} s ...")
        time.sleep(baseline)
        phase.heavy = True
        status(f"heavy phase: health compute in a loop and the CLI rotation, {heavy:.0f} s ...")
        jobs = [spawn(health_loop, cli, phase, jobs_stop), spawn(rotation.loop, jobs_stop)]
        time.sleep(heavy)
        jobs_stop.set()
        status("waiting for the running CLI commands to end (the readers go on) ...")
        for job in jobs:
            job.join()
    finally:
        jobs_stop.set()
        readers_stop.set()
    for thread in threads:
        thread.join(READ_TIMEOUT + 5)
    status("flushing the Segment clients ...")
    finished = tracking.finish()
    return (
        {"baseline_seconds": baseline, "heavy_seconds": heavy, "client_flushed": finished},
        tracking,
        rotation,
    )


def run(
    args: argparse.Namespace, root: Path, database_url: str | None, processes: Processes
) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    stack = Stack(root=root, env=child_env(root / "var", database_url))
    if database_url:
        stack.database = re.sub(r"//[^@/]*@", "//", database_url)
    cli = Cli(processes, stack.env, root)
    recorder = Recorder()
    figures: dict[str, Any] = {
        "store": args.store,
        "accounts": args.accounts,
        "minutes": args.minutes,
    }
    try:
        target = set_up(args, stack, cli, processes)
        status(
            f"{len(stack.ports)} server(s) on ports {', '.join(map(str, stack.ports))}, {stack.workers} worker(s)"
        )
        phases, tracking, rotation = drive(args, stack, cli, target, recorder, run_id)
        throughput = None
        if args.store == "postgresql":
            throughput = measure_throughput(args, stack, recorder, target.key, tracking)
    finally:
        processes.stop_commands()
        status("stopping the servers and workers ...")
        exits = processes.stop_services()
    cli("final", "ingest", "flush")
    figures.update(
        servers=len(stack.ports),
        workers=stack.workers,
        database=stack.database,
        start_up_jobs_seconds=stack.settled,
        phases=phases,
        service_exit_codes=exits,
        throughput=throughput,
    )
    figures["events"] = event_figures(stack, tracking, rotation)
    figures["server_log_errors"] = log_errors(processes.logs)
    figures.update(http_figures(recorder))
    figures["cli"] = [asdict(r) for r in cli.runs]
    figures["cli_failures"] = sum(1 for r in cli.runs if r.exit_code)
    figures["cli_lock_failures"] = sum(1 for r in cli.runs if r.lock_failure)
    figures["targets"] = targets(figures)
    figures["passed"] = all(t["pass"] for t in figures["targets"])
    return figures


def measure_throughput(
    args: argparse.Namespace, stack: Stack, recorder: Recorder, key: str, tracking: Tracking
) -> dict[str, float]:
    status(f"tracking-only bursts, {args.burst_seconds:.0f} s against one server then three ...")
    one, ids_one = burst(
        key,
        stack.ports[:1],
        args.burst_seconds,
        args.burst_connections,
        f"{tracking.prefix}b1-",
        recorder,
    )
    three, ids_three = burst(
        key,
        stack.ports,
        args.burst_seconds,
        args.burst_connections,
        f"{tracking.prefix}b3-",
        recorder,
    )
    tracking.burst_acknowledged = ids_one | ids_three
    return {
        "one_server_events_per_s": one,
        "three_servers_events_per_s": three,
        "ratio": three / one if one else 0.0,
    }


def event_figures(stack: Stack, tracking: Tracking, rotation: Rotation) -> dict[str, Any]:
    rows, ids = stored_events(stack.data_dir, tracking.prefix)
    acknowledged = tracking.acknowledged | tracking.burst_acknowledged
    imported_rows, imported_ids = stored_events(stack.data_dir, rotation.import_prefix)
    return {
        "queued": tracking.queued,
        "not_queued": tracking.not_queued,
        "acknowledged_client": len(tracking.acknowledged),
        "acknowledged_burst": len(tracking.burst_acknowledged),
        "acknowledged": len(acknowledged),
        "stored": len(ids),
        "stored_rows": rows,
        "missing": len(acknowledged - ids),
        "stored_unacknowledged": len(ids - acknowledged),
        "client_errors": dict(tracking.client_errors),
        "imported_ok": rotation.imported_ok,
        "imported_stored": imported_rows,
        "imported_failed_but_stored": len(imported_ids & rotation.imported_failed_ids),
    }


def log_errors(logs: Path) -> dict[str, int]:
    """The exception lines of the servers' and workers' logs, counted."""
    found: Counter[str] = Counter()
    pattern = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception)\b|locked")
    for path in sorted(logs.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if pattern.search(line.strip()):
                found[f"{path.stem}: {line.strip()[:200]}"] += 1
    return dict(found.most_common(20))


def http_figures(recorder: Recorder) -> dict[str, Any]:
    counts = {
        route: {k: c.get(k, 0) for k in STATUS_CLASSES}
        for route, c in sorted(recorder.counts.items())
    }
    latency: dict[str, Any] = {}
    groups = {route: [route] for route in READ_ROUTES}
    groups[ALL_READS] = READ_ROUTES
    groups.update((r, [r]) for r in recorder.samples if r not in READ_ROUTES)
    for name, routes in groups.items():
        row: dict[str, Any] = {}
        for tag in (QUIET, HEALTH, JOBS):
            values = recorder.latency(routes, tag)
            p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
            row[tag] = {
                "n": len(values),
                "p50_ms": None if p50 is None else p50 * 1000,
                "p99_ms": None if p99 is None else p99 * 1000,
            }
        quiet, during = row[QUIET]["p99_ms"], row[HEALTH]["p99_ms"]
        row["p99_ratio"] = during / quiet if quiet and during is not None else None
        latency[name] = row
    failures = [
        {"route": route, "what": what, "count": n}
        for (route, what), n in recorder.failures.most_common(20)
    ]
    return {"requests": counts, "latency": latency, "failures": failures}


def targets(f: dict[str, Any]) -> list[dict[str, Any]]:
    fives = sum(c["5xx"] for c in f["requests"].values())
    errors = sum(c["error"] for c in f["requests"].values())
    reads = f["latency"][ALL_READS]
    ratio = reads["p99_ratio"]
    ev = f["events"]
    made = [
        (
            "0 responses >= 500, 0 failed connections, 0 CLI lock failures",
            fives == 0 and errors == 0 and f["cli_lock_failures"] == 0,
            f"{fives} responses >= 500, {errors} failed connections, {f['cli_lock_failures']} CLI lock failures",
        ),
        (
            "every CLI command exits 0",
            f["cli_failures"] == 0,
            f"{f['cli_failures']} of {len(f['cli'])} failed",
        ),
        (
            "p99 of reads during a health compute <= 3x p99 with nothing running",
            ratio is not None and ratio <= 3,
            "no read ran during a health compute" if ratio is None else f"{ratio:.2f}x",
        ),
        (
            "tracked events stored == unique messageIds acknowledged, none twice",
            ev["stored"] == ev["acknowledged"] == ev["stored_rows"] and ev["missing"] == 0,
            f"{ev['acknowledged']:,} acknowledged, {ev['stored']:,} stored ({ev['stored_rows']:,} rows, "
            f"{ev['missing']:,} missing)",
        ),
        (
            "imported event files all or nothing",
            ev["imported_stored"] == ev["imported_ok"] and ev["imported_failed_but_stored"] == 0,
            f"{ev['imported_ok']} rows imported with exit 0, {ev['imported_stored']} stored, "
            f"{ev['imported_failed_but_stored']} stored from failed imports",
        ),
    ]
    killed = [name for name, code in f["service_exit_codes"].items() if code == -signal.SIGKILL]
    made.append(
        (
            "servers and workers stop on SIGTERM (none killed)",
            not killed,
            f"killed {GRACE:.0f} s after SIGTERM: {', '.join(killed)}" if killed else "all stopped",
        )
    )
    if f["throughput"] is not None:
        r = f["throughput"]["ratio"]
        made.append(("tracking throughput 3 servers vs 1 > 1.1x", r > 1.1, f"{r:.2f}x"))
    return [{"name": n, "pass": bool(p), "detail": d} for n, p, d in made]


# ------------------------------------------------------------------------ the report


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def report(f: dict[str, Any]) -> None:
    title = f"{f['store']}, {f['servers']} server(s), {f['workers']} worker(s), {f['accounts']} accounts"
    ph, settled = f["phases"], f["start_up_jobs_seconds"]
    console.print(
        f"{title}; database: {f['database']}; the servers' start-up jobs "
        + ("were still running when the load began" if settled is None else f"took {settled:.0f} s")
        + f"; baseline {ph['baseline_seconds']:.0f} s, then heavy jobs {ph['heavy_seconds']:.0f} s"
        " (and until the CLI commands running then ended)"
    )
    table = Table(title="Requests by status class")
    table.add_column("route class")
    for k in STATUS_CLASSES:
        table.add_column(k, justify="right")
    for route, c in f["requests"].items():
        table.add_row(route, *(f"{c[k]:,}" for k in STATUS_CLASSES))
    console.print(table)

    table = Table(title="Latency (ms): with nothing heavy running vs during a health compute")
    for name in ("route class", "n", "p50", "p99", "n", "p50", "p99", "p99 ratio"):
        table.add_column(name, justify="left" if name == "route class" else "right")
    for route, row in f["latency"].items():
        q, h = row[QUIET], row[HEALTH]
        ratio = "-" if row["p99_ratio"] is None else f"{row['p99_ratio']:.2f}x"
        table.add_row(
            route,
            str(q["n"]),
            _ms(q["p50_ms"]),
            _ms(q["p99_ms"]),
            str(h["n"]),
            _ms(h["p50_ms"]),
            _ms(h["p99_ms"]),
            ratio,
        )
    console.print(table)
    for item in f["failures"]:
        console.print(f"  {item['count']:>6,} x {item['route']}: {item['what']}")
    for line, n in f["server_log_errors"].items():
        console.print(f"  {n:>6,} x log {line}")
    report_cli(f)
    report_events(f)
    for t in f["targets"]:
        verdict = "[green]PASS[/green]" if t["pass"] else "[red]MISS[/red]"
        console.print(f"{verdict} {t['name']}: {t['detail']}")


def report_cli(f: dict[str, Any]) -> None:
    table = Table(title="CLI commands")
    for name in ("phase", "command", "s", "exit", "last stderr line (failed ones)"):
        table.add_column(name, justify="right" if name in ("s", "exit") else "left")
    for run in f["cli"]:
        table.add_row(
            run["phase"],
            run["command"][:70],
            f"{run['seconds']:.1f}",
            str(run["exit_code"]),
            run["last_stderr"][:90] if run["exit_code"] else "",
        )
    console.print(table)


def report_events(f: dict[str, Any]) -> None:
    ev = f["events"]
    console.print(
        f"tracked events: {ev['queued']:,} queued by the client ({ev['not_queued']:,} refused by its "
        f"queue), {ev['acknowledged_client']:,} acknowledged; {ev['acknowledged_burst']:,} by the "
        f"bursts; {ev['acknowledged']:,} unique messageIds acknowledged in all, {ev['stored']:,} stored "
        f"({ev['stored_rows']:,} rows), {ev['missing']:,} acknowledged but missing, "
        f"{ev['stored_unacknowledged']:,} stored but never acknowledged"
    )
    for what, n in ev["client_errors"].items():
        console.print(f"  Segment client: {n:,} x {what}")
    if not f["phases"]["client_flushed"]:
        console.print("  the Segment clients did not finish flushing in time")
    if f["throughput"] is not None:
        t = f["throughput"]
        console.print(
            f"tracking throughput: {t['one_server_events_per_s']:,.0f} events/s with one server, "
            f"{t['three_servers_events_per_s']:,.0f} with three: {t['ratio']:.2f}x"
        )


# --------------------------------------------------------------------------- main


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    global console
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--url", help=f"PostgreSQL database (default {DEFAULT_PG_SERVER}/boomerang_soak_<pid>)"
    )
    parser.add_argument("--readers", type=int, default=4, help="reader threads, half UI, half API")
    parser.add_argument("--events-per-second", type=float, default=200.0)
    parser.add_argument("--burst-seconds", type=float, default=8.0)
    parser.add_argument("--burst-connections", type=int, default=6)
    parser.add_argument("--keep", type=Path, help="keep the data dir and logs in this new folder")
    parser.add_argument(
        "--json", action="store_true", help="also print the figures as JSON (stdout)"
    )
    args = parser.parse_args(argv)
    if args.json:
        console = Console(stderr=True, width=None if sys.stderr.isatty() else 150)
    if args.store == "sqlite" and args.url:
        parser.error("--url is for --store postgresql")
    signal.signal(signal.SIGTERM, _interrupt)

    root = args.keep or Path(tempfile.mkdtemp(prefix="boomerang-soak-"))
    root.mkdir(parents=True, exist_ok=True)
    (root / "logs").mkdir(exist_ok=True)
    processes = Processes(root / "logs")
    figures: dict[str, Any] | None = None
    try:
        with _database(args) as database_url:
            try:
                figures = run(args, root, database_url, processes)
            finally:
                try:
                    processes.stop_commands()
                    processes.stop_services(grace=30)
                except KeyboardInterrupt:  # asked twice: no more waiting
                    processes.kill_all()
                    raise
    except KeyboardInterrupt:
        console.print("interrupted: every process the bench started was stopped")
        return 130
    except SetupError as exc:
        console.print(f"[red]setup failed[/red]: {exc}")
        for path in sorted((root / "logs").glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-5:]
            console.print(f"last lines of {path.name}:", *tail, sep="\n  ", markup=False)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    report(figures)
    if args.keep is not None:
        console.print(f"data dir and logs kept in {root}")
    if args.json:
        print(json.dumps(figures, default=str))
    return 0 if figures["passed"] else 1


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[str | None]:
    if args.store == "sqlite":
        yield None
        return
    url = args.url or f"{DEFAULT_PG_SERVER}/boomerang_soak_{os.getpid()}"
    with postgres_database(url) as (app_url, created):
        if not created:
            status(f"using the existing database of {url} (kept afterwards)")
        yield app_url


if __name__ == "__main__":
    sys.exit(main())
