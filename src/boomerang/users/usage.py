"""When each API token and browser session was last used, written at most once a minute per
token or session and never inside the request that used it (a read request stays read-only; a
busy store delays the note, never the answer)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from boomerang.uow import Transaction
from boomerang.users import sessions
from boomerang.users.models import ApiToken

log = logging.getLogger(__name__)


def touch_tokens(*, session: Session, last_used: dict[str, datetime]) -> None:
    """Record when each token was last used (never moving a time backwards)."""
    for token_id, when in last_used.items():
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .where((ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < when))
            .values(last_used_at=when)
        )


class LastUse:
    """Coalesces last-used times: :meth:`seen` in the request (no write), :meth:`write` after
    the response, once per row per ``every``. Subclasses say what :meth:`touch` writes."""

    what = "row"

    def __init__(self, every: timedelta = timedelta(minutes=1)) -> None:
        self.every = every
        self._lock = threading.Lock()
        self._pending: dict[str, datetime] = {}
        self._written: dict[str, datetime] = {}

    def touch(self, session: Session, last_used: dict[str, datetime]) -> None:
        """Write the times (row id -> last use) in ``session``."""
        raise NotImplementedError

    def seen(self, row_id: str, when: datetime, stored: datetime | None) -> bool:
        """Note a use; True when a write is due (the caller schedules :meth:`write`)."""
        with self._lock:
            last = self._written.get(row_id) or stored
            if last is not None and when - last < self.every:
                return False
            self._written[row_id] = when
            self._pending[row_id] = when
            return True

    def write(self, transaction: Transaction) -> None:
        """Write the pending times in one short transaction; on failure keep them for later."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            with transaction() as session:
                self.touch(session, pending)
        except Exception:  # a busy store: the times are kept and written with the next ones
            log.warning("could not record the last use of %d %s(s)", len(pending), self.what)
            with self._lock:
                for row_id, when in pending.items():
                    self._pending.setdefault(row_id, when)
                    self._written.pop(row_id, None)


class TokenUse(LastUse):
    """The last use of each API token (``api_tokens.last_used_at``)."""

    what = "API token"

    def touch(self, session: Session, last_used: dict[str, datetime]) -> None:
        touch_tokens(session=session, last_used=last_used)


class SessionUse(LastUse):
    """The last request of each browser session (``user_sessions.last_seen_at``), from which
    the idle timeout counts."""

    what = "browser session"

    def touch(self, session: Session, last_used: dict[str, datetime]) -> None:
        sessions.touch(session=session, last_seen=last_used)
