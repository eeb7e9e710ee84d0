"""The Segment tracking spec: request bodies in, validated event rows out.

Pure functions, no I/O, so that the HTTP API, tests and the benchmark's "no HTTP" ceiling
share them. Semantics follow Segment's documentation (``../shared/data/segment_spec_examples``):

- ``userId`` or ``anonymousId`` on every call but ``alias`` (which needs ``userId`` and
  ``previousId``); ``event`` on ``track``; ``groupId`` on ``group``.
- ``timestamp = receivedAt - (sentAt - originalTimestamp)`` when the client sent ``sentAt``
  (clock-skew correction); otherwise the client's timestamp, or ``receivedAt``.
- A batch's top-level ``context`` and ``integrations`` are merged into each message (the
  message's own keys win).

Limits (each refusal names the limit): 32 KB per message *as stored*, that is after the
batch's ``context`` / ``integrations`` are merged in (a message over it is refused, the rest
of its batch kept), 8,000 KB stored per request, 500 KB per batch request and 32 KB per single
call (after gzip decompression, which also stops at a 100:1 expansion), 2,500 messages per
batch, 32 levels of nesting, times within 1970-01-01..2200-12-31 UTC, identifiers not blank.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

MAX_MESSAGE_BYTES = 32 * 1024
"""A message as stored: its objects' JSON (batch context merged in) and its identifiers."""
MAX_BATCH_BYTES = 500 * 1024
MAX_STORED_BATCH_BYTES = 16 * MAX_BATCH_BYTES
"""What one request may store in all, once the batch's context is merged into each message."""
MAX_GZIP_RATIO = 100
"""A gzip body may expand at most this many times (past the first :data:`RATIO_FLOOR`)."""
RATIO_FLOOR = 64 * 1024
MAX_BATCH_MESSAGES = 2500
MAX_DEPTH = 32
"""Levels of nesting in a message, the message object being the first."""
MAX_ID_LENGTH = 200
MAX_FUTURE = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LAST_TIME = datetime(2200, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
TIME_RANGE = "1970-01-01..2200-12-31 UTC"

CALL_TYPES = ("identify", "track", "page", "screen", "group", "alias")

# Columns of a row as the inbox keeps it; timestamps are microseconds since the epoch.
ROW_FIELDS = (
    "message_id",
    "type",
    "event",
    "name",
    "user_id",
    "anonymous_id",
    "group_id",
    "previous_id",
    "timestamp",
    "original_timestamp",
    "sent_at",
    "received_at",
    "properties",
    "traits",
    "context",
    "integrations",
)
Row = tuple[Any, ...]
"""One accepted message: values in :data:`ROW_FIELDS` order."""
JSONObject = dict[str, Any]


class RequestInvalid(Exception):
    """The whole request is unusable (bad JSON, too large, wrong shape): a 400."""


class MessageInvalid(Exception):
    """One message breaks the spec; the rest of its batch still counts."""


@dataclass(frozen=True)
class Rejection:
    """Why message ``index`` of a request was refused."""

    index: int
    message_id: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "messageId": self.message_id, "error": self.reason}


