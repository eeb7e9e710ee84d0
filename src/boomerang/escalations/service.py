"""Escalations: open, move up a level (by hand or when the budget runs out), tell the
customer what is happening, resolve.

Every change writes a ``system`` entry on the account's timeline.

**Notifying the next owner.** When a level gets a new owner, the owner gets work in the
task inbox (the inbox is how Boomerang tells staff to act): at the account-manager level
two tasks, "Remove the roadblocks: ..." and "Tell the customer what is happening: ..."; at
the support and executive levels one task, "Escalation: ...". When ``settings`` is given
(the periodic job and the API/UI give it), the owner also gets an email through the outbox
at their staff address. Nobody is notified of what they did themselves. The notifications
and the customer's status update: :mod:`boomerang.escalations.notify`.

Budgets and owners per level: :mod:`boomerang.escalations.policy`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account, Contact
from boomerang.config import Settings
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.escalations import checks, policy
from boomerang.escalations.models import (
    Escalation,
    EscalationContact,
    EscalationPerson,
    EscalationStatus,
    Level,
)
from boomerang.escalations.notify import notify_owner
from boomerang.timeline import events as timeline_events
from boomerang.users.models import User
from boomerang.webhooks import outbound


def _involve(escalation: Escalation, user: User | None) -> None:
    if user is not None and user.id not in {p.user_id for p in escalation.person_links}:
        escalation.person_links.append(EscalationPerson(user_id=user.id, user=user))


def _start_level(
    *,
    session: Session,
    escalation: Escalation,
    level: Level,
    when: datetime,
    opened_by: User | None = None,
) -> None:
    """Put the escalation at ``level``: owner, start and budget."""
    risk = policy.risk(session=session, account_id=escalation.account_id)
    owner = policy.owner_for(
        session=session,
        level=level,
        account=escalation.account,
        opened_by=opened_by,
        current=escalation.level_owner,
    )
    escalation.level = level
    escalation.level_owner_id = owner.id if owner else None
    escalation.level_owner = owner
    escalation.level_started_at = when
    escalation.due_at = when + policy.budget(
        level, mission_critical=escalation.mission_critical, at_risk=risk.at_risk
    )
    _involve(escalation, owner)


def _event(escalation: Escalation) -> dict[str, Any]:
    """The escalation as outbound webhooks carry it."""
    return {
        "escalation": {
            "id": escalation.id,
            "severity": escalation.severity,
            "mission_critical": escalation.mission_critical,
            "problem": escalation.problem,
            "status": escalation.status.value,
            "level": escalation.level.value,
            "owner_id": escalation.level_owner.id if escalation.level_owner else None,
            "due_at": escalation.due_at.isoformat() if escalation.due_at else None,
            "source": escalation.source,
            "resolution": escalation.resolution,
        },
        "account": outbound.account_data(escalation.account),
    }


def get(*, session: Session, escalation_id: str) -> Escalation:
    """The escalation, or NotFound."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise NotFound(f"no escalation {escalation_id!r}")
    return escalation


# -- opening -----------------------------------------------------------------------------


def _checked_links(
    account: Account, contacts: Iterable[Contact], people: Iterable[User]
) -> tuple[list[Contact], list[User]]:
    """The affected contacts (all of ``account``) and the people, within the limits."""
    contacts, people = list(contacts), list(people)
    if len(contacts) > checks.MAX_LINKS or len(people) > checks.MAX_LINKS:
        raise Invalid(f"contacts, people: at most {checks.MAX_LINKS} each")
    for contact in contacts:
        if contact.account_id != account.id:
            raise Invalid(f"contacts: {contact.name} is not a contact of {account.name}")
    return contacts, people


def _new(
    *,
    account: Account,
    problem: str,
    severity: int,
    mission_critical: bool,
    opened_by: User | None,
    contacts: list[Contact],
    people: list[User],
    source: str,
    when: datetime,
) -> Escalation:
    """The escalation with its affected contacts and the people involved (the opener
    first), not yet at a level."""
    escalation = Escalation(
        account_id=account.id,
        severity=severity,
        mission_critical=mission_critical,
        problem=checks.text(problem, "problem", checks.MAX_PROBLEM),
        status=EscalationStatus.open,
        opened_by_id=opened_by.id if opened_by else None,
        opened_at=when,
        source=checks.text(source, "source", 200),
        escalations=0,
        status_updates=0,
    )
    escalation.account = account
    escalation.contact_links = [
        EscalationContact(contact_id=c.id, contact=c) for c in {c.id: c for c in contacts}.values()
    ]
    escalation.person_links = []
    for person in [opened_by, *people]:
        _involve(escalation, person)
    return escalation


