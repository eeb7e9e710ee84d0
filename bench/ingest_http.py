"""Benchmark: how many tracked events per second does the Segment-compatible API take?

Starts `boomerang serve` (a real process, its background worker moving events to the event
store as in production) and drives it from this process over loopback with keep-alive
connections posting Segment batches of 100 events. Prints sustained events/s and p50 / p99
batch latency, and the ratio to the ceiling measured in the same run: the same process
code parsing and durably storing the same batches without HTTP (decode, validate, inbox
commit), one batch at a time.

Target (issue 3): >= 20,000 events/s with p99 < 100 ms on a 2-core machine.

    .venv/bin/python bench/ingest_http.py [--seconds 15] [--connections 4] [--batch 100]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from boomerang.events.store import EventStore
from boomerang.ingest import segment
from boomerang.ingest.inbox import Inbox, Submission

console = Console()
EVENTS = ["Report Built", "Dashboard Viewed", "Export Downloaded", "Invite Sent", "Search"]


def make_bodies(count: int, batch: int) -> list[bytes]:
    """``count`` distinct batch bodies of ``batch`` realistic track/page events each."""
    bodies = []
    now = datetime.now(UTC).isoformat()
    for b in range(count):
        messages = []
        for i in range(batch):
            user = f"user-{(b * batch + i) % 5000}"
            messages.append(
                {
                    "type": "track" if i % 5 else "page",
                    "event": EVENTS[i % len(EVENTS)],
                    "name": "Home",
                    "userId": user,
                    "messageId": str(uuid.uuid4()),
                    "timestamp": now,
                    "properties": {"plan": "pro", "count": i, "path": f"/app/{i % 17}"},
                    "context": {
                        "groupId": f"acct-{(b * batch + i) % 500}",
                        "library": {"name": "bench", "version": "1"},
                        "ip": "10.0.0.1",
                    },
                }
            )
        bodies.append(json.dumps({"batch": messages, "sentAt": now}).encode())
    return bodies


def ceiling(bodies: list[bytes], directory: Path) -> tuple[float, float]:
    """Events/s and the median per-batch time storing ``bodies`` without HTTP."""
    inbox = Inbox(directory / "ceiling.sqlite3")
    times = []
    events = 0
    start = time.perf_counter()
    for raw in bodies:
        t0 = time.perf_counter()
        body = segment.decode_body(raw, content_encoding=None, limit=segment.MAX_BATCH_BYTES)
        parsed = segment.parse(body, call="batch", received_at=datetime.now(UTC))
        inbox.store([Submission(parsed.rows, parsed.rejections, "wk_bench")])
        events += len(parsed.rows)
        times.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    inbox.close()
    return events / elapsed, statistics.median(times) * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "boomerang", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def drive(
    port: int, key: str, bodies: list[bytes], seconds: float, connections: int
) -> tuple[int, float, list[float], int]:
    """Post bodies from ``connections`` threads for ``seconds``: events, elapsed, latencies, errors."""
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": auth}
    latencies: list[float] = []
    accepted = [0]
    errors = [0]
    lock = threading.Lock()
    next_body = iter(range(10**9))
    stop_at = time.perf_counter() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        ok = bad = 0
        while time.perf_counter() < stop_at:
            with lock:
                index = next(next_body)
            body = bodies[index % len(bodies)]
            t0 = time.perf_counter()
            conn.request("POST", "/v1/batch", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            mine.append(time.perf_counter() - t0)
            if response.status == 200:
                ok += json.loads(payload)["accepted"]
            else:
                bad += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            accepted[0] += ok
            errors[0] += bad

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return accepted[0], time.perf_counter() - start, latencies, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="boomerang-bench-") as tmp:
        directory = Path(tmp)
        # Distinct messageIds everywhere: every event is new work, none is a duplicate.
        estimate = int(args.seconds * 60_000 / args.batch) + 100
        console.print(f"preparing {estimate:,} batches of {args.batch} events ...")
        bodies = make_bodies(estimate, args.batch)
        ceiling_bodies = make_bodies(max(200, estimate // 10), args.batch)
        console.print(
            f"mean batch body: {statistics.mean(len(b) for b in bodies[:100]) / 1024:.1f} KB"
        )

        ceil_rate, ceil_median = ceiling(ceiling_bodies, directory)

        # The server gets a data dir of its own; BOOMERANG_INGEST_* settings pass through.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("BOOMERANG_") or k.startswith("BOOMERANG_INGEST_")
        }
        env.update(BOOMERANG_DATA_DIR=str(directory / "var"), BOOMERANG_LOG_LEVEL="warning")
        subprocess.run(
            [sys.executable, "-m", "boomerang", "init"], env=env, check=True, capture_output=True
        )
        made = subprocess.run(
            [sys.executable, "-m", "boomerang", "keys", "create", "--name", "bench"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        key = made.stdout.strip().splitlines()[-1]
        port = free_port()
        server = start_server(env, port)
        try:
            drive(port, key, make_bodies(50, args.batch), 2, args.connections)  # warm-up
            events, elapsed, latencies, errors = drive(
                port, key, bodies, args.seconds, args.connections
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=120)
        # The server moved everything to the event store before it stopped: check it did.
        # Only the live files (the manifest's): files replaced by compaction stay on disk
        # for an hour so that running queries can finish, and must not be counted.
        live = [str(f) for f in EventStore(directory / "var" / "events").live_files()]
        con = duckdb.connect()
        stored = con.execute(
            "SELECT count(*), count(DISTINCT message_id) FROM read_parquet(?)", [live]
        ).fetchone()
        assert stored is not None

    latencies.sort()
    rate = events / elapsed
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    table = Table(
        title=f"Segment batches of {args.batch} over HTTP, {args.connections} connections, {args.seconds:.0f} s"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("events/s over HTTP", f"{rate:,.0f}")
    table.add_row("batch latency p50", f"{p50:.1f} ms")
    table.add_row("batch latency p99", f"{p99:.1f} ms")
    table.add_row("requests refused (429/5xx)", f"{errors:,}")
    table.add_row(
        "events in the event store after shutdown", f"{stored[0]:,} ({stored[1]:,} distinct)"
    )
    table.add_row(
        "ceiling: parse + durable store, no HTTP",
        f"{ceil_rate:,.0f} events/s ({ceil_median:.2f} ms/batch)",
    )
    table.add_row("ratio HTTP / ceiling", f"{rate / ceil_rate:.2f}x")
    console.print(table)
    verdict = "meets" if rate >= 20_000 and p99 < 100 else "misses"
    console.print(
        f"target >= 20,000 events/s with p99 < 100 ms: {verdict} ({rate / 20_000:.2f}x the rate target)"
    )


if __name__ == "__main__":
    main()