@dataclass
class Parsed:
    """A request after validation: the rows to store and the messages refused."""

    write_key: str | None
    rows: list[Row] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def decode_body(raw: bytes, *, content_encoding: str | None, limit: int) -> dict[str, Any]:
    """The JSON object in ``raw`` (gzip allowed), refusing anything larger than ``limit``."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        raw = _gunzip(raw, limit=limit)
    elif encoding not in ("", "identity"):
        raise RequestInvalid(f"unsupported Content-Encoding {shown(content_encoding)}: use gzip")
    if len(raw) > limit:
        raise RequestInvalid(f"request body is {len(raw):,} bytes; the limit is {limit:,}")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestInvalid(f"invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise RequestInvalid(f"the body must be a JSON object, not {_json_type(body)}")
    return body


def _gunzip(raw: bytes, *, limit: int) -> bytes:
    """Decompress at most ``limit + 1`` bytes, so that a zip bomb costs nothing, and refuse
    a body that expands more than :data:`MAX_GZIP_RATIO` times. Concatenated gzip members
    are one body, as gzip(1) reads them."""
    out = bytearray()
    data = raw
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error as exc:
            raise RequestInvalid(f"Content-Encoding is gzip but the body is not: {exc}") from None
        if len(out) > limit:
            raise RequestInvalid(f"decompressed gzip body exceeds the limit of {limit:,} bytes")
        if not inflater.eof:
            raise RequestInvalid("gzip body is truncated")
        data = inflater.unused_data
        if not data.strip(b"\0"):  # nothing more, or the zero padding some tools add
            break
    if len(out) > max(RATIO_FLOOR, MAX_GZIP_RATIO * len(raw)):
        raise RequestInvalid(
            f"gzip body expands {len(out) // len(raw):,} times ({len(raw):,} bytes to "
            f"{len(out):,}); the limit is {MAX_GZIP_RATIO}:1"
        )
    return bytes(out)


def parse(body: dict[str, Any], *, call: str, received_at: datetime) -> Parsed:
    """Validate a request to ``/v1/{call}`` (``call`` is a type or ``batch``)."""
    write_key = body.get("writeKey")
    parsed = Parsed(write_key=write_key if isinstance(write_key, str) else None)
    if call != "batch":
        try:
            row, _ = _normalised(
                body, call=call, received_at=received_at, sent_at=body.get("sentAt")
            )
            parsed.rows.append(row)
        except MessageInvalid as exc:
            parsed.rejections.append(Rejection(0, _message_id_of(body), str(exc)))
        return parsed
    items, shared_context, shared_integrations = _batch_parts(body)
    batch_sent_at = body.get("sentAt")
    budget = MAX_STORED_BATCH_BYTES
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise MessageInvalid(f"a message must be a JSON object, not {_json_type(item)}")
            row, size = _normalised(
                item,
                call=None,
                received_at=received_at,
                sent_at=item.get("sentAt", batch_sent_at),
                shared_context=shared_context,
                shared_integrations=shared_integrations,
            )
            if size > budget:
                raise MessageInvalid(
                    f"the batch's messages exceed {MAX_STORED_BATCH_BYTES:,} bytes with its "
                    "context merged into each: send fewer messages per batch"
                )
            budget -= size
            parsed.rows.append(row)
        except MessageInvalid as exc:
            parsed.rejections.append(Rejection(index, _message_id_of(item), str(exc)))
    return parsed


def _batch_parts(body: dict[str, Any]) -> tuple[list[Any], JSONObject | None, JSONObject | None]:
    """A batch's messages and its shared ``context`` and ``integrations``, checked."""
    items = body.get("batch")
    if not isinstance(items, list):
        raise RequestInvalid("'batch' must be an array of messages")
    if len(items) > MAX_BATCH_MESSAGES:
        raise RequestInvalid(
            f"'batch' has {len(items):,} messages; the limit is {MAX_BATCH_MESSAGES:,}"
        )
    shared: list[JSONObject | None] = []
    for key in ("context", "integrations"):
        value = body.get(key)
        if value is not None and not isinstance(value, dict):
            raise RequestInvalid(f"batch '{key}' must be an object")
        if value is not None and too_deep(value, MAX_DEPTH - 1):  # a message's level 2
            raise RequestInvalid(f"batch '{key}' is nested deeper than {MAX_DEPTH} levels")
        shared.append(value)
    return items, shared[0], shared[1]


def normalise(
    msg: dict[str, Any],
    *,
    call: str | None,
    received_at: datetime,
    sent_at: Any = None,
    shared_context: dict[str, Any] | None = None,
    shared_integrations: dict[str, Any] | None = None,
) -> Row:
    """One message as an inbox row, or MessageInvalid naming the field at fault."""
    row, _ = _normalised(
        msg,
        call=call,
        received_at=received_at,
        sent_at=sent_at,
        shared_context=shared_context,
        shared_integrations=shared_integrations,
    )
    return row


