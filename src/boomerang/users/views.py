"""Logout, and a user's own page: their password and their signed-in sessions.

Logging in is :mod:`boomerang.flows.login` (it may email the user, through the outbox)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.errors import Invalid
from boomerang.users import service as users_service
from boomerang.users import sessions as sessions_service
from boomerang.users.sessions import EndReason
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser, current_time
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE = "/me"


def _end_current(request: Request, session: SessionDep, reason: EndReason) -> Response:
    """End the request's own session, forget the cookie, and go to the login page."""
    row = sessions_service.get(session=session, session_id=request.state.user_session_id)
    sessions_service.end(session=session, row=row, now=current_time(request), reason=reason)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/logout", dependencies=[CSRFChecked])
def logout(request: Request, session: SessionDep, user: UIUser) -> Response:
    """End this session: its cookie, wherever a copy of it is, no longer signs anyone in."""
    return _end_current(request, session, EndReason.logout)


@router.get(PAGE)
def my_page(
    request: Request, session: SessionDep, user: UIUser, done: str | None = None
) -> Response:
    """The signed-in user's details, password form and live sessions."""
    idle = sessions_service.Timeouts.from_settings(request.app.state.settings).idle
    live = sessions_service.list_live(
        session=session, user_id=user.id, now=current_time(request), idle=idle
    )
    return render(
        request,
        "users/me.html",
        {
            "sessions": live,
            "current_session": request.state.user_session_id,
            "done": done,
            "end_prefix": f"{PAGE}/sessions",
        },
    )


@router.post(f"{PAGE}/password", dependencies=[CSRFChecked])
def change_password(
    request: Request,
    session: SessionDep,
    user: UIUser,
    current: Annotated[str, Form(max_length=1000)],
    new: Annotated[str, Form(max_length=1000)],
    confirm: Annotated[str, Form(max_length=1000)],
) -> Response:
    """A new password; every other session of the user ends, this one stays."""
    if new != confirm:
        raise Invalid("new password: the two entries differ")
    users_service.change_password(
        session=session,
        user=user,
        current=current,
        new=new,
        now=current_time(request),
        keep_session=request.state.user_session_id,
    )
    return RedirectResponse(f"{PAGE}?done=password", status_code=303)


@router.post(f"{PAGE}/sessions/others/end", dependencies=[CSRFChecked])
def end_other_sessions(request: Request, session: SessionDep, user: UIUser) -> Response:
    """Sign out everywhere else."""
    sessions_service.end_all(
        session=session,
        user_id=user.id,
        now=current_time(request),
        reason=EndReason.ended_by_user,
        keep=request.state.user_session_id,
    )
    return RedirectResponse(f"{PAGE}?done=sessions", status_code=303)


@router.post(f"{PAGE}/sessions/{{session_id}}/end", dependencies=[CSRFChecked])
def end_my_session(
    request: Request, session: SessionDep, user: UIUser, session_id: str
) -> Response:
    """End one of the user's own sessions (this one: as a logout)."""
    if session_id == request.state.user_session_id:
        return _end_current(request, session, EndReason.ended_by_user)
    row = sessions_service.get(session=session, session_id=session_id, user_id=user.id)
    sessions_service.end(
        session=session, row=row, now=current_time(request), reason=EndReason.ended_by_user
    )
    return RedirectResponse(f"{PAGE}?done=sessions", status_code=303)
