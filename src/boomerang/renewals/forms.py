"""Form posts of the renewals, expansion and advocacy pages: a rejected input is answered
with the error page and changes nothing.

The action runs in a SAVEPOINT: on a domain error only that savepoint rolls back, so the
request's transaction (and the signed-in user loaded in it) stays usable to render the
error page. Letting the error escape the request's transaction instead rolls it back and
expires the user, which the error page then cannot read on a real server.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from boomerang.errors import BoomerangError
from boomerang.web.templating import render


def answer(request: Request, session: Session, action: Callable[[], Response]) -> Response:
    """Run ``action``; on a domain error, undo what it did and render the error page."""
    try:
        with session.begin_nested():
            return action()
    except BoomerangError as exc:
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "message": exc.message},
            status_code=exc.status_code,
        )
