"""The accounts list, a CSM's book: accounts with the portfolio's overdue business reviews.

It shows more than the accounts domain holds, so it lives here, above the domains (the account
page is :mod:`boomerang.flows.account_overview`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Stage
from boomerang.errors import Invalid
from boomerang.reviews import service as reviews_service
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
