"""The tokens of emailed and shared links stay out of uvicorn's access log: on records
shaped as uvicorn writes them, and from a real ``boomerang serve`` process."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from logging.handlers import BufferingHandler
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI

from boomerang.app import create_app
from boomerang.config import Settings
from boomerang.web.access_log import ACCESS_LOGGER, RedactTokens, install
from tests.ingest.test_live import _free_port

UVICORN_FORMAT = '%s - "%s %s HTTP/%s" %d'  # uvicorn.protocols.http.*_impl


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The real app (its routes are what matters here; no database is opened)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("var"), secret_key="a" * 40)
    return create_app(settings, background=False)


def _redactor() -> RedactTokens:
    [redactor] = [
        f for f in logging.getLogger(ACCESS_LOGGER).filters if isinstance(f, RedactTokens)
    ]
    return redactor


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/s/eyJyIjoicmNwXzEifQ.Zx9?score=9", "/s/…?score=9"),
        ("/u/eyJjIjoiY29uXzEifQ.abc", "/u/…"),
        ("/digests/opt-out/eyJzIjoiMSJ9.q", "/digests/opt-out/…"),
        ("/shared/plans/eyJwIjoicGxuXzEifQ.t.s", "/shared/plans/…"),
        ("/api/v1/surveys/respond/eyJyIjoiMSJ9.x", "/api/v1/surveys/respond/…"),
        ("/accounts/acc_123?tab=usage", "/accounts/acc_123?tab=usage"),
        ("/login?next=%2Faccounts&token=abc&x=1", "/login?next=%2Faccounts&token=…&x=1"),
        ("/v1/batch?writeKey=bwk_secret", "/v1/batch?writeKey=…"),
        ("/x?API_KEY=k&signature=s&access_token=t", "/x?API_KEY=…&signature=…&access_token=…"),
        ("/s/", "/s/"),
    ],
)
def test_access_records_lose_their_tokens(app: FastAPI, target: str, logged: str) -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    assert any(isinstance(f, RedactTokens) for f in logger.filters)  # installed by create_app
    captured = BufferingHandler(capacity=10)
    level = logger.level
    logger.addHandler(captured)
    logger.setLevel(logging.INFO)
    try:
        logger.info(UVICORN_FORMAT, "127.0.0.1:50412", "GET", target, "1.1", 200)
    finally:
        logger.removeHandler(captured)
        logger.setLevel(level)
    [record] = captured.buffer
    assert record.getMessage() == f'127.0.0.1:50412 - "GET {logged} HTTP/1.1" 200'


def test_every_token_route_is_found(app: FastAPI) -> None:
    assert set(_redactor().patterns) >= {
        "/s/{token}",
        "/u/{token}",
        "/digests/opt-out/{token}",
        "/shared/plans/{token}",
        "/api/v1/surveys/respond/{token}",
    }
    router = APIRouter(prefix="/t")  # a route added later is covered too
    router.add_api_route("/{invite_token}/accept", lambda: None)
    other = FastAPI()
    other.include_router(router)
    assert install(other) is _redactor()
    assert _redactor().redact("/t/abc.def/accept?x=1") == "/t/…/accept?x=1"


def test_other_records_pass_unchanged(app: FastAPI) -> None:
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, "x", 1, "%s", ("/s/abc",), None)
    assert _redactor().filter(record) and record.args == ("/s/abc",)


def test_serve_logs_no_token_and_prints_no_demo_password(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env.update(
        BOOMERANG_DATA_DIR=str(tmp_path / "var"),
        BOOMERANG_LOG_LEVEL="info",
        BOOMERANG_HEALTH_SCHEDULE="false",
        PYTHONUNBUFFERED="1",
    )
    (tmp_path / "var").mkdir()
    password = "Demo-Password-4f9c2"
    login_file = tmp_path / "var" / "demo-login.txt"
    login_file.write_text(f"Log in at http://127.0.0.1:8000/login\n  password: {password}\n")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "boomerang", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_and_get(proc, port, "/healthz")
        for path in ("/s/SURVEYSECRET?score=9", "/u/UNSUBSECRET", "/shared/plans/PLANSECRET"):
            _wait_and_get(proc, port, path)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0].decode()
    assert f"demo login: see {login_file}\n" in output
    assert password not in output
    assert '"GET /s/…?score=9 HTTP/1.1" 400' in output, output
    assert '"GET /u/… HTTP/1.1"' in output and '"GET /shared/plans/… HTTP/1.1"' in output
    for secret in ("SURVEYSECRET", "UNSUBSECRET", "PLANSECRET"):
        assert secret not in output


def _wait_and_get(proc: subprocess.Popen[bytes], port: int, path: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).close()
            return
        except urllib.error.HTTPError:
            return  # answered (a forged token is a 400 or 410 page)
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
