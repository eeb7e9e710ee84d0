"""Sharing a success plan: signed links to its read-only customer view, and revoking them."""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from boomerang.config import Settings
from boomerang.errors import Invalid
from boomerang.success.models import (
    PlanStatus,
    SuccessPlan,
)

SHARE_SALT = "boomerang.success.share"
SHARE_PATH = "/shared/plans"


def _signer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.resolved_secret_key(), salt=SHARE_SALT)


def share_token(settings: Settings, plan: SuccessPlan) -> str:
    """A signed token for the read-only customer view of the plan."""
    token: str = _signer(settings).dumps([plan.id, plan.share_nonce])
    return token


def share_url(settings: Settings, plan: SuccessPlan) -> str:
    return f"{settings.public_base_url}{SHARE_PATH}/{share_token(settings, plan)}"


def plan_for_token(
    *, session: Session, settings: Settings, token: str, max_age_days: int
) -> SuccessPlan:
    """The plan a share token is for; Invalid when forged, expired or revoked."""
    try:
        value = _signer(settings).loads(token, max_age=max_age_days * 86400)
    except SignatureExpired:
        raise Invalid(
            "this link has expired: ask your customer success manager for a new one"
        ) from None
    except BadSignature:
        raise Invalid("this link is not valid") from None
    if not (isinstance(value, list) and len(value) == 2):
        raise Invalid("this link is not valid")
    plan = session.get(SuccessPlan, value[0])
    if plan is None or plan.share_nonce != value[1] or plan.status is PlanStatus.archived:
        raise Invalid("this link is no longer valid")
    return plan


def revoke_links(*, session: Session, plan: SuccessPlan) -> SuccessPlan:
    """Invalidate every share link handed out for the plan."""
    plan.share_nonce = secrets.token_hex(8)
    session.flush()
    return plan
