"""UI: the churn model page (its out-of-time report and the accounts most at risk)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from boomerang.churn import service
from boomerang.web.deps import SessionDep, UIUser
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/churn")
def churn_page(request: Request, session: SessionDep, user: UIUser) -> Response:
    row = service.latest_model(session=session)
    return render(
        request,
        "churn/model.html",
        {
            "model": row,
            "report": row.report if row else None,
            "at_risk": service.most_at_risk(session=session, limit=50) if row else [],
        },
    )
