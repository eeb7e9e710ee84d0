"""Renewals: a line's forecast override and its outcome (the pipeline and the forecast of
the coming quarters: :mod:`boomerang.renewals.pipeline`).

Recording an outcome changes the contract lines the revenue metrics read: the line ends on
the renewal day (``ended``, or ``cancelled`` on churn) and, unless the customer left, a new
line starts that day with the new ARR; so a renewal at a higher ARR shows as *expansion*, a
lower one as *contraction* and a churned one as *churn* in :mod:`boomerang.metrics.revenue`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Stage
from boomerang.billing import service as billing_service
from boomerang.billing.models import Subscription, SubscriptionStatus
from boomerang.errors import Conflict, Forbidden, Invalid, NotFound
from boomerang.metrics import revenue
from boomerang.renewals import forecast
from boomerang.renewals.forecast import CATEGORIES
from boomerang.renewals.models import ForecastCategory, Renewal, RenewalOutcome
from boomerang.timeline import events as timeline_events
from boomerang.users.models import User

MAX_TEXT = 5_000


def _may_write(user: User | None) -> None:
    if user is not None and not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot change renewals")


def _reason(value: str | None, name: str, *, required: bool) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise Invalid(f"{name}: must not be empty")
    if len(text) > MAX_TEXT:
        raise Invalid(f"{name}: at most {MAX_TEXT} characters")
    return text or None


def money(value: Decimal | float | int | str | None, name: str) -> Decimal | None:
    """A non-negative amount with at most 2 decimals; Invalid naming ``name`` otherwise."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid(f"{name}: {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise Invalid(f"{name}: must be a number of at least 0")
    if amount != amount.quantize(Decimal("0.01")):
        raise Invalid(f"{name}: at most 2 decimals")
    if amount >= Decimal("1e15"):
        raise Invalid(f"{name}: too large")
    return amount


# -- overrides ---------------------------------------------------------------------------


def get_line(*, session: Session, subscription_id: str) -> Subscription:
    """The contract line, or NotFound."""
    line = session.get(Subscription, subscription_id.strip())
    if line is None:
        raise NotFound(f"no contract line {subscription_id!r}")
    return line


def find_renewal(*, session: Session, line: Subscription) -> Renewal | None:
    """The line's renewal row, or None when nobody decided anything about it yet."""
    return session.scalars(select(Renewal).where(Renewal.subscription_id == line.id)).first()


def _renewal(*, session: Session, line: Subscription) -> Renewal:
    row = find_renewal(session=session, line=line)
    if row is None:
        row = Renewal(subscription_id=line.id, account_id=line.account_id)
        session.add(row)
    return row


def _open_line(*, session: Session, line: Subscription) -> Renewal | None:
    """The line's renewal row; Conflict when its outcome is recorded or the line is over."""
    row = find_renewal(session=session, line=line)
    if row is not None and row.outcome is not None:
        raise Conflict(f"the renewal of {line.id} is already recorded ({row.outcome.value})")
    if line.status is not SubscriptionStatus.active:
        raise Conflict(f"contract line {line.id} is not live ({line.status.value}): no renewal")
    return row


def set_override(
    *,
    session: Session,
    line: Subscription,
    reason: str,
    probability: float | None = None,
    category: str | None = None,
    by: User | None = None,
    now: datetime | None = None,
) -> Renewal:
    """Override the forecast of a line (its probability, its category or both), with a reason."""
    _may_write(by)
    if probability is None and category is None:
        raise Invalid("probability, category: give at least one")
    if probability is not None and not 0.0 <= probability <= 1.0:
        raise Invalid("probability: must be between 0 and 1")
    if category is not None and category not in CATEGORIES:
        raise Invalid(f"category: {category!r} is not one of {', '.join(CATEGORIES)}")
    text = _reason(reason, "reason", required=True)
    _open_line(session=session, line=line)
    row = _renewal(session=session, line=line)
    row.probability_override = probability
    row.category_override = None if category is None else ForecastCategory(category)
    row.override_reason = text
    row.override_by_id = by.id if by else None
    row.override_at = now or datetime.now(UTC)
    session.flush()
    return row


def clear_override(*, session: Session, line: Subscription, by: User | None = None) -> None:
    """Back to the model's probability and the rule's category."""
    _may_write(by)
    row = _open_line(session=session, line=line)
    if row is None or (row.probability_override is None and row.category_override is None):
        raise NotFound(f"contract line {line.id} has no forecast override")
    row.probability_override = None
    row.category_override = None
    row.override_reason = None
    row.override_by_id = None
    row.override_at = None
    session.flush()


# -- outcomes ----------------------------------------------------------------------------


def _term_months(line: Subscription) -> int:
    if line.renewal_date is None or line.renewal_date <= line.start_date:
        return 12
    return max(1, round((line.renewal_date - line.start_date).days / 30.4375))


def _still_live_after(*, session: Session, account_id: str, day: date, except_id: str) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Subscription)
            .where(
                Subscription.account_id == account_id,
                Subscription.id != except_id,
                Subscription.status.in_(billing_service.COUNTED),
                Subscription.arr > 0,
                Subscription.start_date <= day,
                or_(Subscription.end_date.is_(None), Subscription.end_date > day),
            )
        )
    )