def _normalised(
    msg: dict[str, Any],
    *,
    call: str | None,
    received_at: datetime,
    sent_at: Any = None,
    shared_context: dict[str, Any] | None = None,
    shared_integrations: dict[str, Any] | None = None,
) -> tuple[Row, int]:
    """:func:`normalise`, and the message's size as stored (checked against the limit)."""
    if too_deep(msg, MAX_DEPTH):
        raise MessageInvalid(f"nested deeper than {MAX_DEPTH} levels")
    kind = _kind(msg, call)
    user_id, anonymous_id, previous_id = _identities(msg, kind)
    event = _event(msg, kind)
    name = msg.get("name")
    if name is not None and not isinstance(name, str):
        raise MessageInvalid("name: must be a string")
    context, integrations, properties, traits = _objects(
        msg, kind, shared_context=shared_context, shared_integrations=shared_integrations
    )
    group_id = _group_id(msg, kind, context)
    original = _time(msg.get("timestamp", msg.get("originalTimestamp")), "timestamp")
    sent = _time(sent_at, "sentAt")
    timestamp = _timestamp(original=original, sent=sent, received_at=received_at)
    message_id = _id(msg, "messageId") or f"bmr-{uuid.uuid4()}"
    texts = (message_id, kind, event, name, user_id, anonymous_id, group_id, previous_id)
    objects = [_dump(value) for value in (properties, traits, context, integrations)]
    size = sum(len(o) for o in objects if o is not None)
    size += sum(len(t) if t.isascii() else len(t.encode()) for t in texts if t is not None)
    if size > MAX_MESSAGE_BYTES:
        raise MessageInvalid(
            f"message is {size:,} bytes as stored (with the batch's context merged in); "
            f"the limit is {MAX_MESSAGE_BYTES:,}"
        )
    times = (
        _micros(timestamp),
        _micros(original) if original is not None else None,
        _micros(sent) if sent is not None else None,
        _micros(received_at),
    )
    return (*texts, *times, *(o.decode() if o is not None else None for o in objects)), size


def too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects or arrays more than ``limit`` levels (itself the first).

    Recursive (the recursion stops at ``limit``): on a typical message a quarter of the time
    of a loop over a stack. Values come from JSON, so plain ``dict`` and ``list``.
    """
    if limit < 1:
        return True
    for child in value.values() if type(value) is dict else value:
        if (type(child) is dict or type(child) is list) and too_deep(child, limit - 1):
            return True
    return False


def _kind(msg: dict[str, Any], call: str | None) -> str:
    """The message's call type: the endpoint's, or in a batch the message's own."""
    kind = msg.get("type", call) if call is None else call
    if call is not None and "type" in msg and msg["type"] != call:
        raise MessageInvalid(f"type: {shown(msg['type'])} sent to /v1/{call}")
    if kind not in CALL_TYPES:
        if kind is None:
            raise MessageInvalid(f"type: required in a batch, one of {', '.join(CALL_TYPES)}")
        raise MessageInvalid(f"type: {shown(kind)} is not one of {', '.join(CALL_TYPES)}")
    return kind


def _identities(msg: dict[str, Any], kind: str) -> tuple[str | None, str | None, str | None]:
    """userId, anonymousId and previousId, with the ones the call type needs."""
    user_id = _id(msg, "userId")
    anonymous_id = _id(msg, "anonymousId")
    previous_id = _id(msg, "previousId")
    if kind == "alias":
        if user_id is None or previous_id is None:
            raise MessageInvalid("alias needs both userId and previousId")
    elif user_id is None and anonymous_id is None:
        raise MessageInvalid("userId or anonymousId is required")
    return user_id, anonymous_id, previous_id


def _event(msg: dict[str, Any], kind: str) -> str | None:
    """The event name of a track call (None for the other types)."""
    event = msg.get("event")
    if kind != "track":
        return None
    if not isinstance(event, str) or not event.strip():
        raise MessageInvalid("event: a track call needs a non-empty event name")
    if len(event) > MAX_ID_LENGTH:
        raise MessageInvalid(f"event: longer than {MAX_ID_LENGTH} characters")
    return event


Objects = tuple[
    dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None, dict[str, Any] | None
]


