"""A playbook's state row: the pause switch (one per playbook, and ``ALL`` for the global
one) and when it was last evaluated (the watermark of its triggers)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from boomerang.playbooks.models import PlaybookState

ALL = "*"  # the PlaybookState row of the global pause switch


def state(*, session: Session, name: str) -> PlaybookState:
    """The state row of ``name`` (created, not paused, when there is none)."""
    row = session.get(PlaybookState, name)
    if row is None:
        row = PlaybookState(name=name, paused=False)
        session.add(row)
        session.flush()
    return row


def set_paused(*, session: Session, name: str = ALL, paused: bool, by: str) -> None:
    """Pause (or resume) one playbook, or all of them."""
    row = state(session=session, name=name)
    row.paused, row.paused_by = paused, by if paused else None
    session.flush()


def paused(*, session: Session, name: str = ALL) -> bool:
    """Whether the pause switch of ``name`` (default: the global one) is on."""
    row = session.get(PlaybookState, name)
    return bool(row and row.paused)
