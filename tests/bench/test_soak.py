"""A short run of the soak benchmark, on SQLite and on PostgreSQL.

Only the correctness figures are asserted (no response >= 500, no failed connection, every
CLI command exits 0, every acknowledged event stored once, imported files all or nothing),
never the timing ratios, which depend on the machine: the bench's own exit code includes
them, so it is not asserted either. Select these with ``-m soak`` (or leave them out with
``-m 'not soak'``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
SHORT = ["--minutes", "0.5", "--accounts", "60"]


def soak(*args: str) -> dict[str, Any]:
    """Run ``bench/soak.py`` with ``args`` and return its figures."""
    done = subprocess.run(
        [sys.executable, "bench/soak.py", *SHORT, "--json", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    print(done.stderr)  # the bench's report: shown when the test fails
    assert done.stdout.strip(), f"exit code {done.returncode}, no figures:\n{done.stderr[-3000:]}"
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def assert_correct(figures: dict[str, Any]) -> None:
    failures = [
        (route, counts)
        for route, counts in figures["requests"].items()
        if counts["5xx"] or counts["error"]
    ]
    assert not failures, "responses >= 500 or failed connections:\n" + "\n".join(
        f"{item['count']} x {item['route']}: {item['what']}" for item in figures["failures"]
    )
    failed = [run for run in figures["cli"] if run["exit_code"] != 0]
    assert not failed, "failed CLI commands:\n" + "\n".join(
        f"{run['command']}: exit {run['exit_code']}, {run['last_stderr']}" for run in failed
    )
    events = figures["events"]
    assert events["acknowledged"] > 0
    assert events["stored"] == events["stored_rows"] == events["acknowledged"], events
    assert events["missing"] == 0, events
    assert events["imported_stored"] == events["imported_ok"], events
    assert events["imported_failed_but_stored"] == 0, events


@pytest.mark.soak
def test_short_soak_on_sqlite() -> None:
    figures = soak()
    assert figures["servers"] == 1
    assert_correct(figures)


@pytest.mark.soak
@pytest.mark.postgres
def test_short_soak_on_postgresql(postgres_base_url: str) -> None:
    # The suite's PostgreSQL server; a database of the test's own, which the bench creates
    # and drops.
    url = make_url(postgres_base_url).set(
        drivername="postgresql", database=f"boomerang_soak_test_{uuid.uuid4().hex[:10]}"
    )
    # Short bursts: the test asserts that three servers and two workers ingest correctly,
    # not the throughput ratio (the bench prints it).
    figures = soak(
        "--store",
        "postgresql",
        "--url",
        url.render_as_string(hide_password=False),
        "--burst-seconds",
        "3",
    )
    assert figures["servers"] == 3 and figures["workers"] == 2
    assert figures["throughput"] is not None
    assert_correct(figures)