def _objects(
    msg: dict[str, Any],
    kind: str,
    *,
    shared_context: dict[str, Any] | None,
    shared_integrations: dict[str, Any] | None,
) -> Objects:
    """context (with the batch's merged in), integrations (likewise), properties and
    traits (an identify without traits takes ``context.traits``)."""
    context = _object(msg, "context")
    if shared_context:
        context = {**shared_context, **(context or {})}
    integrations = _object(msg, "integrations")
    if shared_integrations:
        integrations = {**shared_integrations, **(integrations or {})}
    properties = _object(msg, "properties")
    traits = _object(msg, "traits")
    if (
        kind == "identify"
        and traits is None
        and context
        and isinstance(context.get("traits"), dict)
    ):
        traits = context["traits"]
    return context, integrations, properties, traits


def _group_id(msg: dict[str, Any], kind: str, context: dict[str, Any] | None) -> str | None:
    group_id = _id(msg, "groupId", blank_ok=kind != "group")
    if kind == "group" and group_id is None:
        raise MessageInvalid("groupId: a group call needs a groupId")
    if group_id is None and context is not None:
        # Segment's B2B SaaS spec puts the account on every call as context.groupId.
        group_id = _id(context, "groupId", where="context.groupId")
    return group_id


def _timestamp(
    *, original: datetime | None, sent: datetime | None, received_at: datetime
) -> datetime:
    """When it happened, corrected for the client's clock skew when it sent ``sentAt``."""
    # Both within TIME_RANGE (see _time): the correction cannot overflow.
    if original is None:
        timestamp = received_at
    elif sent is not None:
        timestamp = received_at - (sent - original)
    else:
        timestamp = original
    if timestamp > received_at + MAX_FUTURE:
        raise MessageInvalid(f"timestamp: {timestamp.isoformat()} is in the future")
    if timestamp < EPOCH:
        raise MessageInvalid(f"timestamp: {timestamp.isoformat()} is before 1970")
    return timestamp


def _message_id_of(item: Any) -> str | None:
    if isinstance(item, dict):
        value = item.get("messageId")
        if isinstance(value, str):
            return value[:MAX_ID_LENGTH]
    return None


def _id(
    msg: dict[str, Any], key: str, *, where: str | None = None, blank_ok: bool = True
) -> str | None:
    """An identifier: a non-empty string, or a number (Segment accepts both). An empty
    string is no identifier (with ``blank_ok``); one of spaces only is refused."""
    value = msg.get(key)
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        if value == "" and blank_ok:
            return None
        raise MessageInvalid(f"{where or key} is blank")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MessageInvalid(f"{where or key}: must be a string, not {_json_type(value)}")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_ID_LENGTH:
        raise MessageInvalid(f"{where or key}: longer than {MAX_ID_LENGTH} characters")
    return text


def _object(msg: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = msg.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MessageInvalid(f"{key}: must be an object, not {_json_type(value)}")
    return value


def _time(value: Any, key: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MessageInvalid(f"{key}: must be an ISO-8601 string, not {_json_type(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MessageInvalid(f"{key}: {shown(value)} is not an ISO-8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        converted = parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+00:01 has no UTC time
        raise MessageInvalid(f"{key}: {shown(value)} has no time in UTC (years 1-9999)") from None
    if converted < EPOCH:
        raise MessageInvalid(f"{key}: {shown(value)} is before 1970 (the range is {TIME_RANGE})")
    if converted > LAST_TIME:
        raise MessageInvalid(f"{key}: {shown(value)} is after 2200 (the range is {TIME_RANGE})")
    return converted  # the corrected timestamp is checked again in _timestamp


def _micros(value: datetime) -> int:
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _dump(value: dict[str, Any] | None) -> bytes | None:
    if value is None:
        return None
    try:
        return orjson.dumps(value)
    except TypeError as exc:  # pragma: no cover - JSON in, JSON out
        raise MessageInvalid(str(exc)) from None


def shown(value: Any, *, width: int = 60) -> str:
    """``repr(value)``, cut to ``width`` characters: a reason quotes what it refuses, briefly."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _json_type(value: Any) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case _:
            return "an object"
