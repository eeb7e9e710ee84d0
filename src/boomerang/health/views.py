"""UI: the health portfolio page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from boomerang.health import portfolio as portfolio_service
from boomerang.segments import service as segments_service
from boomerang.users import service as users_service
from boomerang.users.models import Role
from boomerang.web.deps import SessionDep, UIUser
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
