"""UI: an account's success plan (``/accounts/{ref}/success-plan``), its edit forms, and
the read-only view a customer opens from a shared link (``/shared/plans/{token}``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Contact
from boomerang.errors import Forbidden, Invalid
from boomerang.success import service
from boomerang.success.models import KpiSource, PlanStatus, SuccessPlan
from boomerang.success.schemas import KpiIn, MilestoneIn
from boomerang.users import service as users_service
from boomerang.users.models import Role, User
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser
from boomerang.web.params import check_day
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)


def _today() -> date:
    return datetime.now(UTC).date()


def _page(account_id: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/accounts/{account_id}/success-plan{anchor}", status_code=303)


def _writer(user: User) -> None:
    if not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot change success plans")


def _number(value: str, field: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise Invalid(f"{field}: {value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise Invalid(f"{field}: must be a finite number")
    return number


def _date(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"{field}: {value!r} is not a date (YYYY-MM-DD)") from None
    return check_day(day, field)


@router.get("/accounts/{ref}/success-plan")
def plan_page(
    ref: str, request: Request, session: SessionDep, user: UIUser, share: str = ""
) -> Response:
    account = accounts_service.get_by_ref(session=session, ref=ref)
    plan = service.current_plan(session=session, account_id=account.id)
    today = _today()
    summary = service.summarize(session=session, plan=plan, as_of=today) if plan else None
    return render(
        request,
        "success/plan.html",
        {
            "account": account,
            "plan": plan,
            "summary": summary,
            "today": today,
            "templates": service.list_templates(session=session),
            "suggested": service.template_for(session=session, account=account),
            "contacts": accounts_service.list_contacts(session=session, account=account),
            "staff": users_service.list_users(
                session=session, roles=[Role.admin, Role.manager, Role.csm]
            ),
            "sources": list(KpiSource),
            "share_url": service.share_url(request.app.state.settings, plan)
            if plan and share
            else None,
            "share_days": request.app.state.settings.plan_link_days,
            "past": [
                p
                for p in service.list_plans(session=session, account_id=account.id)
                if plan is None or p.id != plan.id
            ],
        },
    )


@router.post("/accounts/{ref}/success-plan", dependencies=[CSRFChecked])
def create_plan(
    ref: str,
    session: SessionDep,
    user: UIUser,
    title: Annotated[str, Form(max_length=200)] = "Success plan",
    template: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    _writer(user)
    account = accounts_service.get_by_ref(session=session, ref=ref)
    tpl = service.get_template(session=session, key=template) if template else None
    service.create_plan(session=session, account=account, title=title, by=user, template=tpl)
    return _page(account.id)


def _plan_of(session: SessionDep, plan_id: str, user: User) -> SuccessPlan:
    _writer(user)
    return service.get_plan(session=session, plan_id=plan_id)


@router.post("/success-plans/{plan_id}/status", dependencies=[CSRFChecked])
def set_status(
    plan_id: str,
    session: SessionDep,
    user: UIUser,
    status: Annotated[str, Form(max_length=20)],
) -> Response:
    plan = _plan_of(session, plan_id, user)
    try:
        new = PlanStatus(status)
    except ValueError:
        raise Invalid(
            f"status: {status!r} is not one of draft, active, completed, archived"
        ) from None
    service.set_status(session=session, plan=plan, status=new)
    return _page(plan.account_id)


@router.post("/success-plans/{plan_id}/outcomes", dependencies=[CSRFChecked])
def add_outcome(
    plan_id: str, session: SessionDep, user: UIUser, text: Annotated[str, Form(max_length=2000)]
) -> Response:
    plan = _plan_of(session, plan_id, user)
    service.add_outcome(session=session, plan=plan, text=text)
    return _page(plan.account_id, "#outcomes")


@router.post("/success-plans/{plan_id}/objectives", dependencies=[CSRFChecked])
def add_objective(
    plan_id: str,
    session: SessionDep,
    user: UIUser,
    title: Annotated[str, Form(max_length=300)],
    owner: Annotated[str, Form(max_length=40)] = "",
    customer_owner: Annotated[str, Form(max_length=40)] = "",
    due_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    plan = _plan_of(session, plan_id, user)
    staff = users_service.find(session=session, user_id=owner) if owner else None
    if owner and staff is None:
        raise Invalid(f"owner: no staff user {owner!r}")
    contact = session.get(Contact, customer_owner) if customer_owner else None
    if customer_owner and contact is None:
        raise Invalid(f"customer_owner: no contact {customer_owner!r}")
    service.add_objective(
        session=session,
        plan=plan,
        title=title,
        owner=staff,
        customer_owner=contact,
        due_on=_date(due_on, "due_on"),
    )
    return _page(plan.account_id, "#objectives")


@router.post("/success-plans/{plan_id}/milestones", dependencies=[CSRFChecked])
def add_milestone(
    plan_id: str,
    session: SessionDep,
    user: UIUser,
    title: Annotated[str, Form(max_length=300)],
    target_on: Annotated[str, Form(max_length=10)],
) -> Response:
    plan = _plan_of(session, plan_id, user)
    target = _date(target_on, "target_on")
    if target is None:
        raise Invalid("target_on: required")
    service.add_milestone(
        session=session, plan=plan, data=MilestoneIn(title=title.strip() or " ", target_on=target)
    )
    return _page(plan.account_id, "#milestones")


@router.post("/success-plans/milestones/{milestone_id}/achieve", dependencies=[CSRFChecked])
def achieve(
    milestone_id: str,
    session: SessionDep,
    user: UIUser,
    achieved_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    _writer(user)
    milestone = service.get_milestone(session=session, milestone_id=milestone_id)
    service.achieve_milestone(
        session=session, milestone=milestone, on=_date(achieved_on, "achieved_on"), by=user
    )
    plan = service.get_plan(session=session, plan_id=milestone.plan_id)
    return _page(plan.account_id, "#milestones")


@router.post("/success-plans/{plan_id}/kpis", dependencies=[CSRFChecked])
def add_kpi(
    plan_id: str,
    session: SessionDep,
    user: UIUser,
    name: Annotated[str, Form(max_length=200)],
    baseline: Annotated[str, Form(max_length=40)],
    target: Annotated[str, Form(max_length=40)],
    unit: Annotated[str, Form(max_length=40)] = "",
    target_on: Annotated[str, Form(max_length=10)] = "",
    source: Annotated[str, Form(max_length=20)] = "manual",
    source_key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    plan = _plan_of(session, plan_id, user)
    try:
        data = KpiIn(
            name=name,
            unit=unit,
            baseline=_number(baseline, "baseline"),
            target=_number(target, "target"),
            target_on=_date(target_on, "target_on"),
            source=source,  # validated by the model
            source_key=source_key.strip() or None,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "kpi"
        raise Invalid(f"{where}: {err['msg']}") from None
    service.add_kpi(session=session, plan=plan, data=data)
    return _page(plan.account_id, "#kpis")


@router.post("/success-plans/kpis/{kpi_id}/values", dependencies=[CSRFChecked])
def record_value(
    kpi_id: str,
    session: SessionDep,
    user: UIUser,
    value: Annotated[str, Form(max_length=40)],
    as_of: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    _writer(user)
    kpi = service.get_kpi(session=session, kpi_id=kpi_id)
    service.record_kpi_value(
        session=session,
        kpi=kpi,
        value=_number(value, "value"),
        as_of=_date(as_of, "as_of"),
        by=user,
    )
    plan = service.get_plan(session=session, plan_id=kpi.plan_id)
    return _page(plan.account_id, "#kpis")


@router.post("/success-plans/{plan_id}/revoke-links", dependencies=[CSRFChecked])
def revoke_links(plan_id: str, session: SessionDep, user: UIUser) -> Response:
    plan = _plan_of(session, plan_id, user)
    service.revoke_links(session=session, plan=plan)
    return _page(plan.account_id, "#share")


@router.get(f"{service.SHARE_PATH}/{{token}}")
def shared_plan(token: str, request: Request, session: SessionDep) -> Response:
    """The customer's read-only view: no login, the signed token is the key."""
    settings = request.app.state.settings
    try:
        plan = service.plan_for_token(
            session=session, settings=settings, token=token, max_age_days=settings.plan_link_days
        )
    except Invalid as exc:
        return render(request, "success/shared.html", {"error": exc.message}, status_code=410)
    summary = service.summarize(session=session, plan=plan, as_of=_today())
    return render(
        request,
        "success/shared.html",
        {"error": None, "summary": summary, "account": plan.account},
    )
