"""UI: the Escalations page (open ones, soonest due first) and its forms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.accounts import service as accounts_service
from boomerang.errors import Invalid
from boomerang.escalations import notify, service
from boomerang.escalations.models import Escalation
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = "/escalations"


def time_left(escalation: Escalation, now: datetime) -> str:
    """``3 h 20 min left`` or ``overdue by 1 d 2 h``."""
    seconds = int((escalation.due_at - now).total_seconds())
    minutes = abs(seconds) // 60
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h"] if hours or days else []
    parts += [] if days else [f"{mins} min"]
    text = " ".join(parts)
    return f"{text} left" if seconds > 0 else f"overdue by {text}"


@router.get(PAGE)
def escalations_page(
    request: Request,
    session: SessionDep,
    user: UIUser,
    status: Annotated[str, Query(max_length=20)] = "open",
    sent: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    now = datetime.now(UTC)
    return render(
        request,
        "escalations/list.html",
        {
            "escalations": service.list_escalations(session=session, status=status),
            "status": status,
            "now": now,
            "time_left": time_left,
            "sent": sent,
        },
    )


def _back() -> RedirectResponse:
    return RedirectResponse(PAGE, status_code=303)


@router.post(PAGE, dependencies=[CSRFChecked])
def open_escalation(
    request: Request,
    session: SessionDep,
    user: UIUser,
    account: Annotated[str, Form(max_length=200)],
    problem: Annotated[str, Form(max_length=20_000)],
    severity: Annotated[int, Form(ge=1, le=4)],
    mission_critical: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    if not user.role.can_write:
        raise Invalid("viewers cannot open escalations")
    acc = accounts_service.get_by_ref(session=session, ref=account.strip())
    service.open_escalation(
        session=session,
        account=acc,
        problem=problem,
        severity=severity,
        mission_critical=bool(mission_critical),
        opened_by=user,
        settings=request.app.state.settings,
    )
    return _back()


@router.post(f"{PAGE}/{{escalation_id}}/escalate", dependencies=[CSRFChecked])
def escalate(
    escalation_id: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    reason: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    escalation = service.get(session=session, escalation_id=escalation_id)
    service.escalate(
        session=session,
        escalation=escalation,
        reason=reason,
        by=user,
        settings=request.app.state.settings,
    )
    return _back()


@router.post(f"{PAGE}/{{escalation_id}}/resolve", dependencies=[CSRFChecked])
def resolve(
    escalation_id: str,
    session: SessionDep,
    user: UIUser,
    resolution: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    escalation = service.get(session=session, escalation_id=escalation_id)
    service.resolve(session=session, escalation=escalation, resolution=resolution, by=user)
    return _back()


@router.post(f"{PAGE}/{{escalation_id}}/status-update", dependencies=[CSRFChecked])
def status_update(
    escalation_id: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    text: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    escalation = service.get(session=session, escalation_id=escalation_id)
    result = notify.send_status_update(
        session=session,
        escalation=escalation,
        settings=request.app.state.settings,
        text=text,
        by=user,
    )
    summary = f"{len(result.queued)} queued, {len(result.refused)} refused"
    return RedirectResponse(f"{PAGE}?sent={summary.replace(' ', '+')}", status_code=303)
