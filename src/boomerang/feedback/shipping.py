"""Telling the requesters of a shipped feature: an entry on each requesting account's
timeline and one email per requesting contact through the outbox, deduplicated per request
and contact. Contacts the outbox refuses (unsubscribed, frequency cap) are listed with the
reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Contact
from boomerang.config import Settings
from boomerang.errors import Invalid
from boomerang.feedback.models import FeatureRequest, FeedbackItem
from boomerang.mail import service as mail_service
from boomerang.mail.templates import first_name
from boomerang.timeline import events as timeline_events


@dataclass
class Notified:
    queued: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


SHIPPED_TEXT = (
    "Hello {first},\n\n"
    "You asked us for this, and it is now available:\n\n"
    "  {title}\n\n"
    "{description}"
    "Thank you for telling us what you needed.\n\n"
    "{owner}\n"
)


def tell_shipped(
    *,
    session: Session,
    request: FeatureRequest,
    settings: Settings | None,
    when: datetime,
    into: Notified,
) -> None:
    """A shipped request: an entry on each requesting account's timeline and (with
    ``settings``) one email per requesting contact."""
    items = session.scalars(
        select(FeedbackItem)
        .where(FeedbackItem.request_id == request.id)
        .order_by(FeedbackItem.created_at, FeedbackItem.id)
    ).all()
    told: set[str] = set()
    logged: set[str] = set()
    for item in items:
        if item.account_id not in logged:
            logged.add(item.account_id)
            timeline_events.feature_shipped(
                session=session, account_id=item.account_id, title=request.title, occurred_at=when
            )
        contact = item.contact
        if contact is None or settings is None or contact.id in told:
            continue
        told.add(contact.id)
        _email_shipped(
            session=session,
            request=request,
            item=item,
            contact=contact,
            settings=settings,
            when=when,
            into=into,
        )


def _email_shipped(
    *,
    session: Session,
    request: FeatureRequest,
    item: FeedbackItem,
    contact: Contact,
    settings: Settings,
    when: datetime,
    into: Notified,
) -> None:
    owner = item.account.owner
    text = SHIPPED_TEXT.format(
        first=first_name(contact.name),
        title=request.title,
        description=f"{request.description}\n\n" if request.description else "",
        owner=owner.name if owner else "Customer Success",
    )
    try:
        message = mail_service.enqueue(
            session=session,
            settings=settings,
            account=item.account,
            to_contact=contact,
            subject=f"You asked, we shipped: {request.title}"[:300],
            text=text,
            source=f"feature:{request.id}",
            dedupe_key=f"feature-shipped:{request.id}:{contact.id}",
            now=when,
        )
    except (mail_service.EmailRefused, Invalid) as exc:
        into.refused.append((contact.id, exc.message))
        return
    item.notified_at = when
    if message is not None:
        into.queued.append(message.id)
