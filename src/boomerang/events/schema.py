"""The columns of every stored event (a PyArrow schema: importing it loads PyArrow)."""

from __future__ import annotations

import pyarrow as pa

from boomerang.events.types import EVENT_COLUMNS

_ARROW_TYPES = {"text": pa.string(), "time": pa.timestamp("us", tz="UTC")}

EVENT_SCHEMA = pa.schema(
    [
        pa.field(name, _ARROW_TYPES[kind], nullable=nullable)
        for name, kind, nullable in EVENT_COLUMNS
    ]
)
"""Columns of every event. ``group_id`` is the account external id, ``user_id`` the contact's.
``properties``, ``context``, ``traits`` and ``integrations`` hold JSON text. ``timestamp`` is
the event time (corrected for client clock skew by the tracking API, Segment-style);
``original_timestamp`` and ``sent_at`` are what the client said, when it said it."""
