"""The kinds of event the Segment spec defines (no PyArrow: the store lists files without it)."""

from __future__ import annotations

EVENT_TYPES = ("identify", "group", "track", "page", "screen", "alias")


EVENT_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("message_id", "text", False),
    ("type", "text", False),
    ("event", "text", True),
    ("name", "text", True),
    ("user_id", "text", True),
    ("anonymous_id", "text", True),
    ("group_id", "text", True),
    ("timestamp", "time", False),
    ("received_at", "time", False),
    ("properties", "text", True),
    ("context", "text", True),
    ("traits", "text", True),
    ("integrations", "text", True),
    ("previous_id", "text", True),
    ("original_timestamp", "time", True),
    ("sent_at", "time", True),
)
"""Every stored event's columns: name, kind (``text``, or ``time``: a UTC instant to the
microsecond) and whether it may be null. :data:`boomerang.events.schema.EVENT_SCHEMA` is
built from it; read here, it costs no PyArrow import."""
