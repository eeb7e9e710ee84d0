"""The kinds of event the Segment spec defines (no PyArrow: the store lists files without it)."""

from __future__ import annotations

EVENT_TYPES = ("identify", "group", "track", "page", "screen", "alias")
