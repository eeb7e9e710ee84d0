"""`boomerang hooks` and a signed delivery to a real `boomerang serve` over HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from boomerang.webhooks.service import SIGNATURE_HEADER, sign
from tests.support import run_cli


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env=env)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(port: int, source: str, secret: str, payload: dict[str, Any]) -> tuple[int, Any]:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/hooks/{source}",
        data=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, body, int(time.time())),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_hooks_commands_and_a_delivery_over_real_http(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env = {**clean, "BOOMERANG_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    assert _run(env, "init").returncode == 0
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("external_id,name\nacme,Acme\n")
    assert _run(env, "import", "accounts", str(accounts)).returncode == 0
    r = _run(env, "hooks", "create", "--name", "zendesk", "--kind", "tickets")
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    r = _run(env, "hooks", "create", "--name", "zendesk", "--kind", "tickets")
    assert r.returncode == 1 and "exists already" in r.stderr
    r = _run(env, "hooks", "create", "--name", "Bad Name!", "--kind", "tickets")
    assert r.returncode == 1 and "name:" in r.stderr
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "boomerang", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        delivery: dict[str, Any] = {
            "id": "evt_live",
            "type": "ticket.created",
            "data": {
                "id": "Z-9",
                "account": "acme",
                "subject": "Cannot log in",
                "priority": "urgent",
                "created_at": "2026-11-24T08:00:00Z",
            },
        }
        assert _post(port, "zendesk", secret, delivery) == (
            200,
            {"status": "applied", "event_id": "evt_live", "type": "ticket.created"},
        )
        assert _post(port, "zendesk", secret, delivery)[1]["status"] == "duplicate"
        r = _run(env, "hooks", "rotate", "zendesk")
        assert r.returncode == 0
        new_secret = r.stdout.strip().splitlines()[-1]
        delivery["id"] = "evt_live_2"
        assert _post(port, "zendesk", new_secret, delivery)[0] == 200
        assert _post(port, "zendesk", secret, delivery | {"id": "evt_3"})[0] == 200  # grace
        assert _run(env, "hooks", "revoke", "zendesk").returncode == 0
        assert _post(port, "zendesk", new_secret, delivery | {"id": "evt_4"})[0] == 404
        r = _run(env, "hooks", "list")
        assert "zendesk" in r.stdout and "tickets" in r.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
    r = _run(env, "status")
    assert "│ tickets          │ 1 " in r.stdout
