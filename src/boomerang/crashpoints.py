"""Named crash points, for tests that kill a process at every step of a multi-step write.

``BOOMERANG_CRASH_AT=<point>`` in a process's environment makes it die on the spot the first
time it reaches ``crash_point("<point>")``: ``os._exit(137)``, like a SIGKILL (no ``finally``,
no flush of buffers, locks released by the kernel). Unset, as always outside such tests, a
crash point costs one environment lookup. The points of the move to the event store and of
compaction are listed in :mod:`boomerang.ingest.flush`.
"""

from __future__ import annotations

import os

ENV = "BOOMERANG_CRASH_AT"
KILLED = 137
"""The exit status of a process that died at a crash point (128 + SIGKILL, as a shell reports)."""


def crash_point(name: str) -> None:
    """Die here if ``BOOMERANG_CRASH_AT`` names this point."""
    if os.environ.get(ENV) == name:
        os._exit(KILLED)
