"""Value digest stakeholders: who of an account gets the digest and how often, and their
opt-out (a signed link in each digest; it stops digests only, and sticks)."""

from __future__ import annotations

from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Contact
from boomerang.config import Settings
from boomerang.db import utcnow
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.users.models import User
from boomerang.value.models import DigestFrequency, DigestSubscription

OPT_OUT_SALT = "boomerang.value.digest-opt-out"
OPT_OUT_PATH = "/digests/opt-out"


def subscribe(
    *,
    session: Session,
    contact: Contact,
    frequency: DigestFrequency = DigestFrequency.monthly,
    by: User | None = None,
) -> DigestSubscription:
    """Add the contact to their account's digest recipients (or change their frequency).
    A contact who opted out is not added back: Conflict (they said no)."""
    if contact.account_id is None:
        raise Invalid(f"contact: {contact.name} belongs to no account")
    if not contact.email:
        raise Invalid(f"contact: {contact.name} has no email address")
    sub = session.scalar(
        select(DigestSubscription).where(DigestSubscription.contact_id == contact.id)
    )
    if sub is not None and sub.opted_out_at is not None:
        raise Conflict(f"{contact.name} opted out of value digests on {sub.opted_out_at:%Y-%m-%d}")
    if sub is None:
        sub = DigestSubscription(
            account_id=contact.account_id,
            contact_id=contact.id,
            created_by_id=by.id if by else None,
        )
        session.add(sub)
    sub.frequency = frequency
    session.flush()
    return sub


def remove(*, session: Session, subscription: DigestSubscription) -> None:
    """Stop sending (a CSM's decision; keeps no trace, unlike an opt-out)."""
    if subscription.opted_out_at is not None:
        raise Conflict("the contact opted out: the opt-out is kept")
    session.delete(subscription)
    session.flush()


def opt_out(
    *, session: Session, subscription: DigestSubscription, now: datetime | None = None
) -> bool:
    """The stakeholder opts out of digests; False when they already had."""
    if subscription.opted_out_at is not None:
        return False
    subscription.opted_out_at = now or utcnow()
    session.flush()
    return True


def get(*, session: Session, subscription_id: str) -> DigestSubscription:
    sub = session.get(DigestSubscription, subscription_id)
    if sub is None:
        raise NotFound(f"no digest subscription {subscription_id!r}")
    return sub


def list_for(*, session: Session, account_id: str) -> list[DigestSubscription]:
    return list(
        session.scalars(
            select(DigestSubscription)
            .options(selectinload(DigestSubscription.contact))
            .where(DigestSubscription.account_id == account_id)
            .order_by(DigestSubscription.created_at, DigestSubscription.id)
        )
    )


def _signer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.resolved_secret_key(), salt=OPT_OUT_SALT)


def opt_out_url(settings: Settings, subscription: DigestSubscription) -> str:
    token: str = _signer(settings).dumps(subscription.id)
    return f"{settings.public_base_url}{OPT_OUT_PATH}/{token}"


def subscription_for_token(
    *, session: Session, settings: Settings, token: str
) -> DigestSubscription | None:
    try:
        value = _signer(settings).loads(token)
    except BadSignature:
        return None
    return session.get(DigestSubscription, value) if isinstance(value, str) else None
