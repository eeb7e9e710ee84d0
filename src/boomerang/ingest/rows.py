"""Pending inbox rows into Arrow, and the rows that cannot be read set aside.

The mover reads pending rows in bulk with Arrow's JSON reader (:func:`to_table`). One row it
cannot read (larger than any message the intake accepts, malformed, or written by an older
version with other limits) would fail the whole read, every cycle, and nothing would move
again: :func:`readable` finds such rows (a bisection, so a bad row costs a few extra reads,
not one per row) and returns them apart, with the reason, for the quarantine. A quarantined
row is re-checked by :func:`recheck` with the intake's own rules before it may go back.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.json as pa_json

from boomerang.events.schema import EVENT_SCHEMA
from boomerang.ingest import segment
from boomerang.ingest.segment import ROW_FIELDS

TIME_FIELDS = frozenset({"timestamp", "original_timestamp", "sent_at", "received_at"})
PAYLOAD_SCHEMA = pa.schema(
    [pa.field(name, pa.int64() if name in TIME_FIELDS else pa.string()) for name in ROW_FIELDS]
)
MAX_ROW_BYTES = 5 * segment.MAX_MESSAGE_BYTES
"""A stored row's payload: a message's objects are JSON text inside the row's JSON, whose
escaping can at most quadruple them, so an accepted message's row is always under this."""
_BLOCK_BYTES = 1 << 20  # Arrow's JSON block: a row must fit in one, and any row here does
_REASON_CHARS = 500


@dataclass(frozen=True)
class PendingRow:
    seq: int
    payload: bytes
    message_id: str | None = None
    write_key_id: str | None = None


@dataclass(frozen=True)
class Unreadable:
    row: PendingRow
    reason: str


def to_table(payloads: Sequence[bytes]) -> pa.Table:
    """Row payloads as a table in the event store's schema (Arrow's C++ JSON reader: no
    Python loop); raises ``pa.ArrowException`` or ValueError if any row is unreadable."""
    raw = pa_json.read_json(
        io.BytesIO(b"\n".join(payloads)),
        read_options=pa_json.ReadOptions(block_size=_BLOCK_BYTES),
        parse_options=pa_json.ParseOptions(explicit_schema=PAYLOAD_SCHEMA),
    )
    if raw.num_rows != len(payloads):  # a payload with a line break in it, or an empty one
        raise ValueError(f"{len(payloads)} rows read as {raw.num_rows}")
    return pa.table(
        {
            f.name: raw.column(f.name).cast(f.type) if f.name in TIME_FIELDS else raw.column(f.name)
            for f in EVENT_SCHEMA
        },
        schema=EVENT_SCHEMA.with_metadata(None),
    )


def readable(rows: Sequence[PendingRow]) -> tuple[pa.Table | None, list[Unreadable]]:
    """The rows that can be read, as one table (None if none can), and those that cannot."""
    bad = [
        Unreadable(r, f"stored row is {len(r.payload):,} bytes; the limit is {MAX_ROW_BYTES:,}")
        for r in rows
        if len(r.payload) > MAX_ROW_BYTES
    ]
    rest = [r for r in rows if len(r.payload) <= MAX_ROW_BYTES]
    tables: list[pa.Table] = []
    _bisect(rest, tables, bad)
    if not tables:
        return None, bad
    return (tables[0] if len(tables) == 1 else pa.concat_tables(tables)), bad


def _bisect(rows: Sequence[PendingRow], tables: list[pa.Table], bad: list[Unreadable]) -> None:
    if not rows:
        return
    try:
        tables.append(to_table([r.payload for r in rows]))
    except (pa.ArrowException, ValueError) as exc:
        if len(rows) == 1:
            bad.append(Unreadable(rows[0], f"unreadable row: {exc}"[:_REASON_CHARS]))
            return
        half = len(rows) // 2
        _bisect(rows[:half], tables, bad)
        _bisect(rows[half:], tables, bad)


def recheck(payload: bytes) -> str | None:
    """Why a quarantined row still cannot go back (None: it can): it must be readable and
    pass the intake's checks (:func:`segment.normalise`) as the message it was."""
    _, bad = readable([PendingRow(0, payload)])
    if bad:
        return bad[0].reason
    row = orjson.loads(payload)
    try:
        received_at = _time(row.get("received_at")) or datetime.now(UTC)
        segment.normalise(_message(row), call=None, received_at=received_at)
    except segment.MessageInvalid as exc:
        return str(exc)
    return None


def _time(micros: Any) -> datetime | None:
    if not isinstance(micros, int):
        return None
    try:
        return segment.EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        raise segment.MessageInvalid(f"a time of {micros:,} µs has no date") from None


def _message(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as the message the intake would have received."""
    message: dict[str, Any] = {}
    for field, key in _KEYS.items():
        value = row.get(field)
        if value is None:
            continue
        if field in _OBJECT_FIELDS:
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise segment.MessageInvalid(f"{key}: not JSON") from None
        elif field == "timestamp":
            time = _time(value)
            value = time.isoformat() if time is not None else value
        message[key] = value
    return message


_KEYS = {
    "message_id": "messageId",
    "type": "type",
    "event": "event",
    "name": "name",
    "user_id": "userId",
    "anonymous_id": "anonymousId",
    "group_id": "groupId",
    "previous_id": "previousId",
    "timestamp": "timestamp",
    "properties": "properties",
    "traits": "traits",
    "context": "context",
    "integrations": "integrations",
}
_OBJECT_FIELDS = frozenset({"properties", "traits", "context", "integrations"})
