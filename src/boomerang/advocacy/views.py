"""UI: the Advocacy page (who to ask, the asks, the referrals and rewards) and its forms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.accounts import service as accounts_service
from boomerang.advocacy import service
from boomerang.advocacy.models import AdvocacyKind, AskStatus, ReferralStatus
from boomerang.renewals.forms import answer
from boomerang.renewals.service import money
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser, require_writer
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = "/advocacy"


def _back(message: str) -> RedirectResponse:
    return RedirectResponse(f"{PAGE}?done={message.replace(' ', '+')}", status_code=303)


@router.get(PAGE)
def advocacy_page(
    request: Request,
    session: SessionDep,
    user: UIUser,
    done: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    cooldown = request.app.state.settings.advocacy_cooldown_days
    return render(
        request,
        "advocacy/index.html",
        {
            "suggestions": service.suggestions(
                session=session, now=datetime.now(UTC), cooldown_days=cooldown, limit=100
            ),
            "asks": service.list_asks(session=session, limit=200),
            "referrals": service.list_referrals(session=session, limit=200),
            "rewards_due": service.rewards_due(session=session),
            "kinds": [k.value for k in AdvocacyKind],
            "ask_moves": {s: [t.value for t in ts] for s, ts in service.ASK_MOVES.items()},
            "referral_statuses": [s.value for s in ReferralStatus],
            "cooldown": cooldown,
            "done": done,
            "AskStatus": AskStatus,
        },
    )


@router.post(f"{PAGE}/asks", dependencies=[CSRFChecked])
def create_ask(
    request: Request,
    session: SessionDep,
    user: UIUser,
    contact: Annotated[str, Form(max_length=40)],
    kind: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    def act() -> Response:
        require_writer(user)
        row = service.ask(
            session=session,
            contact=service.get_contact(session=session, contact_id=contact),
            kind=kind,
            note=note,
            cooldown_days=request.app.state.settings.advocacy_cooldown_days,
            by=user,
        )
        return _back(f"{row.contact.name} asked")

    return answer(request, session, act)


@router.post(f"{PAGE}/asks/{{ask_id}}/status", dependencies=[CSRFChecked])
def update_ask(
    ask_id: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    status: Annotated[str, Form(max_length=20)],
) -> Response:
    def act() -> Response:
        require_writer(user)
        row = service.get_ask(session=session, ask_id=ask_id)
        service.update_ask(session=session, row=row, status=status, by=user)
        return _back(f"ask {status}")

    return answer(request, session, act)


@router.post(f"{PAGE}/referrals", dependencies=[CSRFChecked])
def create_referral(
    request: Request,
    session: SessionDep,
    user: UIUser,
    account: Annotated[str, Form(max_length=200)],
    prospect_name: Annotated[str, Form(max_length=300)],
    prospect_email: Annotated[str, Form(max_length=320)] = "",
    incentive: Annotated[str, Form(max_length=300)] = "",
    reward_amount: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    def act() -> Response:
        require_writer(user)
        service.refer(
            session=session,
            account=accounts_service.get_by_ref(session=session, ref=account.strip()),
            prospect_name=prospect_name,
            prospect_email=prospect_email,
            incentive=incentive,
            reward_amount=money(reward_amount, "reward_amount"),
            today=datetime.now(UTC).date(),
            by=user,
        )
        return _back("referral recorded")

    return answer(request, session, act)


@router.post(f"{PAGE}/referrals/{{referral_id}}/status", dependencies=[CSRFChecked])
def update_referral(
    referral_id: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    status: Annotated[str, Form(max_length=20)],
) -> Response:
    def act() -> Response:
        require_writer(user)
        row = service.get_referral(session=session, referral_id=referral_id)
        service.update_referral(session=session, row=row, status=status, by=user)
        return _back(f"referral {status}")

    return answer(request, session, act)


@router.post(f"{PAGE}/referrals/{{referral_id}}/pay", dependencies=[CSRFChecked])
def pay(referral_id: str, request: Request, session: SessionDep, user: UIUser) -> Response:
    def act() -> Response:
        require_writer(user)
        row = service.get_referral(session=session, referral_id=referral_id)
        service.pay_reward(session=session, row=row, by=user)
        return _back("reward paid")

    return answer(request, session, act)
