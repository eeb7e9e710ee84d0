"""The public response page: ``/s/{token}``, outside the login (the signed token is the
proof), mobile friendly, one self-contained page (inline CSS, no script, nothing fetched
from elsewhere).

``GET /s/{token}?score=N`` (the score links in the email) shows the question with that
score chosen and a box for a comment; ``POST /s/{token}`` records the answer. A GET never
records anything: mail security scanners follow every link of an email, and would
otherwise answer for the customer (with every score at once).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from boomerang.db import utcnow
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.surveys import service
from boomerang.surveys.models import SCALES, SurveyRecipient
from boomerang.web.deps import SessionDep
from boomerang.web.templating import templates

router = APIRouter(include_in_schema=False)

STATUS = {"invalid": 400, "gone": 404, "expired": 410, "answered": 409, "refused": 410}


def _page(
    request: Request,
    state: str,
    *,
    recipient: SurveyRecipient | None = None,
    score: int | None = None,
    comment: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "state": state,
        "recipient": recipient,
        "program": recipient.program if recipient else None,
        "scale": range(SCALES[recipient.program.kind][0], SCALES[recipient.program.kind][1] + 1)
        if recipient
        else range(0),
        "score": score,
        "comment": comment,
        "error": error,
        "path": request.url.path,
    }
    response = templates.TemplateResponse(
        request, "surveys/respond.html", context, status_code=status_code
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _find(request: Request, session: Session, token: str) -> SurveyRecipient | HTMLResponse:
    try:
        return service.recipient_for_token(
            session=session, settings=request.app.state.settings, token=token
        )
    except Invalid as exc:
        return _page(request, "invalid", error=exc.message, status_code=400)
    except NotFound as exc:
        return _page(request, "gone", error=exc.message, status_code=404)


@router.get(f"{service.PATH}/{{token}}")
def response_page(
    token: str,
    request: Request,
    session: SessionDep,
    score: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """The question, with the score from the email link chosen (nothing recorded)."""
    found = _find(request, session, token)
    if isinstance(found, HTMLResponse):
        return found
    state = service.answer_state(found, utcnow())
    if state != "open":
        return _page(request, state, recipient=found, status_code=STATUS[state])
    chosen, error = None, None
    if score is not None:
        try:
            chosen = service.check_score(found.program.kind, score)
        except Invalid as exc:
            error = exc.message
    return _page(request, "open", recipient=found, score=chosen, error=error)


@router.post(f"{service.PATH}/{{token}}")
def submit(
    token: str,
    request: Request,
    session: SessionDep,
    score: Annotated[str | None, Form(max_length=10)] = None,
    comment: Annotated[str, Form(max_length=service.MAX_COMMENT * 2)] = "",
) -> Response:
    """Record the answer once; a second submission is refused and changes nothing."""
    found = _find(request, session, token)
    if isinstance(found, HTMLResponse):
        return found
    try:
        service.respond(session=session, recipient=found, score=score, comment=comment)
    except Conflict:
        return _page(request, "answered", recipient=found, status_code=409)
    except Invalid as exc:
        state = service.answer_state(found, utcnow())
        if state != "open":
            return _page(request, state, recipient=found, status_code=STATUS[state])
        return _page(
            request,
            "open",
            recipient=found,
            comment=comment,
            error=exc.message,
            status_code=422,
        )
    return _page(request, "thanks", recipient=found)
