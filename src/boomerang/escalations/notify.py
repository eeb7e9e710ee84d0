"""Telling people about an escalation: its level's owner (tasks in the inbox, and an email
when ``settings`` is given) and the affected contacts (the templated status update).

See :mod:`boomerang.escalations.service` for who is notified of what.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from boomerang.accounts.models import Contact
from boomerang.config import Settings
from boomerang.errors import Conflict, Invalid
from boomerang.escalations import checks
from boomerang.escalations.models import Escalation, Level
from boomerang.mail import service as mail_service
from boomerang.mail import templates as mail_templates
from boomerang.mail.models import OutboxMessage
from boomerang.tasks import service as tasks_service
from boomerang.tasks.models import Priority, Task, TaskType
from boomerang.timeline import events as timeline_events
from boomerang.users.models import User

log = logging.getLogger(__name__)

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


# -- the level's owner -------------------------------------------------------------------


def _priority(escalation: Escalation) -> Priority:
    priority = PRIORITY_BY_SEVERITY[escalation.severity]
    if escalation.mission_critical and priority in (Priority.normal, Priority.low):
        return Priority.high
    return priority


def _owner_work(escalation: Escalation, summary: str) -> list[tuple[str, str]]:
    """The (title, body) of each task the level's owner gets."""
    if escalation.level is Level.account_manager:
        return [
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
    return [
        (
            f"Escalation ({escalation.level.label}): {summary}",
            f"This escalation is now yours until {escalation.due_at:%Y-%m-%d %H:%M} UTC.",
        )
    ]


def _owner_tasks(
    *, session: Session, escalation: Escalation, owner: User, by: User | None
) -> list[Task]:
    reason = {
        "why": f"escalation at {escalation.level.label} level",
        "escalation_id": escalation.id,
        "severity": escalation.severity,
        "mission_critical": escalation.mission_critical,
    }
    return [
        tasks_service.create(
            session=session,
            account=escalation.account,
            title=title[:300],
            body=f"{body}\n\n{escalation.problem}",
            type=TaskType.risk,
            due_on=escalation.due_at.date(),
            owner=owner,
            priority=_priority(escalation),
            source=f"escalation:{escalation.id}",
            reason=reason,
            created_by=by,
        )
        for title, body in _owner_work(escalation, checks.summary(escalation.problem))
    ]


def _email_owner(
    *, session: Session, escalation: Escalation, owner: User, settings: Settings, when: datetime
) -> None:
    account = escalation.account
    try:
        mail_service.enqueue(
            session=session,
            settings=settings,
            account=account,
            to_address=owner.email,
            subject=f"Escalation for {account.name}: {checks.summary(escalation.problem)}",
            text=(
                f"The escalation of {account.name} is now with you at the "
                f"{escalation.level.label} level, until "
                f"{escalation.due_at:%Y-%m-%d %H:%M} UTC.\n\n{escalation.problem}\n"
            ),
            source=f"escalation:{escalation.id}",
            now=when,
        )
    except (mail_service.EmailRefused, Invalid) as exc:
        log.warning("escalation %s: owner not emailed: %s", escalation.id, exc)


def notify_owner(
    *,
    session: Session,
    escalation: Escalation,
    by: User | None,
    settings: Settings | None,
    when: datetime,
) -> list[Task]:
    """Tell the level's owner (tasks, and an email when ``settings`` is given); nobody is
    notified of what they did themselves."""
    owner = escalation.level_owner
    if owner is None or (by is not None and by.id == owner.id):
        return []
    tasks = _owner_tasks(session=session, escalation=escalation, owner=owner, by=by)
    if settings is not None:
        _email_owner(
            session=session, escalation=escalation, owner=owner, settings=settings, when=when
        )
    return tasks


# -- the customer's status update --------------------------------------------------------


@dataclass
class StatusUpdate:
    """What a status update did: queued messages and the contacts it must not reach."""

    queued: list[OutboxMessage] = field(default_factory=list)
    refused: list[tuple[Contact, str]] = field(default_factory=list)


def _details(escalation: Escalation) -> mail_templates.Fields:
    """The escalation as the status update template sees it."""
    owner = escalation.level_owner
    return mail_templates.Fields(
        "escalation",
        {
            "id": escalation.id,
            "problem": escalation.problem,
            "summary": checks.summary(escalation.problem, 60),
            "severity": escalation.severity,
            "mission_critical": escalation.mission_critical,
            "level": escalation.level.label,
            "owner": owner.name if owner else "",
            "opened_on": f"{escalation.opened_at:%Y-%m-%d}",
        },
    )


def _queue(
    *,
    session: Session,
    escalation: Escalation,
    contacts: list[Contact],
    note: str,
    settings: Settings,
    by: User,
    when: datetime,
) -> StatusUpdate:
    """Queue the status email to each contact; the refused ones are reported."""
    details = _details(escalation)
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
                session=session,
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
    return result


def send_status_update(
    *,
    session: Session,
    escalation: Escalation,
    settings: Settings,
    text: str | None = None,
    by: User,
    now: datetime | None = None,
) -> StatusUpdate:
    """Queue the templated status email (plus ``text``, a note) to every affected contact;
    a contact that must not be emailed (unsubscribed, no address ...) is reported, not
    fatal. Logged on the timeline."""
    checks.may_write(by)
    if not escalation.is_open:
        raise Conflict(f"the escalation is already {escalation.status.value}")
    contacts = [link.contact for link in escalation.contact_links]
    if not contacts:
        raise Invalid("contacts: this escalation has no affected contacts to update")
    note = (text or "").strip()
    if len(note) > checks.MAX_TEXT:
        raise Invalid(f"text: at most {checks.MAX_TEXT} characters")
    when = checks.now(now)
    result = _queue(
        session=session,
        escalation=escalation,
        contacts=contacts,
        note=note,
        settings=settings,
        by=by,
        when=when,
    )
    escalation.status_updates += 1
    escalation.last_status_update_at = when
    timeline_events.escalation_update_sent(
        session=session,
        account_id=escalation.account_id,
        escalation_id=escalation.id,
        summary=checks.summary(escalation.problem),
        queued=len(result.queued),
        contacts=len(contacts),
        refused=[(c.name, why) for c, why in result.refused],
        note=note,
        by=by,
        occurred_at=when,
    )
    session.flush()
    return result
