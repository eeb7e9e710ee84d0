"""REST: ``/api/v1/outbound-webhooks``, the endpoints that receive our events (admins and
managers)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from boomerang.errors import Forbidden
from boomerang.users.models import Role, User
from boomerang.web.deps import APIUser, SessionDep
from boomerang.webhooks import outbound
from boomerang.webhooks.models import OutboundEndpoint

router = APIRouter(prefix="/api/v1/outbound-webhooks", tags=["webhooks"])


def _manager(user: User) -> None:
    if user.role not in (Role.admin, Role.manager):
        raise Forbidden("only admins and managers manage outbound webhooks")


class EndpointIn(BaseModel):
    name: str = Field(max_length=64)
    url: str = Field(max_length=2000)
    events: list[str] = Field(min_length=1, max_length=50)


class EndpointPatch(BaseModel):
    url: str | None = Field(default=None, max_length=2000)
    events: list[str] | None = Field(default=None, min_length=1, max_length=50)
    active: bool | None = None


class EndpointOut(BaseModel):
    name: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    failures: int

    @classmethod
    def of(cls, e: OutboundEndpoint) -> EndpointOut:
        return cls(
            name=e.name,
            url=e.url,
            events=list(e.events),
            active=e.active,
            created_at=e.created_at,
            last_success_at=e.last_success_at,
            last_failure_at=e.last_failure_at,
            last_error=e.last_error,
            failures=e.failures,
        )


class Created(EndpointOut):
    secret: str  # shown once


@router.get("", response_model=list[EndpointOut])
def list_endpoints(session: SessionDep, user: APIUser) -> list[EndpointOut]:
    _manager(user)
    return [EndpointOut.of(e) for e in outbound.list_endpoints(session=session)]


@router.get("/events")
def event_types(user: APIUser) -> dict[str, str]:
    """The event types Boomerang sends, with when."""
    return dict(outbound.EVENT_TYPES)


@router.post("", response_model=Created, status_code=status.HTTP_201_CREATED)
def create(body: EndpointIn, session: SessionDep, user: APIUser) -> Created:
    """Add an endpoint; the answer holds its signing secret, shown this once."""
    _manager(user)
    endpoint, secret = outbound.create(
        session=session, name=body.name, url=body.url, events=body.events
    )
    return Created(**EndpointOut.of(endpoint).model_dump(), secret=secret)


@router.patch("/{name}", response_model=EndpointOut)
def update(name: str, body: EndpointPatch, session: SessionDep, user: APIUser) -> EndpointOut:
    _manager(user)
    endpoint = outbound.update(
        session=session, name=name, url=body.url, events=body.events, active=body.active
    )
    return EndpointOut.of(endpoint)


@router.post("/{name}/rotate")
def rotate(name: str, session: SessionDep, user: APIUser) -> dict[str, str]:
    """A new signing secret, in force at once."""
    _manager(user)
    return {"name": name, "secret": outbound.rotate(session=session, name=name)}


@router.post("/{name}/test", status_code=status.HTTP_202_ACCEPTED)
def test(name: str, session: SessionDep, user: APIUser) -> dict[str, int]:
    """Queue a signed ``ping`` event for the endpoint."""
    _manager(user)
    queued = outbound.emit(
        session=session, event_type="ping", data={"message": "hello"}, endpoint=name
    )
    return {"queued": queued}


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove(name: str, session: SessionDep, user: APIUser) -> None:
    _manager(user)
    outbound.remove(session=session, name=name)
