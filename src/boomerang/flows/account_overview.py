"""The account overview: what the account 360 page and ``GET /api/v1/accounts/{ref}`` show.

It reads from most domains (billing, support, timeline, usage, journey, health, churn, value,
revenue, tasks, escalations, surveys), which is why it lives above them: the accounts domain,
the lowest, imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.api import account_fields
from boomerang.accounts.models import Account
from boomerang.accounts.schemas import AccountOut, ContactOut
from boomerang.analytics import queries
from boomerang.analytics.source import EventSource, EventSourceError
from boomerang.billing import service as billing_service
from boomerang.billing.schemas import SubscriptionOut
from boomerang.churn import service as churn_service
from boomerang.clv import valuation
from boomerang.errors import Invalid
from boomerang.escalations import service as escalations_service
from boomerang.health import service as health_service
from boomerang.journey import service as journey_service
from boomerang.metrics import revenue
from boomerang.support import service as support_service
from boomerang.surveys import service as surveys_service
from boomerang.tasks import service as tasks_service
from boomerang.timeline import service as timeline_service
from boomerang.web.deps import APIUser, SessionDep, UIUser
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


@dataclass
class Overview:
    """Everything the 360 page shows of one account; ``*_error`` says why a part is missing."""

    account: Account
    today: date
    reporting_currency: str
    parts: dict[str, Any] = field(default_factory=dict)


def _usage(source: EventSource, account: Account, now: datetime) -> dict[str, Any]:
    try:
        with source.open() as events:
            usage = queries.account_activity(
                events, account_external_id=account.external_id, as_of=now, days=30
            )
        return {"usage": usage, "usage_error": None}
    except EventSourceError as exc:  # the rest of the page does not depend on the warehouse
        return {"usage": None, "usage_error": exc.message}


def _milestones(session: Session, account: Account) -> dict[str, Any]:
    try:
        milestones = journey_service.account_milestones(
            session=session, journey=journey_service.load(session=session), account=account
        )
        return {"milestones": milestones, "milestones_error": None}
    except Invalid as exc:  # the journey rules no longer fit the data: say so, show the rest
        return {"milestones": [], "milestones_error": exc.message}


def _arr_moves(session: Session, account: Account, today: date, currency: str) -> dict[str, Any]:
    try:
        moves = revenue.movements(
            session=session,
            start=revenue.add_months(today, -24),
            end=today,
            currency=currency,
            account_id=account.id,
        )
        return {
            "arr_moves": sorted(moves, key=lambda m: m.day, reverse=True),
            "arr_moves_error": None,
        }
    except Invalid as exc:  # no exchange rate for the account's currency: say so
        return {"arr_moves": [], "arr_moves_error": exc.message}


def _work(session: Session, account: Account, today: date, now: datetime) -> dict[str, Any]:
    return {
        "tasks": tasks_service.list_tasks(
            session=session,
            filters=tasks_service.Filters(account_id=account.id),
            today=today,
            limit=20,
        ),
        "escalations": escalations_service.list_escalations(
            session=session, account_id=account.id, limit=20
        ),
        "overrides": [
            o
            for o in health_service.list_overrides(session=session, account=account)
            if o.revoked_at is None and o.expires_at > now
        ],
    }


def overview(
    *, session: Session, source: EventSource, account: Account, reporting_currency: str
) -> Overview:
    """The account's 360: records, usage, journey, health, risk, value, revenue and open work."""
    now = datetime.now(UTC)
    today = now.date()
    parts: dict[str, Any] = {
        "contacts": accounts_service.list_contacts(session=session, account=account),
        "subscriptions": billing_service.list_subscriptions(session=session, account=account),
        "invoices": billing_service.list_invoices(session=session, account=account, limit=8),
        "tickets": support_service.list_for_account(session=session, account=account),
        "timeline": timeline_service.list_for_account(session=session, account=account),
        "health": health_service.explain(session=session, account=account),
        "churn_risk": churn_service.account_risk(session=session, account_id=account.id),
        "lifetime_value": valuation.find_account_value(session=session, account_id=account.id),
        "surveys": surveys_service.account_summary(session=session, account=account),
    }
    parts |= _usage(source, account, now)
    parts |= _milestones(session, account)
    parts |= _arr_moves(session, account, today, reporting_currency)
    parts |= _work(session, account, today, now)
    return Overview(
        account=account, today=today, reporting_currency=reporting_currency, parts=parts
    )


@router.get("/accounts/{ref}")
def account_page(request: Request, ref: str, session: SessionDep, user: UIUser) -> Response:
    """The account 360: header, contacts, contracts, usage, tickets and timeline."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    seen = overview(
        session=session,
        source=request.app.state.event_source,
        account=account,
        reporting_currency=request.app.state.settings.reporting_currency,
    )
    context = {
        "account": account,
        **seen.parts,
        "reporting_currency": seen.reporting_currency,
        "today": seen.today,
        "can_write": user.role.can_write,
    }
    return render(request, "accounts/detail.html", context)


class AccountDetail(AccountOut):
    contacts: list[ContactOut]
    subscriptions: list[SubscriptionOut]


@api_router.get("/{ref}", response_model=AccountDetail)
def get_account(ref: str, session: SessionDep, user: APIUser) -> AccountDetail:
    """One account by id (`acc_...`) or external id, with its contacts, subscriptions and ARR."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    return AccountDetail.model_validate(
        {
            **account_fields(account),
            "contacts": accounts_service.list_contacts(session=session, account=account),
            "subscriptions": billing_service.list_subscriptions(session=session, account=account),
        }
    )
