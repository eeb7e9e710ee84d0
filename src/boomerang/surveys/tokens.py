"""Survey links: the signed token of an invitation, its public response page, and back.

Each invitation's links carry the recipient's token (``/s/<token>``, a score chosen with
``?score=N``); the token names the recipient row and is signed with the secret key.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from boomerang.config import Settings
from boomerang.errors import Invalid, NotFound
from boomerang.surveys.models import SurveyRecipient

SALT = "boomerang.surveys.response"
PATH = "/s"


def _signer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.resolved_secret_key(), salt=SALT)


def token_for(settings: Settings, recipient_id: str) -> str:
    """The signed token of one invitation (it names the recipient row)."""
    token: str = _signer(settings).dumps(recipient_id)
    return token


def response_url(settings: Settings, recipient_id: str, score: int | None = None) -> str:
    """The public response page of an invitation, with a score chosen when given."""
    url = f"{settings.public_base_url}{PATH}/{token_for(settings, recipient_id)}"
    return url if score is None else f"{url}?score={score}"


def recipient_for_token(*, session: Session, settings: Settings, token: str) -> SurveyRecipient:
    """The invitation a token was signed for; Invalid when forged or garbled, NotFound when
    its invitation no longer exists."""
    try:
        value = _signer(settings).loads(token)
    except BadSignature:
        raise Invalid("token: this survey link is not valid (incomplete or changed)") from None
    if not isinstance(value, str):
        raise Invalid("token: this survey link is not valid")
    recipient = session.get(SurveyRecipient, value)
    if recipient is None:
        raise NotFound("token: this survey invitation no longer exists")
    return recipient
