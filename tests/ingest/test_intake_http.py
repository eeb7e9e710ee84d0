"""Issue 23 behind a real HTTP server (uvicorn on loopback): RudderStack's own client, and
a client still sending an oversize body when the answer comes."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from boomerang.ingest import segment
from boomerang.ingest.inbox import Inbox
from tests.ingest.intake_support import auth, serving, site


def test_rudderstack_client_takes_a_400_as_final(tmp_path: Path) -> None:
    """Its client raises ``APIError(status, body["code"], body["message"])``: without those
    keys a KeyError, which its backoff retried (ten times by default) as a network error."""
    from rudderstack.analytics.client import Client
    from rudderstack.analytics.request import APIError

    errors: list[Exception] = []
    with site(tmp_path) as s, serving(s.app) as port:
        client = Client(
            write_key=s.key,
            host=f"http://127.0.0.1:{port}",
            on_error=lambda e, batch: errors.append(e),
            max_retries=3,
            upload_interval=0.05,
        )
        client.track("u-1", "Report Built", timestamp=datetime(2201, 1, 1, tzinfo=UTC))
        client.flush()
        client.join()
    assert len(errors) == 1 and isinstance(errors[0], APIError), errors
    assert errors[0].status == 400 and errors[0].code == "invalid_request"
    assert "is after 2200" in errors[0].message
    inbox = Inbox(s.settings.inbox_path)
    try:  # one request: it was not retried
        assert sum(m.rejected for m in inbox.minutes(since=datetime(2000, 1, 1, tzinfo=UTC))) == 1
    finally:
        inbox.close()


def _exchange(port: int, head: bytes, body: bytes) -> bytes:
    """Send a whole request, then read the whole answer, as a simple client does."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head)
        for start in range(0, len(body), 64 * 1024):
            conn.sendall(body[start : start + 64 * 1024])
            time.sleep(0.001)  # a client on a real network: the answer may come meanwhile
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer:
                headers, _, rest = answer.partition(b"\r\n\r\n")
                length = int(headers.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                if len(rest) >= length:
                    break
        return answer


def test_an_oversize_body_gets_its_400_not_a_reset(tmp_path: Path) -> None:
    """Once refused on its Content-Length before being read: the server closed with the
    body unread and the client, still sending, got a connection reset, no answer."""
    with site(tmp_path) as s, serving(s.app) as port:
        payload: dict[str, Any] = {
            "batch": [
                {"type": "track", "userId": "u", "event": "E", "properties": {"p": "x" * 1000}}
            ]
            * 2000
        }
        body = json.dumps(payload).encode()
        assert segment.MAX_BATCH_BYTES < len(body) < 4 * 1024 * 1024
        head = (
            b"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Authorization: {auth(s.key)['Authorization']}\r\n".encode()
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        answer = _exchange(port, head, body)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 400"), answer[:300]
    refused = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert refused["code"] == "invalid_request"
    assert refused["error"] == f"request body is {len(body):,} bytes; the limit is 512,000"
