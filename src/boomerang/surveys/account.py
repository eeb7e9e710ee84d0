"""The surveys panel of the account page: latest answers, NPS over the year, open
invitations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact
from boomerang.db import utcnow
from boomerang.surveys.models import RecipientStatus, SurveyKind, SurveyRecipient, SurveyResponse
from boomerang.surveys.responses import list_responses
from boomerang.surveys.rollup import Rollup


@dataclass(frozen=True)
class AccountSurveys:
    """What the account page shows of surveys (``contacts``: contact id to name)."""

    responses: list[SurveyResponse]
    contacts: dict[str, str]
    nps: Rollup | None
    open_invitations: int


def account_summary(*, session: Session, account: Account, limit: int = 10) -> AccountSurveys:
    """The account's latest answers, its NPS over the last year and open invitations."""
    responses = list_responses(session=session, account_id=account.id, limit=limit)
    names = dict(
        session.execute(
            select(Contact.id, Contact.name).where(
                Contact.id.in_({r.contact_id for r in responses if r.contact_id})
            )
        ).all()
    )
    now = utcnow()
    r = SurveyResponse
    row = session.execute(
        select(
            func.count(),
            func.sum(case((r.score >= 9, 1), else_=0)),
            func.sum(case((r.score <= 6, 1), else_=0)),
        ).where(
            r.account_id == account.id,
            r.survey == SurveyKind.nps,
            r.responded_at >= now - timedelta(days=365),
        )
    ).one()
    n, p, d = int(row[0]), int(row[1] or 0), int(row[2] or 0)
    nps = Rollup("account", n, p, n - p - d, d, None, 0, 0) if n else None
    open_count = session.scalar(
        select(func.count()).where(
            SurveyRecipient.account_id == account.id,
            SurveyRecipient.status == RecipientStatus.invited,
            SurveyRecipient.expires_at > now,
        )
    )
    return AccountSurveys(responses, names, nps, int(open_count or 0))
