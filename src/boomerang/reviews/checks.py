"""The rules every change to a review checks: who may change it, whether it is still open,
the size of its texts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from boomerang.errors import Conflict, Forbidden, Invalid
from boomerang.reviews.models import BusinessReview
from boomerang.users.models import Role, User

MAX_TEXT = 20_000


def today_or(today: date | None) -> date:
    """``today``, or the current day (UTC) when it is None."""
    return today or datetime.now(UTC).date()


def clean_text(value: str | None, field: str, *, required: bool = False) -> str:
    """``value`` stripped; Invalid naming ``field`` when empty (if required) or too long."""
    text = (value or "").strip()
    if required and not text:
        raise Invalid(f"{field}: must not be empty")
    if len(text) > MAX_TEXT:
        raise Invalid(f"{field}: at most {MAX_TEXT} characters")
    return text


def check_may_change(review: BusinessReview, user: User) -> None:
    """Forbidden unless ``user`` may change ``review`` (its owner, the account's, a manager)."""
    if not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot change business reviews")
    if user.role in (Role.admin, Role.manager):
        return
    if user.id not in (review.owner_id, review.account.owner_id):
        raise Forbidden("only the review's owner, the account's owner or a manager can change it")


def check_still_open(review: BusinessReview) -> None:
    """Conflict when ``review`` is held or cancelled."""
    if not review.is_open:
        raise Conflict(f"the {review.period} review of {review.account.name} is {review.status}")
