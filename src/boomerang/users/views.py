"""Login and logout pages."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.users import service as users_service
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login page cannot be used as an open redirect."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", dependencies=[CSRFChecked])
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    user = users_service.authenticate(session=session, email=email, password=password)
    if user is None:
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "Wrong email or password.", "email": email},
            status_code=401,
        )
    request.session.clear()  # a fresh session (and CSRF token) at every login
    request.session["user_id"] = user.id
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CSRFChecked])
def logout(request: Request, user: UIUser) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
