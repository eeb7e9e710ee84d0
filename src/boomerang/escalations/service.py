"""Escalations: open, move up a level (by hand or when the budget runs out), tell the
customer what is happening, resolve.

Every change writes a ``system`` entry on the account's timeline.

**Notifying the next owner.** When a level gets a new owner, the owner gets work in the
task inbox (the inbox is how Boomerang tells staff to act): at the account-manager level
two tasks, "Remove the roadblocks: ..." and "Tell the customer what is happening: ..."; at
the support and executive levels one task, "Escalation: ...". When ``settings`` is given
(the periodic job and the API/UI give it), the owner also gets an email through the outbox
at their staff address. Nobody is notified of what they did themselves.

Budgets and owners per level: :mod:`boomerang.escalations.policy`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account, Contact
from boomerang.config import Settings
from boomerang.errors import Conflict, Forbidden, Invalid, NotFound
from boomerang.escalations import policy
from boomerang.escalations.models import (
    Escalation,
    EscalationContact,
    EscalationPerson,
    EscalationStatus,
    Level,
)
from boomerang.mail import service as mail_service
from boomerang.mail import templates as mail_templates
from boomerang.mail.models import OutboxMessage
from boomerang.tasks import service as tasks_service
from boomerang.tasks.models import Priority, Task, TaskType
from boomerang.timeline import service as timeline_service
from boomerang.timeline.models import EntryKind
from boomerang.users.models import User
from boomerang.webhooks import outbound

log = logging.getLogger(__name__)

MAX_PROBLEM = 20_000
MAX_TEXT = 20_000
MAX_LINKS = 50
SEVERITIES = (1, 2, 3, 4)
PRIORITY_BY_SEVERITY = {1: Priority.urgent, 2: Priority.high, 3: Priority.normal, 4: Priority.low}

STATUS_UPDATE = mail_templates.EmailTemplate(
    subject="Update on your issue with {{ account.name }}: {{ escalation.summary }}",
    text=(
        "Hello {{ contact.first_name }},\n\n"
        "Here is where we are with the problem you reported:\n\n"
        "  {{ escalation.problem }}\n\n"
        "It is severity {{ escalation.severity }}"
        "{% if escalation.mission_critical %} and we treat it as mission-critical{% endif %}. "
        "It is now with our {{ escalation.level }}"
        "{% if escalation.owner %} ({{ escalation.owner }}){% endif %}, opened on "
        "{{ escalation.opened_on }}.\n\n"
        "{% if note %}{{ note }}\n\n{% endif %}"
        "We will keep you posted until it is resolved.\n\n"
        "{{ owner.name }}\n"
    ),
)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _text(value: str | None, name: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid(f"{name}: must not be empty")
    if len(text) > limit:
        raise Invalid(f"{name}: at most {limit} characters")
    return text


def _summary(problem: str, limit: int = 80) -> str:
    line = " ".join(problem.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _may_write(user: User | None) -> None:
    if user is not None and not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot change escalations")


def _log(
    session: Session,
    escalation: Escalation,
    subject: str,
    body: str,
    *,
    author: User | None,
    when: datetime,
) -> None:
    timeline_service.create(
        session=session,
        account=escalation.account,
        kind=EntryKind.system,
        subject=subject[:300],
        body=f"{body}\n\n(escalation {escalation.id})",
        author=author,
        occurred_at=when,
    )


def _priority(escalation: Escalation) -> Priority:
    priority = PRIORITY_BY_SEVERITY[escalation.severity]
    if escalation.mission_critical and priority in (Priority.normal, Priority.low):
        return Priority.high
    return priority


def _involve(escalation: Escalation, user: User | None) -> None:
    if user is not None and user.id not in {p.user_id for p in escalation.person_links}:
        escalation.person_links.append(EscalationPerson(user_id=user.id, user=user))


def _start_level(
    session: Session,
    escalation: Escalation,
    level: Level,
    *,
    when: datetime,
    opened_by: User | None = None,
) -> None:
    """Put the escalation at ``level``: owner, start and budget."""
    risk = policy.risk(session, escalation.account_id)
    owner = policy.owner_for(
        session,
        level,
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


def _notify(
    session: Session,
    escalation: Escalation,
    *,
    by: User | None,
    settings: Settings | None,
    when: datetime,
) -> list[Task]:
    """Tell the level's owner (tasks, and an email when ``settings`` is given)."""
    owner = escalation.level_owner
    if owner is None or (by is not None and by.id == owner.id):
        return []
    summary = _summary(escalation.problem)
    common = {
        "session": session,
        "account": escalation.account,
        "type": TaskType.risk,
        "due_on": escalation.due_at.date(),
        "owner": owner,
        "priority": _priority(escalation),
        "source": f"escalation:{escalation.id}",
        "reason": {
            "why": f"escalation at {escalation.level.label} level",
            "escalation_id": escalation.id,
            "severity": escalation.severity,
            "mission_critical": escalation.mission_critical,
        },
        "created_by": by,
    }
    if escalation.level is Level.account_manager:
        titles = [
            (
                f"Remove the roadblocks: {summary}",
                "Find what blocks the fix (people, priorities, access) and clear it.",
            ),
            (
                f"Tell the customer what is happening: {summary}",
                "Send the affected contacts a status update (Escalations page) and keep "
                "them informed until it is resolved.",
            ),
        ]
    else:
        titles = [
            (
                f"Escalation ({escalation.level.label}): {summary}",
                f"This escalation is now yours until {escalation.due_at:%Y-%m-%d %H:%M} UTC.",
            )
        ]
    tasks = [
        tasks_service.create(title=title[:300], body=f"{body}\n\n{escalation.problem}", **common)  # type: ignore[arg-type]
        for title, body in titles
    ]
    if settings is not None:
        try:
            mail_service.enqueue(
                session,
                settings=settings,
                account=escalation.account,
                to_address=owner.email,
                subject=f"Escalation for {escalation.account.name}: {summary}",
                text=(
                    f"The escalation of {escalation.account.name} is now with you at the "
                    f"{escalation.level.label} level, until "
                    f"{escalation.due_at:%Y-%m-%d %H:%M} UTC.\n\n{escalation.problem}\n"
                ),
                source=f"escalation:{escalation.id}",
                now=when,
            )
        except (mail_service.EmailRefused, Invalid) as exc:
            log.warning("escalation %s: owner not emailed: %s", escalation.id, exc)
    return tasks


