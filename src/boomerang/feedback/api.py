"""REST: ``/api/v1/feedback``: feedback items, feature requests ranked by ARR, customer
groups (advisory board, focus groups) with members and meetings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Contact
from boomerang.errors import Invalid
from boomerang.feedback import service
from boomerang.feedback.models import (
    Channel,
    CustomerGroup,
    FeedbackItem,
    GroupKind,
    RequestStatus,
)
from boomerang.web.deps import APIUser, SessionDep
from boomerang.web.params import Day

router = APIRouter(prefix="/api/v1/feedback", tags=["feedback"])


class FeedbackIn(BaseModel):
    account: str = Field(min_length=1, max_length=200, description="Account id or external id")
    text: str = Field(min_length=1, max_length=service.MAX_TEXT)
    channel: Channel = Channel.api
    contact: str | None = Field(default=None, max_length=40, description="Contact id")
    request: str | None = Field(default=None, max_length=300, description="Request id or title")
    source_ref: str | None = Field(default=None, max_length=200)


class FeedbackOut(BaseModel):
    id: str
    account_id: str
    contact_id: str | None
    request_id: str | None
    channel: Channel
    source_ref: str | None
    text: str
    created_at: datetime
    notified_at: datetime | None

    @classmethod
    def of(cls, item: FeedbackItem) -> FeedbackOut:
        return cls.model_validate(item, from_attributes=True)


class RequestIn(BaseModel):
    title: str = Field(min_length=1, max_length=service.MAX_TITLE)
    description: str = Field(default="", max_length=service.MAX_TEXT)


class RequestOut(BaseModel):
    id: str
    title: str
    description: str
    status: RequestStatus
    accounts: int
    arr: Decimal
    feedback: int
    shipped_at: datetime | None


class StatusIn(BaseModel):
    status: RequestStatus


class StatusOut(BaseModel):
    request: RequestOut
    queued: list[str]
    refused: list[dict[str, str]]


class LinkIn(BaseModel):
    request: str | None = Field(default=None, max_length=300, description="None: unlink")


class GroupIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: GroupKind
    description: str = Field(default="", max_length=service.MAX_TEXT)


class MemberIn(BaseModel):
    contact: str = Field(min_length=1, max_length=40)
    joined_on: Day | None = None


class MeetingIn(BaseModel):
    held_on: Day
    title: str = Field(min_length=1, max_length=service.MAX_TITLE)
    notes: str = Field(default="", max_length=service.MAX_TEXT)


class MeetingOut(BaseModel):
    id: str
    held_on: date
    title: str
    notes: str


class MemberOut(BaseModel):
    contact_id: str
    name: str
    account_id: str | None
    joined_on: date


class GroupOut(BaseModel):
    id: str
    name: str
    kind: GroupKind
    description: str
    members: list[MemberOut]
    meetings: list[MeetingOut]

    @classmethod
    def of(cls, g: CustomerGroup) -> GroupOut:
        return cls(
            id=g.id,
            name=g.name,
            kind=g.kind,
            description=g.description,
            members=[
                MemberOut(
                    contact_id=m.contact_id,
                    name=m.contact.name,
                    account_id=m.contact.account_id,
                    joined_on=m.joined_on,
                )
                for m in g.members
            ],
            meetings=[
                MeetingOut(id=m.id, held_on=m.held_on, title=m.title, notes=m.notes)
                for m in g.meetings
            ],
        )


def _ranked_out(r: service.Ranked) -> RequestOut:
    return RequestOut(
        id=r.request.id,
        title=r.request.title,
        description=r.request.description,
        status=r.request.status,
        accounts=r.accounts,
        arr=r.arr,
        feedback=r.items,
        shipped_at=r.request.shipped_at,
    )


def _contact(session: SessionDep, contact_id: str) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise Invalid(f"contact: no contact {contact_id!r}")
    return contact


@router.get("", response_model=list[FeedbackOut])
def list_feedback(
    session: SessionDep,
    user: APIUser,
    account: Annotated[str | None, Query(max_length=200)] = None,
    request: Annotated[str | None, Query(max_length=300)] = None,
    unlinked: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[FeedbackOut]:
    account_id = accounts_service.get_by_ref(session=session, ref=account).id if account else None
    request_id = service.get_request(session=session, ref=request).id if request else None
    items = service.list_feedback(
        session=session,
        account_id=account_id,
        request_id=request_id,
        unlinked=unlinked,
        limit=limit,
    )
    return [FeedbackOut.of(i) for i in items]


@router.post("", response_model=FeedbackOut, status_code=201)
def add_feedback(body: FeedbackIn, session: SessionDep, user: APIUser) -> FeedbackOut:
    account = accounts_service.get_by_ref(session=session, ref=body.account)
    item = service.add_feedback(
        session=session,
        account=account,
        text=body.text,
        channel=body.channel,
        contact=_contact(session, body.contact) if body.contact else None,
        request=service.get_request(session=session, ref=body.request) if body.request else None,
        source_ref=body.source_ref,
        by=user,
    )
    return FeedbackOut.of(item)


class FromSourceIn(BaseModel):
    source: str = Field(
        min_length=3, max_length=200, description="survey:RESPONSE_ID or ticket:TICKET_ID"
    )
    request: str | None = Field(default=None, max_length=300, description="Request id or title")


@router.post("/from-source", response_model=FeedbackOut, status_code=201)
def from_source(body: FromSourceIn, session: SessionDep, user: APIUser) -> FeedbackOut:
    """Feedback from a survey comment or a ticket (its account, contact and text)."""
    request = service.get_request(session=session, ref=body.request) if body.request else None
    item = service.from_source(session=session, source=body.source, request=request, by=user)
    return FeedbackOut.of(item)


@router.post("/{item_id}/link", response_model=FeedbackOut)
def link(item_id: str, body: LinkIn, session: SessionDep, user: APIUser) -> FeedbackOut:
    item = service.get_item(session=session, item_id=item_id)
    request = service.get_request(session=session, ref=body.request) if body.request else None
    return FeedbackOut.of(service.link(session=session, item=item, request=request, by=user))


@router.get("/requests", response_model=list[RequestOut])
def list_requests(
    session: SessionDep, user: APIUser, status: RequestStatus | None = None
) -> list[RequestOut]:
    """Feature requests ranked by the ARR of the distinct accounts asking."""
    return [_ranked_out(r) for r in service.ranked(session=session, status=status)]


@router.post("/requests", response_model=RequestOut, status_code=201)
def create_request(body: RequestIn, session: SessionDep, user: APIUser) -> RequestOut:
    request = service.create_request(
        session=session, title=body.title, description=body.description, by=user
    )
    return _ranked_out(service.Ranked(request, 0, Decimal("0.00"), 0))


def _one(session: SessionDep, request_id: str) -> RequestOut:
    return _ranked_out(service.ranked(session=session, request_id=request_id)[0])


@router.get("/requests/{ref}", response_model=RequestOut)
def get_request(ref: str, session: SessionDep, user: APIUser) -> RequestOut:
    return _one(session, service.get_request(session=session, ref=ref).id)


@router.post("/requests/{ref}/status", response_model=StatusOut)
def set_status(
    ref: str, body: StatusIn, request: Request, session: SessionDep, user: APIUser
) -> StatusOut:
    """Move a request; ``shipped`` emails the requesting contacts through the outbox."""
    found = service.get_request(session=session, ref=ref)
    result = service.set_status(
        session=session,
        request=found,
        status=body.status,
        settings=request.app.state.settings,
        by=user,
    )
    return StatusOut(
        request=_one(session, found.id),
        queued=result.queued,
        refused=[{"contact_id": c, "reason": why} for c, why in result.refused],
    )


@router.get("/groups", response_model=list[GroupOut])
def list_groups(session: SessionDep, user: APIUser) -> list[GroupOut]:
    return [GroupOut.of(g) for g in service.list_groups(session=session)]


@router.post("/groups", response_model=GroupOut, status_code=201)
def create_group(body: GroupIn, session: SessionDep, user: APIUser) -> GroupOut:
    group = service.create_group(
        session=session, name=body.name, kind=body.kind, description=body.description, by=user
    )
    return GroupOut.of(group)


@router.get("/groups/{ref}", response_model=GroupOut)
def get_group(ref: str, session: SessionDep, user: APIUser) -> GroupOut:
    return GroupOut.of(service.get_group(session=session, ref=ref))


@router.post("/groups/{ref}/members", response_model=GroupOut, status_code=201)
def add_member(ref: str, body: MemberIn, session: SessionDep, user: APIUser) -> GroupOut:
    group = service.get_group(session=session, ref=ref)
    service.add_member(
        session=session,
        group=group,
        contact=_contact(session, body.contact),
        joined_on=body.joined_on,
        by=user,
    )
    return GroupOut.of(group)


@router.delete("/groups/{ref}/members/{contact_id}", response_model=GroupOut)
def remove_member(ref: str, contact_id: str, session: SessionDep, user: APIUser) -> GroupOut:
    group = service.get_group(session=session, ref=ref)
    service.remove_member(session=session, group=group, contact_id=contact_id, by=user)
    return GroupOut.of(group)


@router.post("/groups/{ref}/meetings", response_model=GroupOut, status_code=201)
def add_meeting(ref: str, body: MeetingIn, session: SessionDep, user: APIUser) -> GroupOut:
    group = service.get_group(session=session, ref=ref)
    service.add_meeting(
        session=session,
        group=group,
        held_on=body.held_on,
        title=body.title,
        notes=body.notes,
        by=user,
    )
    return GroupOut.of(group)
