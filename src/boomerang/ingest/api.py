"""The Segment-compatible HTTP Tracking API: ``POST /v1/{batch,identify,track,...}``.

Unmodified Segment (and RudderStack) client libraries work against it: point their host at
Boomerang and give them a write key from ``boomerang keys create``. A 200 means every
accepted message is durably stored (see :mod:`boomerang.ingest.inbox`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from boomerang.config import Settings
from boomerang.ingest import segment
from boomerang.ingest import service as ingest_service
from boomerang.ingest.flush import Housekeeper, Mover
from boomerang.ingest.inbox import Inbox
from boomerang.ingest.writer import Overloaded, Writer
from boomerang.uow import Transaction

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["tracking"])

KEY_CACHE_SECONDS = 5.0
DRAIN_BYTES = 8 * 1024 * 1024
"""An oversize body is still read (and dropped) up to this size before the 400, so that the
client reads the answer instead of a connection reset; past it the connection is cut."""
_CALLS = ("batch", *segment.CALL_TYPES)


class KeyCache:
    """Write-key lookups, cached for a few seconds (a revoked key stops working within
    :data:`KEY_CACHE_SECONDS`), and when each key was last used."""

    def __init__(self, opener: Transaction) -> None:
        self.opener = opener
        self._cache: dict[str, tuple[str | None, float]] = {}
        self._used: dict[str, datetime] = {}
        self._lock = threading.Lock()

    async def lookup(self, secret: str) -> str | None:
        """The id of the active key ``secret``, or None; the database only on a cache miss."""
        now = time.monotonic()
        hit = self._cache.get(secret)
        if hit is not None and hit[1] > now:
            key_id = hit[0]
        else:
            key_id = await run_in_threadpool(self._load, secret)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[secret] = (key_id, now + KEY_CACHE_SECONDS)
        if key_id is not None:
            with self._lock:
                self._used[key_id] = datetime.now(UTC)
        return key_id

    def _load(self, secret: str) -> str | None:
        with self.opener() as session:
            key = ingest_service.key_for_secret(session=session, secret=secret)
            return key.id if key else None

    def drain_usage(self) -> dict[str, datetime]:
        with self._lock:
            used, self._used = self._used, {}
        return used


class Ingest:
    """The tracking API's parts in one process: inbox, writer thread, background worker."""

    def __init__(
        self, *, settings: Settings, transaction: Transaction, read: Transaction | None = None
    ) -> None:
        self.inbox = Inbox(settings.inbox_path, dedup_hours=settings.ingest_dedup_hours)
        self.writer = Writer(self.inbox, max_pending=settings.ingest_max_pending)
        self.keys = KeyCache(read or transaction)  # lookups only read: never the write lock
        self.mover = Mover(settings)
        self.housekeeper = Housekeeper(
            inbox=self.inbox,
            transaction=transaction,
            interval=settings.ingest_flush_seconds,
            key_usage=self.keys.drain_usage,
        )
        self._background = False

    def start(self, *, background: bool = True) -> None:
        """Start the writer; with ``background``, the mover process and housekeeping too."""
        self.writer.start()
        if background:
            self._background = True
            self.mover.start()
            self.housekeeper.start()

    def stop(self) -> None:
        """Store what was submitted, let the mover move it, and stop."""
        self.writer.stop()
        if self._background:
            self.mover.stop()
            self.housekeeper.stop()
        self.inbox.close()


_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    429: "rate_limited",
    503: "unavailable",
}


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    """An error as both client families read it: Segment's ``success``/``error`` and the
    ``code``/``message`` RudderStack's client needs to see a 4xx as final (without them it
    retried a 400 ten times)."""
    headers = {"Retry-After": str(extra.pop("retry_after"))} if "retry_after" in extra else None
    if status == 401:
        headers = {"WWW-Authenticate": 'Basic realm="boomerang tracking"'}
    body = {"success": False, "error": message, "code": _CODES[status], "message": message}
    return JSONResponse({**body, **extra}, status_code=status, headers=headers)


