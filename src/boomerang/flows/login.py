"""Logging in: the password checked under login throttling, a server-side session started,
and, when failures lock an account, an email to its user (through the outbox).

It lives here because it spans users (accounts, sessions, throttling) and mail."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from boomerang.config import Settings
from boomerang.errors import Invalid
from boomerang.mail import enqueue as mail
from boomerang.users import service as users_service
from boomerang.users import sessions as sessions_service
from boomerang.users import throttle
from boomerang.web.deps import (
    SESSION_KEY,
    CSRFChecked,
    SessionDep,
    client_address,
    current_time,
)
from boomerang.web.templating import render

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

WRONG = "Wrong email or password."


@dataclass(frozen=True)
class Attempt:
    """How a login went: ``key`` for the cookie when it succeeded, ``retry_after`` seconds
    when it was refused unchecked (too many failures), neither when the password was wrong."""

    key: str | None = None
    retry_after: int = 0


def sign_in(
    *,
    session: Session,
    settings: Settings,
    email: str,
    password: str,
    now: datetime,
    address: str | None = None,
    user_agent: str | None = None,
) -> Attempt:
    """Check a login under throttling (per email and per client address); on success start
    a session, on a failure that locks the account email its user."""
    limits = throttle.Limits.from_settings(settings)
    account, origin = throttle.account_key(email), throttle.address_key(address)
    wait = throttle.retry_after(session=session, keys=[account, origin], now=now)
    if wait:
        return Attempt(retry_after=wait)
    user = users_service.authenticate(session=session, email=email, password=password)
    if user is None:
        failed = throttle.record_failure(session=session, key=account, now=now, limits=limits)
        throttle.record_failure(session=session, key=origin, now=now, limits=limits)
        if failed.locked:
            _tell_locked(session=session, settings=settings, email=email, now=now)
        return Attempt()
    throttle.clear(session=session, key=account)
    _, key = sessions_service.start(
        session=session,
        user=user,
        now=now,
        timeouts=sessions_service.Timeouts.from_settings(settings),
        user_agent=user_agent,
        client_address=address,
    )
    return Attempt(key=key)


def _tell_locked(*, session: Session, settings: Settings, email: str, now: datetime) -> None:
    """Email the user whose login was just locked (nothing for an unknown email)."""
    user = users_service.get_by_email(session=session, email=email)
    if user is None or not user.active:
        return
    minutes = settings.login_lock_minutes
    text = (
        f"Hello {user.name},\n\n"
        f"Logins to Boomerang as {user.email} failed too many times in a row, so they are "
        f"refused for the next {minutes} minutes.\n\n"
        "If that was you, wait and try again. If it was not, someone may be guessing your "
        "password: tell your administrator, and change your password once you are in "
        f"({settings.public_base_url}/me).\n"
    )
    try:
        mail.enqueue(
            session=session,
            settings=settings,
            account=None,
            to_address=user.email,
            subject="Boomerang: logins to your account are locked",
            text=text,
            source="security",
            dedupe_key=f"login-locked:{user.id}:{now:%Y%m%dT%H%M%S}",
            from_name="Boomerang",
            now=now,
        )
    except (mail.EmailRefused, Invalid) as exc:  # the cap or a bad address: the lock stands
        log.warning("could not email %s about its locked login: %s", user.id, exc.message)


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
    attempt = sign_in(
        session=session,
        settings=request.app.state.settings,
        email=email,
        password=password,
        now=current_time(request),
        address=client_address(request),
        user_agent=request.headers.get("user-agent"),
    )
    if attempt.key is None:
        wait = attempt.retry_after
        context = {"next": _safe_next(next), "email": email, "error": WRONG}
        if wait:
            context["error"] = f"Too many failed logins: try again in {_duration(wait)}."
        headers = {"Retry-After": str(wait)} if wait else None
        return render(
            request, "login.html", context, status_code=429 if wait else 401, headers=headers
        )
    request.session.clear()  # a fresh cookie (and CSRF token) at every login
    request.session[SESSION_KEY] = attempt.key
    return RedirectResponse(_safe_next(next), status_code=303)


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
