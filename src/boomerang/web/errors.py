"""One place that turns errors into a JSON body (API) or a page (UI)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from boomerang.db import is_busy
from boomerang.errors import BoomerangError, Busy, TooManyRequests
from boomerang.web.deps import LoginRequired
from boomerang.web.templating import render


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/v1/")) or path == "/healthz"


CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}
CODES |= {409: "conflict", 422: "invalid", 429: "too_many_requests", 503: "busy"}


def _respond(
    request: Request,
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    resend: list[tuple[str, str]] | None = None,
) -> Response:
    if _wants_json(request):
        body = {"detail": message, "code": CODES.get(status, "error"), "message": message}
        return JSONResponse(body, status_code=status, headers=headers)
    # The signed-in user as plain values: the failed request's session is rolled back.
    user = getattr(request.state, "user_snapshot", None)
    context = {"status": status, "message": message, "user": user, "resend": resend}
    return render(request, "error.html", context, status_code=status, headers=headers)


SECRET_FIELDS = ("password", "secret", "token")
"""A form with a field whose name holds one of these is not offered again: its values would
sit in the error page's hidden inputs (and the browser's cache). The person types it again."""


async def _form_fields(request: Request) -> list[tuple[str, str]] | None:
    """A posted form's text fields, to offer sending it again (files cannot be kept; a form
    that carries a password or secret is never echoed back)."""
    if request.method != "POST":
        return None
    try:
        form = await request.form()
    except Exception:  # not a form, or already consumed in a way that cannot be re-read
        return None
    fields = [(k, v) for k, v in form.multi_items() if not isinstance(v, UploadFile)]
    if any(word in key.lower() for key, _ in fields for word in SECRET_FIELDS):
        return None
    return fields


async def busy(request: Request, exc: Busy) -> Response:
    """503 with Retry-After; on a page, the form as it was sent with a "Try again" button."""
    headers = {"Retry-After": str(exc.retry_after)}
    return _respond(request, 503, exc.message, headers, resend=await _form_fields(request))


BUSY = Busy(
    "the database is busy with other work and could not take this change in time; "
    "nothing was changed: try again in a moment"
)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(BoomerangError)
    async def domain_error(request: Request, exc: BoomerangError) -> Response:
        if isinstance(exc, Busy):
            return await busy(request, exc)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        response = _respond(request, exc.status_code, exc.message, headers)
        if exc.after is not None:  # e.g. count a wrong API token, after the rollback
            response.background = BackgroundTask(exc.after)
        return response

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        if not is_busy(exc):
            raise exc
        return await busy(request, BUSY)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _respond(request, exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
            for err in exc.errors()
        ]
        if _wants_json(request):
            return JSONResponse({"detail": problems}, status_code=422)
        message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'input'}: {e['msg']}" for e in problems
        )
        return _respond(request, 422, message)
