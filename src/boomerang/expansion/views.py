"""UI: the Expansion page (open opportunities, the summary by signal) and its forms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.accounts import service as accounts_service
from boomerang.errors import Invalid
from boomerang.expansion import service
from boomerang.expansion.models import Signal
from boomerang.renewals.forms import answer
from boomerang.renewals.service import money
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser, require_writer
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = "/expansion"


def _back(message: str) -> RedirectResponse:
    return RedirectResponse(f"{PAGE}?done={message.replace(' ', '+')}", status_code=303)


@router.get(PAGE)
def expansion_page(
    request: Request,
    session: SessionDep,
    user: UIUser,
    status: Annotated[str, Query(max_length=10)] = "open",
    signal: Annotated[str | None, Query(max_length=30)] = None,
    account: Annotated[str | None, Query(max_length=200)] = None,
    done: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    def show() -> Response:
        acc = accounts_service.get_by_ref(session=session, ref=account.strip()) if account else None
        return render(
            request,
            "expansion/list.html",
            {
                "opportunities": service.list_opportunities(
                    session=session,
                    status=status,
                    signal=(signal or "").strip() or None,
                    account_id=acc.id if acc else None,
                ),
                "account": acc,
                "summary": service.summary(session=session),
                "status": status,
                "signal": signal or "",
                "signals": [s.value for s in Signal],
                "stages": [s.value for s in service.OPEN],
                "statuses": service.STATUSES,
                "done": done,
            },
        )

    return answer(request, session, show)


@router.post(f"{PAGE}/detect", dependencies=[CSRFChecked])
def detect(request: Request, session: SessionDep, user: UIUser) -> Response:
    def act() -> Response:
        require_writer(user)
        found = service.detect(
            session=session,
            today=datetime.now(UTC).date(),
            seat_utilisation=request.app.state.settings.expansion_seat_utilisation,
        )
        return _back(f"{sum(found.created.values())} opportunities detected")

    return answer(request, session, act)


@router.post(PAGE, dependencies=[CSRFChecked])
def create(
    request: Request,
    session: SessionDep,
    user: UIUser,
    account: Annotated[str, Form(max_length=200)],
    title: Annotated[str, Form(max_length=300)],
    estimated_arr: Annotated[str, Form(max_length=30)],
    product: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    def act() -> Response:
        require_writer(user)
        acc = accounts_service.get_by_ref(session=session, ref=account.strip())
        amount = money(estimated_arr, "estimated_arr")
        if amount is None:
            raise Invalid("estimated_arr: must not be empty")
        service.create(
            session=session,
            account=acc,
            title=title,
            estimated_arr=amount,
            product=product,
            by=user,
        )
        return _back("opportunity opened")

    return answer(request, session, act)


@router.post(f"{PAGE}/{{opportunity_id}}/stage", dependencies=[CSRFChecked])
def set_stage(
    opportunity_id: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    stage: Annotated[str, Form(max_length=20)],
) -> Response:
    def act() -> Response:
        require_writer(user)
        opp = service.get(session=session, opportunity_id=opportunity_id)
        service.set_stage(session=session, opp=opp, stage=stage, by=user)
        return _back(f"moved to {stage}")

    return answer(request, session, act)


@router.post(f"{PAGE}/{{opportunity_id}}/win", dependencies=[CSRFChecked])
def win(
    opportunity_id: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    arr: Annotated[str, Form(max_length=30)],
    product: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    def act() -> Response:
        require_writer(user)
        opp = service.get(session=session, opportunity_id=opportunity_id)
        amount = money(arr, "arr")
        if amount is None:
            raise Invalid("arr: must not be empty")
        service.win(
            session=session,
            opp=opp,
            arr=amount,
            today=datetime.now(UTC).date(),
            product=product,
            by=user,
        )
        return _back("opportunity won")

    return answer(request, session, act)


@router.post(f"{PAGE}/{{opportunity_id}}/lose", dependencies=[CSRFChecked])
def lose(
    opportunity_id: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    reason: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    def act() -> Response:
        require_writer(user)
        opp = service.get(session=session, opportunity_id=opportunity_id)
        service.lose(session=session, opp=opp, reason=reason, by=user)
        return _back("opportunity lost")

    return answer(request, session, act)