def _basic_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, _ = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, ValueError):  # not base64, not ASCII (ValueError), not UTF-8
        return ""
    return user


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing one larger than ``limit``: read to its end all the same (up
    to :data:`DRAIN_BYTES`), so that the client, still sending, gets the answer rather than
    a connection reset."""
    length = request.headers.get("content-length", "")
    declared = int(length) if length.isascii() and length.isdigit() else None
    if declared is not None and declared > DRAIN_BYTES:
        raise segment.RequestInvalid(f"request body is {declared:,} bytes; the limit is {limit:,}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > DRAIN_BYTES:
            break
        if size <= limit:
            chunks.append(chunk)
    if size > DRAIN_BYTES:
        raise segment.RequestInvalid(f"request body exceeds the limit of {limit:,} bytes")
    if size > limit:
        raise segment.RequestInvalid(f"request body is {size:,} bytes; the limit is {limit:,}")
    return b"".join(chunks)


async def _note(ingest: Ingest, rejections: list[segment.Rejection], key_id: str | None) -> None:
    """Keep refusals that store nothing for ``ingest status`` (best effort: the client
    gets its 400 whether or not the note is written)."""
    try:
        await asyncio.wrap_future(ingest.writer.submit((), rejections, key_id))
    except Overloaded:  # the count is lost, not the answer
        log.warning("ingest: overloaded; %d rejections not recorded", len(rejections))
    except Exception:  # the writer logged why the inbox could not be written
        log.warning("ingest: %d rejections not recorded", len(rejections))


async def _refuse_request(request: Request, reason: str) -> JSONResponse:
    """A 400 for the whole request, noted for its write key when it sent a valid one."""
    ingest: Ingest = request.app.state.ingest
    secret = _basic_key(request)
    key_id = await ingest.keys.lookup(secret) if secret else None
    if key_id is not None:
        await _note(ingest, [segment.Rejection(0, None, reason)], key_id)
    return _error(400, reason)


async def _parse(call: str, request: Request) -> tuple[dict[str, Any], str] | JSONResponse:
    """The request's body and write key id, or the response refusing it."""
    ingest: Ingest = request.app.state.ingest
    limit = segment.MAX_BATCH_BYTES if call == "batch" else segment.MAX_MESSAGE_BYTES
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    try:
        raw = await _read_body(request, limit)
        if content_type.lower() not in ("application/json", "text/plain", ""):
            raise segment.RequestInvalid(
                f"Content-Type must be application/json, not {segment.shown(content_type)}"
            )
        body = segment.decode_body(
            raw, content_encoding=request.headers.get("content-encoding"), limit=limit
        )
    except segment.RequestInvalid as exc:
        return await _refuse_request(request, str(exc))
    secret = _basic_key(request) or body.get("writeKey")
    if not isinstance(secret, str) or not secret:
        return _error(
            401, "missing write key: send HTTP Basic auth with the write key as user name"
        )
    key_id = await ingest.keys.lookup(secret)
    if key_id is None:
        return _error(401, "invalid or revoked write key")
    return body, key_id


async def ingest_call(call: str, request: Request) -> JSONResponse:
    ingest: Ingest = request.app.state.ingest
    received_at = datetime.now(UTC)
    parsed_request = await _parse(call, request)
    if isinstance(parsed_request, JSONResponse):
        return parsed_request
    body, key_id = parsed_request
    try:
        parsed = segment.parse(body, call=call, received_at=received_at)
    except segment.RequestInvalid as exc:
        await _note(ingest, [segment.Rejection(0, None, str(exc))], key_id)
        return _error(400, str(exc))
    rejected = [r.as_dict() for r in parsed.rejections]
    if not parsed.rows:
        if not parsed.rejections:  # an empty batch
            return JSONResponse({"success": True, "accepted": 0, "duplicates": 0, "rejected": []})
        await _note(ingest, parsed.rejections, key_id)
        first = rejected[0]["error"]
        reason = first if call != "batch" else f"no valid message (the first refused: {first})"
        return _error(400, reason, rejected=rejected)
    try:
        future = ingest.writer.submit(parsed.rows, parsed.rejections, key_id)
    except Overloaded as exc:
        return _error(429, str(exc), retry_after=exc.retry_after)
    try:
        outcome = await asyncio.wrap_future(future)
    except Exception:  # the client library retries on 5xx; nothing was acknowledged
        return _error(503, "the event inbox could not store this request; retry", retry_after=1)
    return JSONResponse(
        {
            "success": True,
            "accepted": outcome.accepted,
            "duplicates": outcome.duplicates,
            "rejected": rejected,
        }
    )


def _route(call: str) -> None:
    async def endpoint(request: Request) -> JSONResponse:
        return await ingest_call(call, request)

    endpoint.__name__ = f"tracking_{call}"
    endpoint.__doc__ = (
        f"Segment `{call}`: one batch of messages (500 KB, 2,500 messages)."
        if call == "batch"
        else f"Segment `{call}` call (32 KB)."
    )
    router.add_api_route(f"/{call}", endpoint, methods=["POST"], response_class=JSONResponse)


for _call in _CALLS:
    _route(_call)
