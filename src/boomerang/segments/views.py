"""UI: the segment editor (list, preview with a live count, create, delete)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from boomerang.accounts.models import Account
from boomerang.errors import Invalid
from boomerang.segments import service
from boomerang.segments.facts import DESCRIPTIONS
from boomerang.segments.models import TouchModel
from boomerang.segments.rollups import segment_rollups
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser, require_writer
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = "/segments"


def _page(
    request: Request,
    session: SessionDep,
    *,
    form: dict[str, str] | None = None,
    preview: dict[str, object] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    segments = service.list_segments(session=session)
    return render(
        request,
        "segments/index.html",
        {
            "segments": [
                (s, len(service.current_members(session=session, segment=s))) for s in segments
            ],
            "rollups": segment_rollups(session=session),
            "currency": request.app.state.settings.reporting_currency,
            "form": form or {"name": "", "condition": "", "touch": ""},
            "preview": preview,
            "error": error,
            "fields": DESCRIPTIONS,
            "touch_models": list(TouchModel),
        },
        status_code=status_code,
    )


@router.get(PAGE)
def segments_page(request: Request, session: SessionDep, user: UIUser) -> Response:
    """Saved segments with their members, and the editor."""
    return _page(request, session)


@router.post(f"{PAGE}/preview", dependencies=[CSRFChecked])
def preview(
    request: Request,
    session: SessionDep,
    user: UIUser,
    condition: Annotated[str, Form(max_length=2000)],
    name: Annotated[str, Form(max_length=100)] = "",
    touch: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Count the accounts a condition matches now, without saving it."""
    form = {"name": name, "condition": condition, "touch": touch}
    try:
        with service.evaluator(session=session, for_conditions=[condition]) as ev:
            members = ev.members(condition)
    except Invalid as exc:
        return _page(request, session, form=form, error=exc.message, status_code=422)
    sample = dict(
        session.execute(select(Account.id, Account.name).where(Account.id.in_(members[:10]))).all()
    )
    return _page(
        request,
        session,
        form=form,
        preview={"count": len(members), "sample": [(a, sample[a]) for a in members[:10]]},
    )


@router.post(PAGE, dependencies=[CSRFChecked])
def create(
    request: Request,
    session: SessionDep,
    user: UIUser,
    name: Annotated[str, Form(max_length=100)],
    condition: Annotated[str, Form(max_length=2000)],
    touch: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Save a segment and record its members."""
    require_writer(user)
    form = {"name": name, "condition": condition, "touch": touch}
    try:
        touch_model = TouchModel(touch) if touch else None
    except ValueError:
        return _page(
            request, session, form=form, error=f"touch: unknown {touch!r}", status_code=422
        )
    try:
        segment = service.create(
            session=session, name=name, condition=condition, touch_model=touch_model
        )
    except Invalid as exc:
        return _page(request, session, form=form, error=exc.message, status_code=422)
    service.evaluate(session=session, segments=[segment])
    return RedirectResponse(f"{PAGE}#segments", status_code=303)


@router.post(f"{PAGE}/{{ref}}/delete", dependencies=[CSRFChecked])
def delete(ref: str, session: SessionDep, user: UIUser) -> Response:
    require_writer(user)
    service.delete(session=session, segment=service.get(session=session, ref=ref))
    return RedirectResponse(f"{PAGE}#segments", status_code=303)
