"""REST: ``/api/v1/segments``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Account
from boomerang.segments import service
from boomerang.segments.models import SegmentMembership
from boomerang.web.deps import APIUser, SessionDep, require_writer

router = APIRouter(prefix="/api/v1/segments", tags=["segments"])


class SegmentOut(BaseModel):
    id: str
    name: str
    description: str
    condition: str
    touch_model: str | None
    manual: bool
    members: int


class Preview(BaseModel):
    condition: str = Field(max_length=2000)


class PreviewOut(BaseModel):
    members: int
    sample: list[str]


class MembersOut(BaseModel):
    segment: str
    members: list[dict[str, str]]


@router.get("", response_model=list[SegmentOut])
def list_segments(session: SessionDep, user: APIUser) -> list[SegmentOut]:
    """Every segment with its members at the last evaluation."""
    return [
        SegmentOut(
            id=s.id,
            name=s.name,
            description=s.description,
            condition=s.condition,
            touch_model=s.touch_model.value if s.touch_model else None,
            manual=s.manual,
            members=len(service.current_members(session=session, segment=s)),
        )
        for s in service.list_segments(session=session)
    ]


@router.post("/preview", response_model=PreviewOut)
def preview(body: Preview, session: SessionDep, user: APIUser) -> PreviewOut:
    """How many accounts a condition matches now (422 naming the problem if it is wrong)."""
    with service.evaluator(session=session, for_conditions=[body.condition]) as ev:
        members = ev.members(body.condition)
    return PreviewOut(members=len(members), sample=members[:20])


@router.get("/{ref}/accounts", response_model=MembersOut)
def members(
    ref: str,
    session: SessionDep,
    user: APIUser,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> MembersOut:
    """The segment's accounts at its last evaluation."""
    segment = service.get(session=session, ref=ref)
    rows = session.execute(
        select(Account.id, Account.external_id, Account.name)
        .join(SegmentMembership, SegmentMembership.account_id == Account.id)
        .where(SegmentMembership.segment_id == segment.id, SegmentMembership.left_at.is_(None))
        .order_by(Account.name, Account.id)
        .limit(limit)
    ).all()
    return MembersOut(
        segment=segment.name,
        members=[{"id": r[0], "external_id": r[1], "name": r[2]} for r in rows],
    )


class MemberChange(BaseModel):
    segment: str
    account_id: str
    changed: bool


@router.put("/{ref}/accounts/{account}", response_model=MemberChange)
def add_member(ref: str, account: str, session: SessionDep, user: APIUser) -> MemberChange:
    """Put an account (id or external id) in a list segment; ``changed`` is false when it
    was in already. 422 for a segment computed from its condition."""
    require_writer(user)
    segment = service.get(session=session, ref=ref)
    found = accounts_service.get_by_ref(session=session, ref=account)
    changed = service.add_member(session=session, segment=segment, account_id=found.id)
    return MemberChange(segment=segment.name, account_id=found.id, changed=changed)


@router.delete("/{ref}/accounts/{account}", response_model=MemberChange)
def remove_member(ref: str, account: str, session: SessionDep, user: APIUser) -> MemberChange:
    """Take an account out of a list segment."""
    require_writer(user)
    segment = service.get(session=session, ref=ref)
    found = accounts_service.get_by_ref(session=session, ref=account)
    changed = service.remove_member(session=session, segment=segment, account_id=found.id)
    return MemberChange(segment=segment.name, account_id=found.id, changed=changed)
