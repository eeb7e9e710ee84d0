"""REST: ``/api/v1/accounts`` (one account's detail: ``flows/account_overview.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Account, Stage
from boomerang.accounts.schemas import AccountOut, AccountPage
from boomerang.web.deps import APIUser, SessionDep

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


def account_fields(account: Account) -> dict[str, Any]:
    """An account as the API shows it (``AccountOut``), as a dict."""
    data = AccountOut.model_validate(
        {
            **{
                c: getattr(account, c) for c in AccountOut.model_fields if c not in {"arr", "owner"}
            },
            "owner": account.owner,
            "arr": {"amount": account.arr, "currency": account.currency},
        }
    )
    return data.model_dump()


@router.get("", response_model=AccountPage)
def list_accounts(
    session: SessionDep,
    user: APIUser,
    q: Annotated[
        str | None, Query(max_length=200, description="Name, domain or external id")
    ] = None,
    owner: Annotated[str | None, Query(description="Owner user id, or `me`")] = None,
    tier: Annotated[str | None, Query(max_length=50)] = None,
    stage: Stage | None = None,
    sort: accounts_service.AccountSort = accounts_service.AccountSort.arr_desc,
    limit: Annotated[int, Query(ge=1, le=accounts_service.MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> AccountPage:
    """Accounts matching the filters, one page at a time (follow `next_cursor`)."""
    flt = accounts_service.AccountFilter(
        q=q, owner_id=user.id if owner == "me" else owner, tier=tier, stage=stage
    )
    page = accounts_service.list_accounts(
        session=session, flt=flt, sort=sort, limit=limit, cursor=cursor
    )
    return AccountPage.model_validate(
        {
            "items": [account_fields(a) for a in page.items],
            "next_cursor": page.next_cursor,
            "total": page.total,
        }
    )