def get(session: Session, escalation_id: str) -> Escalation:
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise NotFound(f"no escalation {escalation_id!r}")
    return escalation


def open_escalation(
    session: Session,
    *,
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
    _may_write(opened_by)
    when = _now(now)
    if severity not in SEVERITIES:
        raise Invalid("severity: must be 1 (worst), 2, 3 or 4")
    contacts, people = list(contacts), list(people)
    if len(contacts) > MAX_LINKS or len(people) > MAX_LINKS:
        raise Invalid(f"contacts, people: at most {MAX_LINKS} each")
    for contact in contacts:
        if contact.account_id != account.id:
            raise Invalid(f"contacts: {contact.name} is not a contact of {account.name}")
    escalation = Escalation(
        account_id=account.id,
        severity=severity,
        mission_critical=mission_critical,
        problem=_text(problem, "problem", MAX_PROBLEM),
        status=EscalationStatus.open,
        opened_by_id=opened_by.id if opened_by else None,
        opened_at=when,
        source=_text(source, "source", 200),
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
    _start_level(session, escalation, level, when=when, opened_by=opened_by)
    session.add(escalation)
    session.flush()
    owner = escalation.level_owner
    _log(
        session,
        escalation,
        f"Escalation opened (severity {severity}"
        f"{', mission-critical' if mission_critical else ''}): {_summary(escalation.problem)}",
        f"{escalation.problem}\n\nLevel: {level.label}, owner: "
        f"{owner.name if owner else 'nobody'}, due {escalation.due_at:%Y-%m-%d %H:%M} UTC; "
        f"source: {escalation.source}.",
        author=opened_by,
        when=when,
    )
    _notify(session, escalation, by=opened_by, settings=settings, when=when)
    outbound.emit(session, "escalation.opened", _event(escalation), now=when)
    session.flush()
    return escalation


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


def escalate(
    session: Session,
    escalation: Escalation,
    *,
    reason: str,
    now: datetime | None = None,
    by: User | None = None,
    settings: Settings | None = None,
) -> Escalation:
    """Up one level: new owner, new budget, the owner notified. At the executive level it
    stays there with a fresh budget and the executive is notified again."""
    _may_write(by)
    if not escalation.is_open:
        raise Conflict(f"the escalation is already {escalation.status.value}")
    when = _now(now)
    reason = _text(reason, "reason", MAX_TEXT)
    before = escalation.level
    after = before.next() or before
    _start_level(session, escalation, after, when=when)
    escalation.escalations += 1
    owner = escalation.level_owner
    subject = (
        f"Escalation moved up to {after.label}: {_summary(escalation.problem)}"
        if after is not before
        else f"Escalation still at {after.label}, owner notified again: "
        f"{_summary(escalation.problem)}"
    )
    _log(
        session,
        escalation,
        subject,
        f"{reason}\n\nFrom {before.label} to {after.label}; owner: "
        f"{owner.name if owner else 'nobody'}, due {escalation.due_at:%Y-%m-%d %H:%M} UTC.",
        author=by,
        when=when,
    )
    _notify(session, escalation, by=by, settings=settings, when=when)
    outbound.emit(session, "escalation.moved_up", _event(escalation), now=when)
    session.flush()
    return escalation


def tick(
    session: Session, now: datetime | None = None, *, settings: Settings | None = None
) -> list[Escalation]:
    """Move every open escalation whose budget ran out up one level; returns them."""
    when = _now(now)
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
            session,
            escalation,
            reason=f"The {escalation.level.label} level's time budget ran out "
            f"(due {escalation.due_at:%Y-%m-%d %H:%M} UTC; {spent:g} h before adjustments).",
            now=when,
            settings=settings,
        )
    return list(due)


@dataclass
class StatusUpdate:
    """What a status update did: queued messages and the contacts it must not reach."""

    queued: list[OutboxMessage] = field(default_factory=list)
    refused: list[tuple[Contact, str]] = field(default_factory=list)


def send_status_update(
    session: Session,
    escalation: Escalation,
    *,
    settings: Settings,
    text: str | None = None,
    by: User,
    now: datetime | None = None,
) -> StatusUpdate:
    """Queue the templated status email (plus ``text``, a note) to every affected contact;
    a contact that must not be emailed (unsubscribed, no address ...) is reported, not
    fatal. Logged on the timeline."""
    _may_write(by)
    if not escalation.is_open:
        raise Conflict(f"the escalation is already {escalation.status.value}")
    contacts = [link.contact for link in escalation.contact_links]
    if not contacts:
        raise Invalid("contacts: this escalation has no affected contacts to update")
    note = (text or "").strip()
    if len(note) > MAX_TEXT:
        raise Invalid(f"text: at most {MAX_TEXT} characters")
    when = _now(now)
    owner = escalation.level_owner
    details = mail_templates.Fields(
        "escalation",
        {
            "id": escalation.id,
            "problem": escalation.problem,
            "summary": _summary(escalation.problem, 60),
            "severity": escalation.severity,
            "mission_critical": escalation.mission_critical,
            "level": escalation.level.label,
            "owner": owner.name if owner else "",
            "opened_on": f"{escalation.opened_at:%Y-%m-%d}",
        },
    )
    result = StatusUpdate()
    for contact in contacts:
        context = mail_templates.context_for(
            account=escalation.account, contact=contact, owner=by, unsubscribe_url=None
        )
        rendered = mail_templates.render(
            STATUS_UPDATE, {**context, "escalation": details, "note": note}
        )
        try:
            message = mail_service.enqueue(
                session,
                settings=settings,
                account=escalation.account,
                to_contact=contact,
                rendered=rendered,
                source=f"escalation:{escalation.id}",
                from_name=by.name,
                now=when,
            )
        except mail_service.EmailRefused as exc:
            result.refused.append((contact, f"{exc.reason.value}: {exc}"))
            continue
        except Invalid as exc:
            result.refused.append((contact, f"invalid: {exc}"))
            continue
        if message is not None:
            result.queued.append(message)
    escalation.status_updates += 1
    escalation.last_status_update_at = when
    lines = [f"Queued for {len(result.queued)} of {len(contacts)} contacts."]
    lines += [f"Not sent to {c.name}: {why}" for c, why in result.refused]
    if note:
        lines.append(f"Note: {note}")
    _log(
        session,
        escalation,
        f"Escalation status update sent: {_summary(escalation.problem)}",
        "\n".join(lines),
        author=by,
        when=when,
    )
    session.flush()
    return result


def resolve(
    session: Session,
    escalation: Escalation,
    *,
    resolution: str,
    by: User | None,
    now: datetime | None = None,
) -> Escalation:
    """Resolved, with how; the timer stops."""
    _may_write(by)
    if not escalation.is_open:
        raise Conflict(f"the escalation is already {escalation.status.value}")
    when = _now(now)
    escalation.resolution = _text(resolution, "resolution", MAX_TEXT)
    escalation.status = EscalationStatus.resolved
    escalation.resolved_at = when
    escalation.resolved_by_id = by.id if by else None
    _log(
        session,
        escalation,
        f"Escalation resolved: {_summary(escalation.problem)}",
        f"{escalation.resolution}\n\n(at the {escalation.level.label} level, "
        f"by {by.name if by else 'the system'})",
        author=by,
        when=when,
    )
    outbound.emit(session, "escalation.resolved", _event(escalation), now=when)
    session.flush()
    return escalation


def list_escalations(
    session: Session,
    *,
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


def contacts_by_id(session: Session, account: Account, ids: Sequence[str]) -> list[Contact]:
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
