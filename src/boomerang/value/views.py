"""UI: value metrics (``/value``), an account's value page with its digest stakeholders,
preview and test send (``/accounts/{ref}/value``), and the public digest opt-out page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Contact
from boomerang.errors import Forbidden, Invalid
from boomerang.mail.service import EmailRefused
from boomerang.users.models import Role, User
from boomerang.value import digests, subscriptions
from boomerang.value import service as value_service
from boomerang.value.chart import bar_chart_png
from boomerang.value.models import DigestFrequency
from boomerang.value.schemas import formula
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser
from boomerang.web.headers import SANDBOX_POLICY
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)
WINDOW_DAYS = 84  # twelve weeks


def _today() -> date:
    return datetime.now(UTC).date()


def _frequency(value: str) -> DigestFrequency:
    try:
        return DigestFrequency(value)
    except ValueError:
        raise Invalid(f"frequency: {value!r} is not one of weekly, monthly") from None


def _writer(user: User) -> None:
    if not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot change this")


@router.get("/value")
def metrics_page(request: Request, session: SessionDep, user: UIUser) -> Response:
    metrics = value_service.list_metrics(session=session)
    return render(
        request,
        "value/metrics.html",
        {"metrics": metrics, "formulas": {m.key: formula(m) for m in metrics}},
    )


@router.post("/value/metrics", dependencies=[CSRFChecked])
def create_metric(
    session: SessionDep,
    user: UIUser,
    key: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=200)],
    kind: Annotated[str, Form(max_length=10)],
    event: Annotated[str, Form(max_length=200)],
    unit: Annotated[str, Form(max_length=40)] = "",
    property: Annotated[str, Form(max_length=100)] = "",
    factor: Annotated[str, Form(max_length=40)] = "1",
) -> Response:
    if user.role not in (Role.admin, Role.manager):
        raise Forbidden("only managers and admins define value metrics")
    data = value_service.validate(
        {
            "key": key.strip(),
            "name": name,
            "kind": kind,
            "event": event,
            "unit": unit.strip(),
            "property": property.strip() or None,
            "factor": factor.strip() or "1",
        },
        where="value metric",
    )
    value_service.create(session=session, data=data)
    return RedirectResponse("/value", status_code=303)


@router.get("/accounts/{ref}/value")
def account_page(
    ref: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    sent: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    account = accounts_service.get_by_ref(session=session, ref=ref)
    today = _today()
    source = request.app.state.event_source
    summary = value_service.account_value(
        session=session,
        source=source,
        account_id=account.id,
        start=today - timedelta(days=WINDOW_DAYS - 1),
        end=today,
        grain="week",
    )
    totals = value_service.running_totals(
        session=session, source=source, account_id=account.id, today=today
    )
    subs = subscriptions.list_for(session=session, account_id=account.id)
    subscribed = {s.contact_id for s in subs}
    contacts = [
        c
        for c in accounts_service.list_contacts(session=session, account=account)
        if c.email and c.id not in subscribed
    ]
    return render(
        request,
        "value/account.html",
        {
            "account": account,
            "summary": summary,
            "totals": totals,
            "subscriptions": subs,
            "contacts": contacts,
            "frequencies": list(DigestFrequency),
            "sent": sent,
            "today": today,
        },
    )


@router.get("/accounts/{ref}/value/chart.png")
def chart(
    ref: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    metric: Annotated[str, Query(max_length=64)],
) -> Response:
    """A metric's weekly values over the last twelve weeks, as a PNG."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    today = _today()
    summary = value_service.account_value(
        session=session,
        source=request.app.state.event_source,
        account_id=account.id,
        start=today - timedelta(days=WINDOW_DAYS - 1),
        end=today,
        grain="week",
        metric_keys=[metric],
    )
    values = [v for _, v in summary.metrics[0].series] if summary.metrics else []
    return Response(bar_chart_png(values), media_type="image/png")


@router.get("/accounts/{ref}/value/digest-preview")
def digest_preview(
    ref: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    frequency: Annotated[str, Query(max_length=10)] = "monthly",
) -> Response:
    """The digest's HTML part as stakeholders will see it (the chart inlined)."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    digest = digests.preview(
        session=session,
        source=request.app.state.event_source,
        settings=request.app.state.settings,
        account=account,
        frequency=_frequency(frequency),
    )
    # Built from account data: shown sandboxed (an origin of its own, no script, no form).
    return HTMLResponse(
        digest.html_with_inline_chart(), headers={"Content-Security-Policy": SANDBOX_POLICY}
    )


@router.post("/accounts/{ref}/value/digests", dependencies=[CSRFChecked])
def subscribe(
    ref: str,
    session: SessionDep,
    user: UIUser,
    contact: Annotated[str, Form(max_length=40)],
    frequency: Annotated[str, Form(max_length=10)] = "monthly",
) -> Response:
    _writer(user)
    account = accounts_service.get_by_ref(session=session, ref=ref)
    person = session.get(Contact, contact)
    if person is None or person.account_id != account.id:
        raise Invalid(f"contact: {contact!r} is not a contact of {account.name}")
    subscriptions.subscribe(
        session=session, contact=person, frequency=_frequency(frequency), by=user
    )
    return RedirectResponse(f"/accounts/{account.id}/value#digests", status_code=303)


@router.post("/value/digests/{subscription_id}/remove", dependencies=[CSRFChecked])
def remove(subscription_id: str, session: SessionDep, user: UIUser) -> Response:
    _writer(user)
    sub = subscriptions.get(session=session, subscription_id=subscription_id)
    account_id = sub.account_id
    subscriptions.remove(session=session, subscription=sub)
    return RedirectResponse(f"/accounts/{account_id}/value#digests", status_code=303)


@router.post("/accounts/{ref}/value/digest-test", dependencies=[CSRFChecked])
def test_send(
    ref: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    frequency: Annotated[str, Form(max_length=10)] = "monthly",
) -> Response:
    """Queue the preview to the signed-in user's own address."""
    _writer(user)
    account = accounts_service.get_by_ref(session=session, ref=ref)
    try:
        digests.send_test(
            session=session,
            source=request.app.state.event_source,
            settings=request.app.state.settings,
            account=account,
            to_address=user.email,
            frequency=_frequency(frequency),
        )
    except EmailRefused as exc:
        raise Invalid(f"test send refused: {exc.message}") from None
    return RedirectResponse(
        f"/accounts/{account.id}/value?sent={user.email}#digests", status_code=303
    )


@router.get(f"{subscriptions.OPT_OUT_PATH}/{{token}}")
def opt_out_page(token: str, request: Request, session: SessionDep) -> Response:
    """Confirmation page (mail scanners follow GET links: GET changes nothing)."""
    sub = subscriptions.subscription_for_token(
        session=session, settings=request.app.state.settings, token=token
    )
    if sub is None:
        return render(request, "value/opt_out.html", {"state": "invalid"}, status_code=400)
    state = "done" if sub.opted_out_at else "confirm"
    return render(request, "value/opt_out.html", {"state": state, "sub": sub})


@router.post(f"{subscriptions.OPT_OUT_PATH}/{{token}}")
def opt_out(token: str, request: Request, session: SessionDep) -> Response:
    sub = subscriptions.subscription_for_token(
        session=session, settings=request.app.state.settings, token=token
    )
    if sub is None:
        return render(request, "value/opt_out.html", {"state": "invalid"}, status_code=400)
    subscriptions.opt_out(session=session, subscription=sub)
    return render(request, "value/opt_out.html", {"state": "done", "sub": sub})