def _outcome(
    outcome: str, reason_code: str | None, seats: int | None
) -> tuple[RenewalOutcome, str | None]:
    """The outcome and its reason code, checked (contracted and churned need one), and the
    new number of seats checked."""
    try:
        kind = RenewalOutcome(outcome)
    except ValueError:
        known = ", ".join(o.value for o in RenewalOutcome)
        raise Invalid(f"outcome: {outcome!r} is not one of {known}") from None
    if reason_code is not None:
        reason_code = reason_code.strip() or None
    if reason_code is not None and reason_code not in forecast.REASON_CODES:
        known = ", ".join(forecast.REASON_CODES)
        raise Invalid(f"reason_code: {reason_code!r} is not one of {known}")
    if kind in (RenewalOutcome.contracted, RenewalOutcome.churned) and reason_code is None:
        raise Invalid(f"reason_code: required when the renewal {kind.value}")
    if seats is not None and not 0 <= seats <= 10_000_000:
        raise Invalid("seats: must be between 0 and 10,000,000")
    return kind, reason_code


def _effective_day(line: Subscription, on: date | None) -> date:
    """The day the renewal took effect: ``on`` or the renewal date, within the line."""
    day = on or line.renewal_date
    if day is None:
        raise Invalid("on: the line has no renewal date; give the day the renewal took effect")
    if day <= line.start_date:
        raise Invalid(f"on: {day} is not after the line's start ({line.start_date})")
    if line.end_date is not None and day > line.end_date:
        raise Invalid(f"on: {day} is after the line's end ({line.end_date})")
    return day


def _new_arr(kind: RenewalOutcome, old: Decimal, new_arr: Decimal | None) -> Decimal | None:
    """The ARR after the renewal, checked against the outcome (None when churned)."""
    if kind is RenewalOutcome.renewed:
        new_arr = old if new_arr is None else new_arr
        if new_arr != old:
            raise Invalid("new_arr: a renewal at another ARR is 'expanded' or 'contracted'")
    elif kind is RenewalOutcome.expanded:
        if new_arr is None or new_arr <= old:
            raise Invalid(f"new_arr: an expansion needs an ARR above the current {old}")
    elif kind is RenewalOutcome.contracted:
        if new_arr is None or not Decimal(0) < new_arr < old:
            raise Invalid(f"new_arr: a contraction needs an ARR above 0 and below {old}")
    elif new_arr not in (None, Decimal(0)):
        raise Invalid("new_arr: a churned line has no new ARR")
    return new_arr


def _end(
    *,
    session: Session,
    line: Subscription,
    kind: RenewalOutcome,
    new_arr: Decimal | None,
    seats: int | None,
    day: date,
    today: date,
) -> Subscription | None:
    """End ``line`` on ``day`` (cancelled when churned); returns its successor, if any."""
    line.end_date = day
    if kind is RenewalOutcome.churned:
        line.status = SubscriptionStatus.cancelled
        return None
    line.status = SubscriptionStatus.ended
    assert new_arr is not None
    return _successor(session=session, line=line, arr=new_arr, seats=seats, day=day, today=today)


