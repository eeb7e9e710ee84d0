"""What the escalation service and its notifications both check: who may change an
escalation, the limits of what people type, and the one-line summary of a problem."""

from __future__ import annotations

from datetime import UTC, datetime

from boomerang.errors import Forbidden, Invalid
from boomerang.users.models import User

MAX_PROBLEM = 20_000
MAX_TEXT = 20_000
MAX_LINKS = 50
SEVERITIES = (1, 2, 3, 4)


def now(value: datetime | None) -> datetime:
    """``value``, or the current time."""
    return value or datetime.now(UTC)


def text(value: str | None, name: str, limit: int) -> str:
    """``value`` stripped; Invalid naming ``name`` when empty or longer than ``limit``."""
    stripped = (value or "").strip()
    if not stripped:
        raise Invalid(f"{name}: must not be empty")
    if len(stripped) > limit:
        raise Invalid(f"{name}: at most {limit} characters")
    return stripped


def summary(problem: str, limit: int = 80) -> str:
    """The problem on one line of at most ``limit`` characters."""
    line = " ".join(problem.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def may_write(user: User | None) -> None:
    """Forbidden unless ``user`` (None: the system) may change escalations."""
    if user is not None and not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot change escalations")
