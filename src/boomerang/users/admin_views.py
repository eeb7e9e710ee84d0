"""UI: the admin Users page: every staff user with their live sessions; an admin changes a
role, deactivates or reactivates a user, and ends anyone's sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.errors import Forbidden
from boomerang.users import service as users_service
from boomerang.users import sessions as sessions_service
from boomerang.users.models import Role, User
from boomerang.users.sessions import EndReason
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser, current_time
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE = "/admin/users"


def require_admin(user: User) -> User:
    if user.role is not Role.admin:
        raise Forbidden("only admins manage users")
    return user


def _not_self(admin: User, user: User, doing: str) -> None:
    """An admin does not demote or deactivate themself (and so lock every admin out)."""
    if admin.id == user.id:
        raise Forbidden(f"you cannot {doing} yourself: ask another admin")


@router.get(PAGE)
def users_page(request: Request, session: SessionDep, user: UIUser) -> Response:
    """Every user, with role, state, last login and live sessions."""
    require_admin(user)
    idle = sessions_service.Timeouts.from_settings(request.app.state.settings).idle
    live = sessions_service.count_live(session=session, now=current_time(request), idle=idle)
    return render(
        request,
        "users/admin_users.html",
        {"users": users_service.list_users(session=session), "live": live},
    )


@router.get(f"{PAGE}/{{user_id}}")
def user_page(request: Request, session: SessionDep, user: UIUser, user_id: str) -> Response:
    """One user: role, state and live sessions, each of which the admin may end."""
    require_admin(user)
    shown = users_service.get(session=session, user_id=user_id)
    idle = sessions_service.Timeouts.from_settings(request.app.state.settings).idle
    live = sessions_service.list_live(
        session=session, user_id=shown.id, now=current_time(request), idle=idle
    )
    return render(
        request,
        "users/admin_user.html",
        {
            "shown": shown,
            "roles": list(Role),
            "sessions": live,
            "current_session": request.state.user_session_id,
            "end_prefix": f"{PAGE}/{shown.id}/sessions",
        },
    )


@router.post(f"{PAGE}/{{user_id}}/role", dependencies=[CSRFChecked])
def change_role(
    request: Request,
    session: SessionDep,
    user: UIUser,
    user_id: str,
    role: Annotated[str, Form(max_length=20)],
) -> Response:
    """Another role; the user's sessions end."""
    require_admin(user)
    shown = users_service.get(session=session, user_id=user_id)
    _not_self(user, shown, "change the role of")
    users_service.set_role(
        session=session, user=shown, role=users_service.parse_role(role), now=current_time(request)
    )
    return RedirectResponse(f"{PAGE}/{shown.id}", status_code=303)


@router.post(f"{PAGE}/{{user_id}}/active", dependencies=[CSRFChecked])
def change_active(
    request: Request,
    session: SessionDep,
    user: UIUser,
    user_id: str,
    active: Annotated[bool, Form()],
) -> Response:
    """Deactivate (the user's sessions end) or reactivate a user."""
    require_admin(user)
    shown = users_service.get(session=session, user_id=user_id)
    _not_self(user, shown, "deactivate")
    users_service.set_active(session=session, user=shown, active=active, now=current_time(request))
    return RedirectResponse(f"{PAGE}/{shown.id}", status_code=303)


@router.post(f"{PAGE}/{{user_id}}/sessions/all/end", dependencies=[CSRFChecked])
def end_all_sessions(request: Request, session: SessionDep, user: UIUser, user_id: str) -> Response:
    """Sign the user out everywhere (the admin's own current session excepted)."""
    require_admin(user)
    shown = users_service.get(session=session, user_id=user_id)
    sessions_service.end_all(
        session=session,
        user_id=shown.id,
        now=current_time(request),
        reason=EndReason.ended_by_admin,
        keep=request.state.user_session_id,
    )
    return RedirectResponse(f"{PAGE}/{shown.id}", status_code=303)


@router.post(f"{PAGE}/{{user_id}}/sessions/{{session_id}}/end", dependencies=[CSRFChecked])
def end_session(
    request: Request, session: SessionDep, user: UIUser, user_id: str, session_id: str
) -> Response:
    """End one session of the user."""
    require_admin(user)
    row = sessions_service.get(session=session, session_id=session_id, user_id=user_id)
    sessions_service.end(
        session=session, row=row, now=current_time(request), reason=EndReason.ended_by_admin
    )
    return RedirectResponse(f"{PAGE}/{user_id}", status_code=303)
