"""When each API token was last used, written at most once a minute per token and never inside
the request that used it (a read request stays read-only; a busy store delays the note, never
the answer)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from boomerang.uow import Transaction
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


class TokenUse:
    """Coalesces the last-used times of API tokens: :meth:`seen` in the request (no write),
    :meth:`write` after the response, once per token per ``every``."""

    def __init__(self, every: timedelta = timedelta(minutes=1)) -> None:
        self.every = every
        self._lock = threading.Lock()
        self._pending: dict[str, datetime] = {}
        self._written: dict[str, datetime] = {}

    def seen(self, token_id: str, when: datetime, stored: datetime | None) -> bool:
        """Note a use; True when a write is due (the caller schedules :meth:`write`)."""
        with self._lock:
            last = self._written.get(token_id) or stored
            if last is not None and when - last < self.every:
                return False
            self._written[token_id] = when
            self._pending[token_id] = when
            return True

    def write(self, transaction: Transaction) -> None:
        """Write the pending times in one short transaction; on failure keep them for later."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            with transaction() as session:
                touch_tokens(session=session, last_used=pending)
        except Exception:  # a busy store: the times are kept and written with the next ones
            log.warning("could not record the last use of %d API token(s)", len(pending))
            with self._lock:
                for token_id, when in pending.items():
                    self._pending.setdefault(token_id, when)
                    self._written.pop(token_id, None)
