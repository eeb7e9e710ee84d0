"""The tracking API behind a real HTTP server: the official Segment Python client, and a
server killed with SIGKILL in the middle of a load."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import uvicorn
from bs4 import BeautifulSoup
from sqlalchemy import select

from boomerang.accounts.models import Account, Contact
from boomerang.app import create_app
from boomerang.config import Settings
from boomerang.db import engine_from_settings, session_factory
from boomerang.events.store import EventStore
from boomerang.ingest import service as ingest_service
from boomerang.schema import migrate
from boomerang.users.models import Role
from tests.factories import PASSWORD, make_user


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stored_ids(store: EventStore) -> list[str]:
    if store.is_empty():
        return []
    con = duckdb.connect()
    return [
        r[0] for r in con.execute("SELECT message_id FROM read_parquet(?)", [store.glob]).fetchall()
    ]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, str, Settings]]:
    settings = Settings(
        data_dir=tmp_path / "var", secret_key="l" * 16 + "ivetest" * 4, ingest_flush_seconds=0.2
    )
    engine = engine_from_settings(settings)
    migrate(engine)
    with session_factory(engine).begin() as session:
        _, key = ingest_service.create_key(session=session, name="segment-python")
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, engine=engine), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", key, settings
    server.should_exit = True
    thread.join(timeout=20)
    engine.dispose()


@pytest.mark.parametrize("use_gzip", [False, True])
def test_official_segment_client(live: tuple[str, str, Settings], use_gzip: bool) -> None:
    from segment.analytics.client import Client

    url, key, settings = live
    errors: list[Any] = []
    client = Client(
        write_key=key,
        host=url,
        gzip=use_gzip,
        on_error=lambda e, batch: errors.append(e),
        max_retries=2,
    )
    client.identify("peter", {"email": "peter@initech.example", "name": "Peter Gibbons"})
    client.group("peter", "initech", {"name": "Initech", "industry": "Software", "employees": 329})
    for i in range(250):
        client.track("peter", "Report Built", {"n": i})
    client.page("peter", "Docs", "Getting started", {"url": "https://initech.example/docs"})
    client.flush()
    client.join()
    assert errors == []

    store = EventStore(settings.events_dir)
    deadline = time.monotonic() + 20
    while len(_stored_ids(store)) < 253 and time.monotonic() < deadline:
        time.sleep(0.1)
    ids = _stored_ids(store)
    assert len(ids) == 253 and len(set(ids)) == 253

    con = duckdb.connect()
    by_type = dict(
        con.execute(
            "SELECT type, count(*) FROM read_parquet(?) WHERE group_id = 'initech' GROUP BY type",
            [store.glob],
        ).fetchall()
    )
    assert by_type == {"identify": 1, "group": 1, "track": 250, "page": 1}
    engine = engine_from_settings(settings)
    with session_factory(engine).begin() as session:
        account = session.scalar(select(Account).where(Account.external_id == "initech"))
        assert account is not None and account.name == "Initech"
        peter = session.scalar(select(Contact).where(Contact.external_id == "peter"))
        assert peter is not None and peter.account_id == account.id
        assert peter.email == "peter@initech.example"
        account_id = account.id
        make_user(session, Role.csm, email="casey@example.com")
    engine.dispose()

    # The running server shows them on the account page, without a restart.
    import requests

    browser = requests.Session()
    form = BeautifulSoup(browser.get(f"{url}/login").text, "html.parser")
    field = form.find("input", attrs={"name": "csrf_token"})
    assert field is not None
    token = field["value"]
    browser.post(
        f"{url}/login",
        data={"email": "casey@example.com", "password": PASSWORD, "csrf_token": token},
    )
    page = BeautifulSoup(browser.get(f"{url}/accounts/{account_id}").text, "html.parser")
    usage = page.select_one("#usage").text
    assert "253" in usage and "Report Built (250)" in usage
    assert "Peter Gibbons" in page.select_one("#contacts").text
    assert "Account created from product data" in page.select_one("#timeline").text


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "boomerang", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    proc.stderr.read().decode() if proc.stderr else "no server"
                ) from None
            time.sleep(0.1)


def _send(port: int, key: str, batch: list[dict[str, Any]]) -> bool:
    body = json.dumps({"batch": batch, "writeKey": key}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/batch", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return bool(response.status == 200)
    except (OSError, urllib.error.HTTPError):
        return False


def test_sigkill_loses_no_acknowledged_event_and_duplicates_none(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env.update(
        BOOMERANG_DATA_DIR=str(tmp_path / "var"),
        BOOMERANG_INGEST_FLUSH_SECONDS="0.3",
        BOOMERANG_LOG_LEVEL="warning",
    )
    subprocess.run(
        [sys.executable, "-m", "boomerang", "init"], env=env, check=True, capture_output=True
    )
    made = subprocess.run(
        [sys.executable, "-m", "boomerang", "keys", "create", "--name", "load"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = made.stdout.strip().splitlines()[-1]
    batches = [
        [
            {
                "type": "track",
                "userId": f"u{b % 7}",
                "event": "Clicked",
                "messageId": f"m-{b}-{i}-{uuid.uuid4().hex[:6]}",
            }
            for i in range(50)
        ]
        for b in range(400)
    ]
    acked: set[str] = set()
    port = _free_port()
    for kill_after in (0.8, 1.5):
        proc = _serve(env, port)
        sent = threading.Event()
        stop = threading.Event()

        def load(stop: threading.Event = stop, sent: threading.Event = sent) -> None:
            for batch in batches:
                if stop.is_set():
                    return
                if _send(port, key, batch):
                    acked.update(m["messageId"] for m in batch)
                sent.set()

        workers = [threading.Thread(target=load) for _ in range(3)]
        for w in workers:
            w.start()
        sent.wait(30)
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        for w in workers:
            w.join()
    assert acked, "the load never got an answer before the kill"

    # Restart: everything acknowledged before the kills is stored, once.
    store = EventStore(tmp_path / "var" / "events")
    proc = _serve(env, port)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    ids = _stored_ids(store)
    assert len(ids) == len(set(ids)), "an event was stored twice"
    assert acked <= set(ids), f"{len(acked - set(ids))} acknowledged events were lost"

    # Like the client libraries, re-send what may not have arrived (here: every batch).
    proc = _serve(env, port)
    try:
        for batch in batches:
            assert _send(port, key, batch)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    ids = _stored_ids(store)
    assert len(ids) == len(set(ids)), "an event was stored twice"
    assert set(ids) == {m["messageId"] for batch in batches for m in batch}
