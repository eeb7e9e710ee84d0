"""Issue 23: one request could stop the event pipeline for good. The intake now refuses what
it cannot store, and the mover sets aside (quarantines) a stored row it cannot read, so that
everything else still moves; ``boomerang ingest flush`` / ``status`` / ``replay-quarantine``
are run as a user runs them, on real files."""

from __future__ import annotations

import gzip
import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.ingest import segment
from boomerang.ingest.inbox import Inbox, Submission
from boomerang.users.models import Role
from tests.factories import make_user
from tests.ingest.intake_support import REPRO, good_batch, post, site, stored_ids
from tests.support import run_cli
from tests.web.test_ui import login, soup


def test_the_repro_then_a_thousand_events_all_stored(tmp_path: Path) -> None:
    """The issue's request, plain and gzipped, then 1,000 good events: every good one is in
    the event store after ``boomerang ingest flush`` (once: a traceback, nothing moved)."""
    with site(tmp_path) as s, TestClient(s.app) as client:
        plain = post(client, "/v1/batch", REPRO, s.key)
        assert plain.status_code == 400, plain.text
        assert [r["index"] for r in plain.json()["rejected"]] == [0, 1]
        assert all("as stored" in r["error"] for r in plain.json()["rejected"])
        zipped = gzip.compress(json.dumps(REPRO).encode())
        bomb = post(client, "/v1/batch", zipped, s.key, **{"Content-Encoding": "gzip"})
        assert bomb.status_code == 400 and "expands" in bomb.json()["error"], bomb.text
        for start in range(0, 1000, 100):
            sent = post(client, "/v1/batch", good_batch(start, 100), s.key)
            assert sent.status_code == 200 and sent.json()["accepted"] == 100, sent.text
    flushed = run_cli(["ingest", "flush"], env=s.env)
    assert flushed.returncode == 0, flushed.stderr
    assert "moved 1,000 events" in flushed.stdout
    assert stored_ids(s.store) == {f"good-{n}" for n in range(1000)}
    status = run_cli(["ingest", "status"], env=s.env)
    assert "pending (not yet in the event store): 0" in status.stdout
    assert "quarantined (stored but unreadable by the mover): 0" in status.stdout


def _old_row(message_id: str) -> tuple[object, ...]:
    """The issue's identify as the previous version stored it: the batch context and its
    traits merged in after the size check, ~480 KB of row."""
    row = list(
        segment.normalise(
            {"type": "identify", "userId": "p1", "messageId": message_id},
            call=None,
            received_at=datetime.now(UTC),
        )
    )
    context = REPRO["context"]
    assert isinstance(context, dict)
    row[segment.ROW_FIELDS.index("traits")] = orjson.dumps(context["traits"]).decode()
    row[segment.ROW_FIELDS.index("context")] = orjson.dumps(context).decode()
    return tuple(row)


def test_an_unreadable_row_is_quarantined_and_the_rest_moves(tmp_path: Path) -> None:
    """An inbox an older version filled: the oversize row is set aside with its reason, the
    1,000 events around it are stored, status reports it, a replay keeps it."""
    with site(tmp_path) as s:
        inbox = Inbox(s.settings.inbox_path)
        good = segment.parse(good_batch(0, 1000), call="batch", received_at=datetime.now(UTC))
        inbox.store([Submission(good.rows[:900], [], None)])
        inbox.store([Submission([_old_row("too-big")], [], "wk_old")])
        inbox.store([Submission(good.rows[900:], [], None)])
        inbox.close()

        flushed = run_cli(["ingest", "flush"], env=s.env)
        assert flushed.returncode == 0, flushed.stderr
        assert "moved 1,000 events" in flushed.stdout
        assert stored_ids(s.store) == {f"good-{n}" for n in range(1000)}

        status = run_cli(["ingest", "status"], env=s.env)
        assert status.returncode == 0, status.stderr
        assert "pending (not yet in the event store): 0" in status.stdout
        assert "quarantined (stored but unreadable by the mover): 1" in status.stdout
        assert "too-big" in status.stdout and "stored row is" in status.stdout

        replay = run_cli(["ingest", "replay-quarantine"], env=s.env)
        assert replay.returncode == 0, replay.stderr
        assert (
            "0 rows back in the inbox" in replay.stdout and "1 still quarantined" in replay.stdout
        )
        with sqlite3.connect(s.settings.inbox_path) as conn:
            kept = conn.execute("SELECT message_id, length(payload) FROM quarantine").fetchall()
        assert [k[0] for k in kept] == ["too-big"] and kept[0][1] > 400_000


def test_replay_moves_the_rows_that_pass_again(tmp_path: Path) -> None:
    """Rows an earlier reader set aside but that pass today's checks go back and are
    stored; one that still fails stays, with today's reason."""
    with site(tmp_path) as s:
        ok = segment.normalise(
            {"type": "track", "userId": "u", "event": "E", "messageId": "fine-now"},
            call=None,
            received_at=datetime.now(UTC),
        )
        blank = {**dict(zip(segment.ROW_FIELDS, ok, strict=True)), "message_id": "blank-group"}
        blank["group_id"] = "   "  # stored before blank ids were refused
        Inbox(s.settings.inbox_path).close()  # creates the file and its tables
        with sqlite3.connect(s.settings.inbox_path) as conn:
            for payload in (dict(zip(segment.ROW_FIELDS, ok, strict=True)), blank):
                conn.execute(
                    "INSERT INTO quarantine (at, seq, message_id, write_key_id, payload, reason) "
                    "VALUES (?, 0, ?, NULL, ?, 'an earlier reader failed')",
                    (time.time_ns() // 1000, payload["message_id"], orjson.dumps(payload)),
                )
        replay = run_cli(["ingest", "replay-quarantine"], env=s.env)
        assert replay.returncode == 0, replay.stderr
        assert (
            "1 rows back in the inbox" in replay.stdout and "1 still quarantined" in replay.stdout
        )
        assert run_cli(["ingest", "flush"], env=s.env).returncode == 0
        assert stored_ids(s.store) == {"fine-now"}
        status = run_cli(["ingest", "status"], env=s.env).stdout
        assert "quarantined (stored but unreadable by the mover): 1" in status
        assert "blank-group" in status and "groupId is blank" in status


def test_the_data_sources_page_shows_the_quarantine(client: TestClient, session: Session) -> None:
    inbox = client.app.state.ingest.inbox  # type: ignore[attr-defined]
    good = segment.parse(good_batch(0, 3), call="batch", received_at=datetime.now(UTC))
    inbox.store([Submission([*good.rows, _old_row("too-big")], [], None)])
    batch = inbox.read_pending(limit=100)
    assert batch is not None and batch.table.num_rows == 3
    login(client, make_user(session, Role.admin))
    html = soup(client.get("/admin/data-sources").text)
    assert "1 stored rows" in html.select_one("#quarantined").text
    row = html.select_one("#quarantine tbody tr")
    assert "too-big" in row.text and "stored row is" in row.text
