"""UI: the Surveys page (NPS dashboard by segment, tier, CSM, month or program; programs;
comments with their themes) and its forms."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.accounts import service as accounts_service
from boomerang.db import utcnow
from boomerang.errors import Invalid
from boomerang.surveys import service, themes
from boomerang.surveys.api import require_manager
from boomerang.surveys.models import ProgramTrigger, SurveyKind
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = "/surveys"


@router.get(PAGE)
def surveys_page(
    request: Request,
    session: SessionDep,
    user: UIUser,
    by: Annotated[str, Query(max_length=20)] = "segment",
    kind: SurveyKind = SurveyKind.nps,
    days: Annotated[int, Query(ge=1, le=3650)] = 365,
    q: Annotated[str | None, Query(max_length=200)] = None,
    theme: Annotated[str | None, Query(max_length=100)] = None,
    done: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    if by not in service.DIMENSIONS:
        raise Invalid(f"by: must be one of {', '.join(service.DIMENSIONS)}, not {by!r}")
    now = utcnow()
    since = now - timedelta(days=days)
    return render(
        request,
        "surveys/index.html",
        {
            "by": by,
            "kind": kind,
            "days": days,
            "q": q or "",
            "theme": theme or "",
            "done": done,
            "dimensions": service.DIMENSIONS,
            "kinds": list(SurveyKind),
            "triggers": list(ProgramTrigger),
            "overall": service.overall(session=session, kind=kind, since=since, until=now),
            "rows": service.rollup(session=session, by=by, kind=kind, since=since, until=now),
            "programs": service.list_programs(session=session),
            "themes": themes.list_themes(session=session),
            "theme_counts": themes.counts(session=session, since=since),
            "comments": themes.search(session=session, text=q, theme=theme or None, limit=50),
            "can_manage": user.role.value in ("admin", "manager"),
        },
    )


def _back(done: str) -> RedirectResponse:
    return RedirectResponse(f"{PAGE}?done={done.replace(' ', '+')}", status_code=303)


@router.post(f"{PAGE}/programs", dependencies=[CSRFChecked])
def create_program(
    session: SessionDep,
    user: UIUser,
    name: Annotated[str, Form(max_length=100)],
    kind: Annotated[str, Form(max_length=10)],
    trigger: Annotated[str, Form(max_length=30)] = "manual",
    question: Annotated[str, Form(max_length=service.MAX_QUESTION)] = "",
    roles: Annotated[str, Form(max_length=200)] = "",
    segment: Annotated[str, Form(max_length=100)] = "",
    every_days: Annotated[int | None, Form(ge=1, le=service.MAX_DAYS)] = None,
    delay_days: Annotated[int, Form(ge=0, le=service.MAX_DAYS)] = 0,
    throttle_days: Annotated[int, Form(ge=0, le=service.MAX_DAYS)] = 90,
) -> Response:
    require_manager(user)
    program = service.create_program(
        session=session,
        name=name,
        kind=kind,
        question=question,
        roles=[r for r in roles.replace(",", " ").split() if r],
        segment=segment.strip() or None,
        trigger=trigger,
        every_days=every_days,
        delay_days=delay_days,
        throttle_days=throttle_days,
    )
    return _back(f"program {program.name} created")


@router.post(f"{PAGE}/programs/{{ref}}/send", dependencies=[CSRFChecked])
def send(
    ref: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    account: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if not user.role.can_write:
        raise Invalid("viewers cannot send surveys")
    program = service.get_program(session=session, ref=ref)
    acc = accounts_service.get_by_ref(session=session, ref=account.strip()) if account else None
    result = service.send(
        session=session, settings=request.app.state.settings, program=program, account=acc
    )
    return _back(f"{program.name}: {result.summary()}")


@router.post(f"{PAGE}/run", dependencies=[CSRFChecked])
def run(request: Request, session: SessionDep, user: UIUser) -> Response:
    require_manager(user)
    result = service.run_due(session=session, settings=request.app.state.settings)
    return _back(f"due programs: {result.summary()}")


@router.post(f"{PAGE}/themes", dependencies=[CSRFChecked])
def save_theme(
    session: SessionDep,
    user: UIUser,
    name: Annotated[str, Form(max_length=100)],
    keywords: Annotated[str, Form(max_length=3000)],
) -> Response:
    require_manager(user)
    theme = themes.save(session=session, name=name, keywords=keywords.split(","))
    return _back(f"theme {theme.name} saved")