def _successor(
    *,
    session: Session,
    line: Subscription,
    arr: Decimal,
    seats: int | None,
    day: date,
    today: date,
) -> Subscription:
    """The line that continues ``line`` from ``day``, for a term as long as the ended one."""
    return billing_service.add_subscription(
        session=session,
        account=line.account,
        line=Subscription(
            product=line.product,
            plan=line.plan,
            arr=arr,
            currency=line.currency,
            seats=line.seats if seats is None else seats,
            start_date=day,
            end_date=None,
            renewal_date=revenue.add_months(day, _term_months(line)),
            status=SubscriptionStatus.active,
            auto_renew=line.auto_renew,
        ),
        today=today,
    )


def _churn_if_last(
    *, session: Session, line: Subscription, day: date, reason_code: str | None
) -> None:
    """The account churned ``day`` (with the reason) when no other line is live after it."""
    account = line.account
    if not _still_live_after(session=session, account_id=account.id, day=day, except_id=line.id):
        account.stage = Stage.churned
        account.churned_at = datetime.combine(day, time.min, tzinfo=UTC)
        account.churn_reason = reason_code


def _summary(
    *,
    line: Subscription,
    kind: RenewalOutcome,
    old: Decimal,
    new_arr: Decimal | None,
    day: date,
    reason_code: str | None,
    note: str | None,
) -> str:
    """What the timeline says about the outcome."""
    was, now_arr = f"{old:,.2f}", f"{new_arr or 0:,.2f}"
    verb = {
        RenewalOutcome.renewed: f"renewed at {was} {line.currency}",
        RenewalOutcome.expanded: f"expanded from {was} to {now_arr} {line.currency}",
        RenewalOutcome.contracted: f"contracted from {was} to {now_arr} {line.currency}",
        RenewalOutcome.churned: f"churned ({was} {line.currency} lost)",
    }[kind]
    text = f"Renewal of {line.product} on {day}: {verb}."
    if reason_code:
        text += f" Reason: {forecast.REASON_CODES[reason_code]} ({reason_code})."
    if note:
        text += f"\n\n{note}"
    return text


def record_outcome(
    *,
    session: Session,
    line: Subscription,
    outcome: str,
    today: date,
    new_arr: Decimal | None = None,
    seats: int | None = None,
    reason_code: str | None = None,
    note: str | None = None,
    on: date | None = None,
    by: User | None = None,
    now: datetime | None = None,
) -> Renewal:
    """Record how a line's renewal went and change the contract lines to match.

    ``renewed`` keeps the ARR (``new_arr`` defaults to it), ``expanded`` needs a higher
    ``new_arr``, ``contracted`` a lower one above zero and a ``reason_code``, ``churned`` a
    ``reason_code`` (when the account has no other live line it becomes churned, with that
    reason). The line ends ``on`` (default: its renewal date) and its successor starts then,
    for a term as long as the ended one.
    """
    _may_write(by)
    kind, reason_code = _outcome(outcome, reason_code, seats)
    text = _reason(note, "note", required=False)
    day = _effective_day(line, on)
    old, new_arr = line.arr, _new_arr(kind, line.arr, new_arr)
    _open_line(session=session, line=line)
    row = _renewal(session=session, line=line)
    account = line.account
    when = now or datetime.now(UTC)
    successor = _end(
        session=session, line=line, kind=kind, new_arr=new_arr, seats=seats, day=day, today=today
    )
    row.outcome = kind
    row.reason_code = reason_code
    row.new_arr = None if successor is None else new_arr
    row.new_subscription_id = successor.id if successor else None
    row.decided_on = day
    row.outcome_note = text
    row.outcome_by_id = by.id if by else None
    row.outcome_at = when
    if kind is RenewalOutcome.churned:
        _churn_if_last(session=session, line=line, day=day, reason_code=reason_code)
    billing_service.save_subscription(session=session, account=account, line=line, today=today)
    summary = _summary(
        line=line, kind=kind, old=old, new_arr=new_arr, day=day, reason_code=reason_code, note=text
    )
    timeline_events.renewal_recorded(
        session=session,
        account_id=account.id,
        line_id=line.id,
        product=line.product,
        outcome=kind.value,
        summary=summary,
        by=by,
        occurred_at=when,
    )
    session.flush()
    return row
