"""UI: the admin Data sources page (write keys, ingestion, imports, webhooks, event source)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.datasources import service as datasources_service
from boomerang.errors import Forbidden
from boomerang.ingest import service as ingest_service
from boomerang.users.models import Role, User
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE = "/admin/data-sources"


def require_admin(user: User) -> User:
    if user.role is not Role.admin:
        raise Forbidden("only admins manage data sources")
    return user


def _page(
    request: Request,
    session: SessionDep,
    *,
    new_key: str | None = None,
    new_key_name: str | None = None,
    check: datasources_service.ConnectionCheck | None = None,
    status_code: int = 200,
) -> Response:
    data = datasources_service.overview(
        session=session, inbox=request.app.state.ingest.inbox, source=request.app.state.event_source
    )
    return render(
        request,
        "datasources/index.html",
        {"data": data, "new_key": new_key, "new_key_name": new_key_name, "check": check},
        status_code=status_code,
    )


@router.get(PAGE)
def data_sources(request: Request, session: SessionDep, user: UIUser) -> Response:
    """Write keys, the last hour of ingestion, imports, webhooks and the event source."""
    require_admin(user)
    return _page(request, session)


@router.post(f"{PAGE}/keys", dependencies=[CSRFChecked])
def create_key(
    request: Request,
    session: SessionDep,
    user: UIUser,
    name: Annotated[str, Form(max_length=100)],
) -> Response:
    """Create a write key; the page shows it this once."""
    require_admin(user)
    key, secret = ingest_service.create_key(session=session, name=name, created_by=user)
    return _page(request, session, new_key=secret, new_key_name=key.name)


@router.post(f"{PAGE}/keys/{{key_id}}/revoke", dependencies=[CSRFChecked])
def revoke_key(key_id: str, session: SessionDep, user: UIUser) -> Response:
    require_admin(user)
    ingest_service.revoke_key(session=session, ref=key_id)
    return RedirectResponse(f"{PAGE}#keys", status_code=303)


@router.post(f"{PAGE}/test-connection", dependencies=[CSRFChecked])
def test_connection(request: Request, session: SessionDep, user: UIUser) -> Response:
    """Read the configured event source now and say what came back."""
    require_admin(user)
    check = datasources_service.test_event_source(source=request.app.state.event_source)
    return _page(request, session, check=check)
