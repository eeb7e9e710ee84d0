"""Helpers the intake tests share: an app of its own (its own SQLite store and data dir, so
that the CLI can run against the same files), requests, and the issue's repro."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from boomerang.app import create_app
from boomerang.config import Settings
from boomerang.db import engine_from_settings, session_factory
from boomerang.events.store import EventStore
from boomerang.ingest import service as ingest_service
from boomerang.schema import migrate

SECRET = "i" * 16 + "ntake-test" * 4

REPRO = {
    "batch": [{"type": "identify", "userId": "p1"}, {"type": "identify", "userId": "p2"}],
    "context": {"traits": {"note": '"' * 240_000}},
}
"""Issue 23's request: ~600 bytes gzipped, 480 KB of JSON (each quotation mark escaped), and
once the context was merged into each identify, and its traits copied, two ~2 MB rows (the
escaping doubled again in the row), too large for the mover's JSON reader."""


def auth(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def post(client: TestClient, path: str, body: Any, key: str | None, **headers: str) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    every = {"Content-Type": "application/json", **(auth(key) if key else {}), **headers}
    return client.post(path, content=data, headers=every)


def good_batch(start: int, count: int, prefix: str = "good") -> dict[str, Any]:
    """``count`` valid track / identify / page messages with ids ``prefix-<n>``."""
    batch: list[dict[str, Any]] = []
    for n in range(start, start + count):
        kind = ("track", "identify", "page")[n % 3]
        msg: dict[str, Any] = {"type": kind, "userId": f"u{n % 17}", "messageId": f"{prefix}-{n}"}
        if kind == "track":
            msg |= {"event": "Report Built", "properties": {"n": n}}
        batch.append(msg)
    return {"batch": batch}


def stored_ids(store: EventStore) -> set[str]:
    if store.is_empty():
        return set()
    con = duckdb.connect()
    rows = con.execute("SELECT message_id FROM read_parquet(?)", [store.glob]).fetchall()
    return {r[0] for r in rows}


@dataclass
class Site:
    """An app with its own data dir and SQLite store, and a committed write key."""

    settings: Settings
    engine: Engine
    app: FastAPI
    key: str

    @property
    def env(self) -> dict[str, str]:
        """The environment a ``boomerang`` command needs to work on the same files."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
        return {
            **clean,
            "BOOMERANG_DATA_DIR": str(self.settings.data_dir),
            "BOOMERANG_SECRET_KEY": SECRET,
            "COLUMNS": "200",
        }

    @property
    def store(self) -> EventStore:
        return EventStore(self.settings.events_dir)


@contextmanager
def site(tmp_path: Path) -> Iterator[Site]:
    settings = Settings(data_dir=tmp_path / "var", secret_key=SECRET)
    engine = engine_from_settings(settings)
    migrate(engine)
    with session_factory(engine).begin() as session:
        _, key = ingest_service.create_key(session=session, name="intake")
    try:
        yield Site(settings, engine, create_app(settings, engine=engine, background=False), key)
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: FastAPI) -> Iterator[int]:
    """``app`` behind a real HTTP server (uvicorn) on loopback; yields its port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def asgi_post(app: Any, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
    """One request handed to the app as an ASGI server hands it, headers byte for byte (an
    HTTP client would fix up Content-Length; h11 refuses some bytes itself, others pass)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower(), v) for k, v in headers],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    text = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(text)