def open_escalation(
    *,
    session: Session,
    account: Account,
    problem: str,
    severity: int,
    mission_critical: bool,
    opened_by: User | None = None,
    contacts: Iterable[Contact] = (),
    people: Iterable[User] = (),
    source: str = "manual",
    level: Level = Level.support,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Escalation:
    """A new open escalation at ``level`` (support unless said), its owner and budget."""
    checks.may_write(opened_by)
    when = checks.now(now)
    if severity not in checks.SEVERITIES:
        raise Invalid("severity: must be 1 (worst), 2, 3 or 4")
    contacts, people = _checked_links(account, contacts, people)
    escalation = _new(
        account=account,
        problem=problem,
        severity=severity,
        mission_critical=mission_critical,
        opened_by=opened_by,
        contacts=contacts,
        people=people,
        source=source,
        when=when,
    )
    _start_level(
        session=session, escalation=escalation, level=level, when=when, opened_by=opened_by
    )
    session.add(escalation)
    session.flush()
    owner = escalation.level_owner
    timeline_events.escalation_opened(
        session=session,
        account_id=account.id,
        escalation_id=escalation.id,
        severity=severity,
        mission_critical=mission_critical,
        summary=checks.summary(escalation.problem),
        problem=escalation.problem,
        level=level.label,
        owner=owner.name if owner else None,
        due_at=escalation.due_at,
        source=escalation.source,
        by=opened_by,
        occurred_at=when,
    )
    notify_owner(session=session, escalation=escalation, by=opened_by, settings=settings, when=when)
    outbound.emit(
        session=session, event_type="escalation.opened", data=_event(escalation), now=when
    )
    session.flush()
    return escalation


# -- moving up ---------------------------------------------------------------------------


def escalate(
    *,
    session: Session,
    escalation: Escalation,
    reason: str,
    now: datetime | None = None,
    by: User | None = None,
    settings: Settings | None = None,
) -> Escalation:
    """Up one level: new owner, new budget, the owner notified. At the executive level it
    stays there with a fresh budget and the executive is notified again."""
    checks.may_write(by)
    if not escalation.is_open:
        raise Conflict(f"the escalation is already {escalation.status.value}")
    when = checks.now(now)
    reason = checks.text(reason, "reason", checks.MAX_TEXT)
    before = escalation.level
    after = before.next() or before
    _start_level(session=session, escalation=escalation, level=after, when=when)
    escalation.escalations += 1
    owner = escalation.level_owner
    timeline_events.escalation_moved_up(
        session=session,
        account_id=escalation.account_id,
        escalation_id=escalation.id,
        summary=checks.summary(escalation.problem),
        reason=reason,
        before=before.label,
        after=after.label,
        owner=owner.name if owner else None,
        due_at=escalation.due_at,
        by=by,
        occurred_at=when,
    )
    notify_owner(session=session, escalation=escalation, by=by, settings=settings, when=when)
    outbound.emit(
        session=session, event_type="escalation.moved_up", data=_event(escalation), now=when
    )
    session.flush()
    return escalation


def tick(
    *, session: Session, now: datetime | None = None, settings: Settings | None = None
) -> list[Escalation]:
    """Move every open escalation whose budget ran out up one level; returns them."""
    when = checks.now(now)
    due = session.scalars(
        select(Escalation)
        .options(selectinload(Escalation.account), selectinload(Escalation.level_owner))
        .where(Escalation.status == EscalationStatus.open, Escalation.due_at <= when)
        .order_by(Escalation.due_at, Escalation.id)
        # Two workers never move the same escalation (PostgreSQL; SQLite is serialised).
        .with_for_update(skip_locked=True, of=Escalation)
    ).all()
    for escalation in due:
        spent = policy.BUDGET_HOURS[escalation.level]
        escalate(
            session=session,
            escalation=escalation,
            reason=f"The {escalation.level.label} level's time budget ran out "
            f"(due {escalation.due_at:%Y-%m-%d %H:%M} UTC; {spent:g} h before adjustments).",
            now=when,
            settings=settings,
        )
    return list(due)


# -- resolving and reading ---------------------------------------------------------------


def resolve(
    *,
    session: Session,
    escalation: Escalation,
    resolution: str,
    by: User | None,
    now: datetime | None = None,
) -> Escalation:
    """Resolved, with how; the timer stops."""
    checks.may_write(by)
    if not escalation.is_open:
        raise Conflict(f"the escalation is already {escalation.status.value}")
    when = checks.now(now)
    escalation.resolution = checks.text(resolution, "resolution", checks.MAX_TEXT)
    escalation.status = EscalationStatus.resolved
    escalation.resolved_at = when
    escalation.resolved_by_id = by.id if by else None
    timeline_events.escalation_resolved(
        session=session,
        account_id=escalation.account_id,
        escalation_id=escalation.id,
        summary=checks.summary(escalation.problem),
        resolution=escalation.resolution,
        level=escalation.level.label,
        by=by,
        occurred_at=when,
    )
    outbound.emit(
        session=session, event_type="escalation.resolved", data=_event(escalation), now=when
    )
    session.flush()
    return escalation


def list_escalations(
    *,
    session: Session,
    status: str = "open",
    account_id: str | None = None,
    limit: int = 200,
) -> list[Escalation]:
    """Open ones soonest due first; resolved ones latest first."""
    stmt = select(Escalation).options(
        selectinload(Escalation.account), selectinload(Escalation.level_owner)
    )
    match status:
        case "open" | "resolved":
            stmt = stmt.where(Escalation.status == EscalationStatus(status))
        case "all":
            pass
        case other:
            raise Invalid(f"status: {other!r} is not one of open, resolved, all")
    if account_id:
        stmt = stmt.where(Escalation.account_id == account_id)
    if status == "open":
        stmt = stmt.order_by(Escalation.due_at, Escalation.id)
    else:
        stmt = stmt.order_by(Escalation.opened_at.desc(), Escalation.id)
    return list(session.scalars(stmt.limit(limit)))


def contacts_by_id(*, session: Session, account: Account, ids: Sequence[str]) -> list[Contact]:
    """The account's contacts with these ids; Invalid naming any that is not one."""
    wanted = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
    found = {
        c.id: c
        for c in session.scalars(
            select(Contact).where(Contact.id.in_(wanted), Contact.account_id == account.id)
        )
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        raise Invalid(f"contacts: not contacts of {account.name}: {', '.join(missing)}")
    return [found[i] for i in wanted]
