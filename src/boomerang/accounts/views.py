"""UI: the accounts list and the account page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Stage
from boomerang.analytics import queries
from boomerang.analytics.source import EventSourceError
from boomerang.billing import service as billing_service
from boomerang.churn import service as churn_service
from boomerang.clv import valuation
from boomerang.errors import Invalid
from boomerang.escalations import service as escalations_service
from boomerang.health import service as health_service
from boomerang.journey import service as journey_service
from boomerang.metrics import revenue
from boomerang.reviews import service as reviews_service
from boomerang.support import service as support_service
from boomerang.surveys import service as surveys_service
from boomerang.tasks import service as tasks_service
from boomerang.timeline import service as timeline_service
from boomerang.users import service as users_service
from boomerang.users.models import Role
from boomerang.web.deps import SessionDep, UIUser
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)

SORT_LABELS = {
    accounts_service.AccountSort.arr_desc: "ARR, highest first",
    accounts_service.AccountSort.arr_asc: "ARR, lowest first",
    accounts_service.AccountSort.renewal: "Renewal date, soonest first",
    accounts_service.AccountSort.name: "Name",
}


def _stage(value: str | None) -> Stage | None:
    """The stage a filter form sent; its empty "All" option means no filter."""
    if not value:
        return None
    try:
        return Stage(value)
    except ValueError:
        raise Invalid(f"stage: must be one of {', '.join(s.value for s in Stage)}") from None


@router.get("/accounts")
def accounts_list(
    request: Request,
    session: SessionDep,
    user: UIUser,
    q: Annotated[str | None, Query(max_length=200)] = None,
    owner: Annotated[str | None, Query(max_length=40)] = None,
    tier: Annotated[str | None, Query(max_length=50)] = None,
    stage: Annotated[str | None, Query(max_length=40, description="a stage; empty for all")] = None,
    sort: accounts_service.AccountSort = accounts_service.AccountSort.arr_desc,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Search, filter and page through accounts; CSMs start on their own book."""
    stage_filter = _stage(stage)
    if owner is None:
        owner = "me" if user.role is Role.csm else "all"
    owner_id = user.id if owner == "me" else None if owner == "all" else owner
    flt = accounts_service.AccountFilter(
        q=q or None, owner_id=owner_id, tier=tier or None, stage=stage_filter
    )
    page = accounts_service.list_accounts(
        session=session, flt=flt, sort=sort, limit=limit, cursor=cursor
    )
    return render(
        request,
        "accounts/list.html",
        {
            "page": page,
            "filters": {
                "q": q or "",
                "owner": owner,
                "tier": tier or "",
                "stage": stage_filter.value if stage_filter else "",
                "sort": sort.value,
                "limit": limit,
            },
            "first_page": cursor is None,
            "owners": users_service.list_users(session=session, roles=[Role.csm, Role.manager]),
            "tiers": accounts_service.distinct_tiers(session=session),
            "stages": list(Stage),
            "sorts": SORT_LABELS,
            # The portfolio's overdue business reviews (the filtered owner's, or everyone's).
            "overdue_reviews": reviews_service.overdue_count(session=session, owner_id=owner_id),
        },
    )


@router.get("/accounts/{ref}")
def account_page(request: Request, ref: str, session: SessionDep, user: UIUser) -> Response:
    """The account 360: header, contacts, contracts, usage, tickets and timeline."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    usage: queries.AccountActivity | None = None
    usage_error = None
    try:
        with request.app.state.event_source.open() as events:
            usage = queries.account_activity(
                events, account_external_id=account.external_id, as_of=datetime.now(UTC), days=30
            )
    except EventSourceError as exc:  # the rest of the page does not depend on the warehouse
        usage_error = exc.message
    try:
        milestones = journey_service.account_milestones(
            session=session, journey=journey_service.load(session=session), account=account
        )
        milestones_error = None
    except Invalid as exc:  # the journey rules no longer fit the data: say so, show the rest
        milestones, milestones_error = [], exc.message
    currency = request.app.state.settings.reporting_currency
    today = datetime.now(UTC).date()
    try:
        arr_moves = revenue.movements(
            session=session,
            start=revenue.add_months(today, -24),
            end=today,
            currency=currency,
            account_id=account.id,
        )
        arr_moves_error = None
    except Invalid as exc:  # no exchange rate for the account's currency: say so
        arr_moves, arr_moves_error = [], exc.message
    return render(
        request,
        "accounts/detail.html",
        {
            "account": account,
            "contacts": accounts_service.list_contacts(session=session, account=account),
            "subscriptions": billing_service.list_subscriptions(session=session, account=account),
            "invoices": billing_service.list_invoices(session=session, account=account, limit=8),
            "tickets": support_service.list_for_account(session=session, account=account),
            "timeline": timeline_service.list_for_account(session=session, account=account),
            "usage": usage,
            "usage_error": usage_error,
            "milestones": milestones,
            "milestones_error": milestones_error,
            "health": health_service.explain(session=session, account=account),
            "churn_risk": churn_service.account_risk(session=session, account_id=account.id),
            "lifetime_value": valuation.account_value(session=session, account_id=account.id),
            "arr_moves": sorted(arr_moves, key=lambda m: m.day, reverse=True),
            "tasks": tasks_service.list_tasks(
                session=session,
                filters=tasks_service.Filters(account_id=account.id),
                today=today,
                limit=20,
            ),
            "escalations": escalations_service.list_escalations(
                session, account_id=account.id, limit=20
            ),
            "surveys": surveys_service.account_summary(session, account),
            "arr_moves_error": arr_moves_error,
            "reporting_currency": currency,
            "overrides": [
                o
                for o in health_service.list_overrides(session=session, account=account)
                if o.revoked_at is None and o.expires_at > datetime.now(UTC)
            ],
            "today": datetime.now(UTC).date(),
            "can_write": user.role.can_write,
        },
    )
