"""``boomerang value``, ``boomerang digests`` and ``boomerang plans`` as a user runs them: a
real process, a real SQLite store and event store in a temporary data dir, a real SMTP
server for the digest."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import boomerang.models  # noqa: F401  (every table)
from boomerang.accounts.models import Contact
from boomerang.config import Settings
from boomerang.db import make_engine, session_factory, transaction
from boomerang.events.store import EventStore
from boomerang.value.chart import decode_png
from tests.factories import make_account, make_user
from tests.mail.conftest import SMTPServer, smtp_server  # noqa: F401  (fixture)
from tests.support import run_cli
from tests.value.helpers import write_events


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env=env)


@pytest.fixture
def env(tmp_path: Path, smtp_server: SMTPServer) -> Iterator[dict[str, str]]:  # noqa: F811
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    values = {
        **clean,
        "BOOMERANG_DATA_DIR": str(tmp_path / "var"),
        "BOOMERANG_SMTP_HOST": "127.0.0.1",
        "BOOMERANG_SMTP_PORT": str(smtp_server.port),
        "BOOMERANG_EMAIL_FROM": "cs@boomerang.example",
        "COLUMNS": "200",
    }
    r = run(values, "init")
    assert r.returncode == 0, r.stderr
    data = Path(values["BOOMERANG_DATA_DIR"])
    engine = make_engine(Settings(data_dir=data).sqlalchemy_url)
    with transaction(session_factory(engine)) as session:
        owner = make_user(session, email="ana@boomerang.example")
        account = make_account(session, name="Initech", external_id="initech", owner=owner)
        session.add(Contact(account=account, name="Peter Gibbons", email="peter@initech.example"))
    engine.dispose()
    write_events(
        EventStore(data / "events"),
        [
            ("initech", "Workflow Automated", "2026-10-02 10:00", None),
            ("initech", "Workflow Automated", "2026-10-20 10:00", None),
            ("initech", "Time Saved", "2026-10-21 10:00", {"value": 2.5}),
        ],
    )
    yield values


def test_value_metrics_show_totals_and_a_monthly_digest_over_smtp(
    env: dict[str, str],
    tmp_path: Path,
    smtp_server: SMTPServer,  # noqa: F811
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("metrics:\n  - key: x\n    name: X\n    kind: sum\n    event: E\n")
    r = run(env, "value", "load", str(bad))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"{bad}:2: metrics[0]: Value error, kind 'sum' needs 'property'" in r.stderr

    good = tmp_path / "value.yaml"
    good.write_text(
        "metrics:\n"
        "  - {key: hours_saved, name: Hours saved, unit: hours, kind: count,"
        " event: Workflow Automated, factor: 0.5}\n"
        "  - {key: time_saved, name: Time saved, unit: hours, kind: sum,"
        " event: Time Saved, property: value}\n"
    )
    r = run(env, "value", "load", str(good))
    assert r.returncode == 0, r.stderr
    assert "2 value metrics created, 0 updated" in r.stdout
    r = run(env, "value", "metrics", "--json")
    assert [m["key"] for m in json.loads(r.stdout)] == ["hours_saved", "time_saved"]

    r = run(
        env, "value", "show", "initech", "--start", "2026-10-01", "--end", "2026-10-31", "--json"
    )
    assert r.returncode == 0, r.stderr
    shown = {m["key"]: m for m in json.loads(r.stdout)["metrics"]}
    assert shown["hours_saved"]["total"] == 1.0 and shown["time_saved"]["total"] == 2.5
    r = run(env, "value", "totals", "initech", "--today", "2026-10-21", "--json")
    assert {t["key"]: t["this_week"] for t in json.loads(r.stdout)} == {
        "hours_saved": 0.5,
        "time_saved": 2.5,
    }

    r = run(env, "digests", "subscribe", "initech", "nobody@initech.example")
    assert r.returncode == 1 and "no contact 'nobody@initech.example' at Initech" in r.stderr
    r = run(env, "digests", "subscribe", "initech", "Peter@Initech.example")
    assert r.returncode == 0, r.stderr
    chart = tmp_path / "chart.png"
    r = run(env, "digests", "preview", "initech", "--today", "2026-11-05", "--png", str(chart))
    assert r.returncode == 0, r.stderr
    assert "Subject: Initech: your value report for October 2026" in r.stdout
    assert decode_png(chart.read_bytes()).shape == (220, 560, 3)

    r = run(env, "digests", "send", "--today", "2026-11-05", "--frequency", "monthly")
    assert r.returncode == 0, r.stderr
    assert "1 digests queued, 0 already sent" in r.stdout
    r = run(env, "digests", "send", "--today", "2026-11-05", "--frequency", "monthly")
    assert "0 digests queued, 1 already sent" in r.stdout
    r = run(env, "outbox", "deliver")
    assert r.returncode == 0, r.stderr
    [got] = smtp_server.received
    assert got.rcpt_tos == ["peter@initech.example"]
    assert "- Time saved: 2.5 hours" in got.part("plain")
    assert [p.get_content_type() for p in got.message.walk()] == [
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
    ]


def test_plans_from_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    templates = tmp_path / "plans.yaml"
    templates.write_text(
        "templates:\n"
        "  - key: onboarding\n"
        "    name: Onboarding\n"
        "    stage: onboarding\n"
        "    outcomes: [Go live in 30 days]\n"
        "    milestones: [{title: Kick-off, due_days: 0}, {title: Live, due_days: 30}]\n"
        "    kpis: [{name: Active users, baseline: 0, target: 20}]\n"
    )
    r = run(env, "plans", "templates", "load", str(templates))
    assert r.returncode == 0, r.stderr
    r = run(env, "plans", "create", "initech", "--template", "auto")
    assert r.returncode == 0, r.stderr
    assert "from template onboarding" in r.stdout
    r = run(env, "plans", "show", "initech", "--json")
    shown = json.loads(r.stdout)
    assert shown["outcomes"] == ["Go live in 30 days"]
    assert (shown["milestones_total"], shown["kpis_total"], shown["progress"]) == (2, 1, 0.0)
    kickoff = shown["milestones"][0]["id"]
    kpi = shown["kpis"][0]["id"]
    assert run(env, "plans", "achieve", kickoff).returncode == 0
    r = run(env, "plans", "record", kpi, "5")
    assert r.returncode == 0, r.stderr
    r = run(env, "plans", "show", "initech", "--json")
    assert json.loads(r.stdout)["progress"] == pytest.approx(200 / 3)
    r = run(env, "plans", "record", kpi, "not-a-number")
    assert r.returncode == 2  # Typer refuses it before anything runs
    r = run(env, "plans", "share", shown["plan_id"])
    assert re.fullmatch(r"http://\S+/shared/plans/\S+\n", r.stdout)
    r = run(env, "plans", "create", "initech")
    assert r.returncode == 1 and "already has a success plan" in r.stderr
