"""The columns of every stored event (a PyArrow schema: importing it loads PyArrow)."""

from __future__ import annotations

import pyarrow as pa

EVENT_SCHEMA = pa.schema(
    [
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("event", pa.string()),
        pa.field("name", pa.string()),
        pa.field("user_id", pa.string()),
        pa.field("anonymous_id", pa.string()),
        pa.field("group_id", pa.string()),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("received_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("properties", pa.string()),
        pa.field("context", pa.string()),
        pa.field("traits", pa.string()),
        pa.field("integrations", pa.string()),
        pa.field("previous_id", pa.string()),
        pa.field("original_timestamp", pa.timestamp("us", tz="UTC")),
        pa.field("sent_at", pa.timestamp("us", tz="UTC")),
    ]
)
"""Columns of every event. ``group_id`` is the account external id, ``user_id`` the contact's.
``properties``, ``context``, ``traits`` and ``integrations`` hold JSON text. ``timestamp`` is
the event time (corrected for client clock skew by the tracking API, Segment-style);
``original_timestamp`` and ``sent_at`` are what the client said, when it said it."""
