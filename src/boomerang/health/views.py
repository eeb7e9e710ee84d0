"""UI: the health portfolio page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.accounts import service as accounts_service
from boomerang.health import portfolio as portfolio_service
from boomerang.health import service as health_service
from boomerang.segments import service as segments_service
from boomerang.users import service as users_service
from boomerang.users.models import Role
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser, require_writer
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/health")
def portfolio_page(
    request: Request,
    session: SessionDep,
    user: UIUser,
    segment: Annotated[str | None, Query(max_length=40)] = None,
    owner: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Accounts by colour and vector, distribution, who turned red this week, lowest scores."""
    owner_id = user.id if owner == "me" else (owner or None)
    data = portfolio_service.portfolio(
        session=session, segment_id=segment or None, owner_id=owner_id
    )
    return render(
        request,
        "health/portfolio.html",
        {
            "p": data,
            "colours": portfolio_service.COLOURS,
            "vectors": portfolio_service.VECTORS,
            "segments": segments_service.list_segments(session=session),
            "owners": users_service.list_users(session=session, roles=[Role.csm, Role.manager]),
            "segment": segment or "",
            "owner": owner or "",
            "max_bin": max(data.histogram) or 1,
        },
    )


@router.post("/accounts/{ref}/health/overrides", dependencies=[CSRFChecked])
def add_override(
    ref: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    score: Annotated[float, Form(ge=0, le=100)],
    reason: Annotated[str, Form(min_length=1, max_length=2000)],
    days: Annotated[int, Form(ge=1, le=365)] = 30,
    measure: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Override the account's score (or a measure's) from the account page."""
    require_writer(user)
    account = accounts_service.get_by_ref(session=session, ref=ref)
    health_service.create_override(
        session=session,
        account=account,
        score=score,
        reason=reason,
        author=user,
        days=days,
        measure_key=measure or None,
    )
    health_service.recompute_account(
        session=session, source=request.app.state.event_source, account=account
    )
    return RedirectResponse(f"/accounts/{account.id}#health", status_code=303)


@router.post("/accounts/{ref}/health/overrides/{override_id}/revoke", dependencies=[CSRFChecked])
def revoke_override(
    ref: str, override_id: str, request: Request, session: SessionDep, user: UIUser
) -> Response:
    require_writer(user)
    account = accounts_service.get_by_ref(session=session, ref=ref)
    target = health_service.get_override(session=session, account=account, override_id=override_id)
    health_service.revoke_override(session=session, override=target, by=user)
    health_service.recompute_account(
        session=session, source=request.app.state.event_source, account=account
    )
    return RedirectResponse(f"/accounts/{account.id}#health", status_code=303)
