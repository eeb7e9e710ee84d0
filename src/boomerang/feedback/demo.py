"""Feedback for the demo company: five feature requests asked for by accounts chosen by a
hash of their external id (from CSM notes, tickets, survey comments and the API), one of
them shipped, and a customer advisory board of the champions of the ten largest accounts
with two meetings. Deterministic for a demo seed."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact, ContactRole, ContactRoleLink, Stage
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.feedback import service
from boomerang.feedback.models import Channel, CustomerGroup, GroupKind, RequestStatus

REQUESTS = (
    ("Single sign-on (SAML)", "Log in through Okta or Azure AD.", 3),
    ("Salesforce two-way sync", "Write health and tasks back to Salesforce.", 5),
    ("Scheduled CSV export", "A nightly export of every report to S3.", 7),
    ("Audit log", "Who changed what, and when.", 9),
    ("Dark mode", "", 13),
)
CHANNELS = (Channel.csm_note, Channel.ticket, Channel.survey, Channel.api)


def _hash(*parts: str) -> int:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:12], 16)


def seed(*, session: Session, settings: Settings, source: EventSource, today: date) -> str:
    """Fill feedback, feature requests and the advisory board; returns a summary."""
    items = _requests(session=session)
    shipped = service.get_request(session=session, ref="Audit log")
    # No emails in the demo: no settings.
    service.set_status(session=session, request=shipped, status=RequestStatus.shipped)
    service.set_status(
        session=session,
        request=service.get_request(session=session, ref="Single sign-on (SAML)"),
        status="planned",
    )
    board = _advisory_board(session=session, today=today)
    return (
        f"feedback: {len(REQUESTS)} feature requests, {items} feedback items, "
        f"advisory board of {len(board.members)} with 2 meetings"
    )


def _requests(*, session: Session) -> int:
    """The feature requests and the accounts' feedback asking for them; returns how many
    feedback items."""
    accounts = session.scalars(
        select(Account).where(Account.stage != Stage.churned).order_by(Account.external_id)
    ).all()
    first_contact = {
        account_id: contact
        for account_id, contact in reversed(
            session.execute(
                select(Contact.account_id, Contact)
                .where(Contact.email.is_not(None))
                .order_by(Contact.account_id, Contact.name)
            ).all()
        )
    }
    items = 0
    for title, description, every in REQUESTS:
        request = service.create_request(session=session, title=title, description=description)
        for account in accounts:
            h = _hash(title, account.external_id)
            if h % every:
                continue
            contact = first_contact.get(account.id) if h % 3 else None
            service.add_feedback(
                session=session,
                account=account,
                text=f"{account.name} asked for: {title.lower()}.",
                channel=CHANNELS[h // 7 % len(CHANNELS)],
                contact=contact,
                request=request,
            )
            items += 1
    return items


def _advisory_board(*, session: Session, today: date) -> CustomerGroup:
    """The advisory board: the champions of the ten largest accounts, with two meetings."""
    board = service.create_group(
        session=session,
        name="Customer advisory board",
        kind=GroupKind.advisory_board,
        description="Champions of our largest customers; meets every quarter.",
    )
    champions = session.execute(
        select(Contact)
        .join(Account, Account.id == Contact.account_id)
        .join(ContactRoleLink, ContactRoleLink.contact_id == Contact.id)
        .where(ContactRoleLink.role == ContactRole.champion, Account.stage != Stage.churned)
        .order_by(Account.arr.desc(), Account.external_id, Contact.name)
    ).scalars()
    seen: set[str] = set()
    for contact in champions:
        if contact.account_id in seen or len(seen) >= 10:
            continue
        seen.add(contact.account_id or "")
        service.add_member(
            session=session, group=board, contact=contact, joined_on=today - timedelta(days=200)
        )
    service.add_meeting(
        session=session,
        group=board,
        held_on=today - timedelta(days=120),
        title="Roadmap preview",
        notes="Top asks: single sign-on and a two-way Salesforce sync.",
    )
    service.add_meeting(
        session=session,
        group=board,
        held_on=today - timedelta(days=30),
        title="Quarterly session",
        notes="Audit log shipped; SSO planned for next quarter.",
    )
    return board
