"""The unit of work: how code that owns its transactions (the event mover, job workers, the
outbox, schedules) opens one.

A :data:`Transaction` is called with no argument and gives a context manager holding a
session; leaving the block commits it (or rolls it back on an exception). Services never
commit: the code holding a :data:`Transaction` does.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy.orm import Session, sessionmaker

Transaction = Callable[[], AbstractContextManager[Session]]


def transaction_for(sessions: sessionmaker[Session]) -> Transaction:
    """A :data:`Transaction` that opens a session of ``sessions`` and commits it."""
    return sessions.begin
