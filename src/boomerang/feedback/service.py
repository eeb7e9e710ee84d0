"""Feedback and feature requests, ranked by the revenue asking; customer groups.

**Ranking.** A request's demand is the distinct accounts with feedback linked to it and
the sum of their ARR (``accounts.arr``, each account counted once however often it asked),
computed in one grouped query for all requests. ARR is summed as stored: accounts in
another currency than the reporting one are added at face value (the list shows the
currency of the first account when they differ).

**Shipping.** Setting a request to ``shipped`` queues one email per requesting contact
(the contacts on its linked feedback) through the outbox, deduplicated per request and
contact, and writes a timeline entry on each requesting account. Contacts the outbox
refuses (unsubscribed, frequency cap) are listed with the reason
(:mod:`boomerang.feedback.shipping`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import distinct, func, or_, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact
from boomerang.config import Settings
from boomerang.db import utcnow
from boomerang.errors import Conflict, Forbidden, Invalid, NotFound
from boomerang.feedback.models import (
    Channel,
    CustomerGroup,
    CustomerGroupMeeting,
    CustomerGroupMember,
    FeatureRequest,
    FeedbackItem,
    GroupKind,
    RequestStatus,
)
from boomerang.feedback.shipping import Notified, tell_shipped
from boomerang.support.models import Ticket
from boomerang.surveys.models import SurveyResponse
from boomerang.timeline import events as timeline_events
from boomerang.users.models import User

MAX_TEXT = 20_000
MAX_TITLE = 300


def _text(value: str | None, name: str, limit: int, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise Invalid(f"{name}: must not be empty")
    if len(text) > limit:
        raise Invalid(f"{name}: at most {limit} characters")
    return text


def _may_write(user: User | None) -> None:
    if user is not None and not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot change feedback")


# --- feature requests ---------------------------------------------------------------------


def create_request(
    *, session: Session, title: str, description: str = "", by: User | None = None
) -> FeatureRequest:
    """A new feature request (status ``new``); Conflict when the title is taken."""
    _may_write(by)
    title = " ".join(_text(title, "title", MAX_TITLE).split())
    if session.scalar(select(FeatureRequest.id).where(FeatureRequest.title == title)):
        raise Conflict(f"title: a request {title!r} already exists")
    request = FeatureRequest(
        title=title,
        description=_text(description, "description", MAX_TEXT, required=False),
        status=RequestStatus.new,
        created_by_id=by.id if by else None,
    )
    session.add(request)
    session.flush()
    return request


def get_request(*, session: Session, ref: str) -> FeatureRequest:
    """The request with this id or exact title; NotFound otherwise."""
    found = session.scalar(
        select(FeatureRequest).where(or_(FeatureRequest.id == ref, FeatureRequest.title == ref))
    )
    if found is None:
        raise NotFound(f"no feature request {ref!r}")
    return found


@dataclass(frozen=True)
class Ranked:
    request: FeatureRequest
    accounts: int
    arr: Decimal
    items: int


def ranked(
    *, session: Session, status: RequestStatus | None = None, request_id: str | None = None
) -> list[Ranked]:
    """Requests by the ARR of the distinct accounts asking, then by accounts, in one query."""
    pairs = (
        select(FeedbackItem.request_id.label("rid"), FeedbackItem.account_id.label("aid"))
        .where(FeedbackItem.request_id.is_not(None))
        .distinct()
        .subquery()
    )
    demand = (
        select(
            pairs.c.rid,
            func.count(distinct(pairs.c.aid)).label("accounts"),
            func.coalesce(func.sum(Account.arr), 0).label("arr"),
        )
        .join(Account, Account.id == pairs.c.aid)
        .group_by(pairs.c.rid)
        .subquery()
    )
    items = (
        select(FeedbackItem.request_id.label("rid"), func.count().label("n"))
        .where(FeedbackItem.request_id.is_not(None))
        .group_by(FeedbackItem.request_id)
        .subquery()
    )
    stmt = (
        select(
            FeatureRequest,
            func.coalesce(demand.c.accounts, 0),
            func.coalesce(demand.c.arr, 0),
            func.coalesce(items.c.n, 0),
        )
        .outerjoin(demand, demand.c.rid == FeatureRequest.id)
        .outerjoin(items, items.c.rid == FeatureRequest.id)
    )
    if status is not None:
        stmt = stmt.where(FeatureRequest.status == status)
    if request_id is not None:
        stmt = stmt.where(FeatureRequest.id == request_id)
    rows = session.execute(
        stmt.order_by(
            func.coalesce(demand.c.arr, 0).desc(),
            func.coalesce(demand.c.accounts, 0).desc(),
            FeatureRequest.created_at,
            FeatureRequest.id,
        )
    ).all()
    return [
        Ranked(r, int(a), Decimal(str(arr)).quantize(Decimal("0.01")), int(n))
        for r, a, arr, n in rows
    ]


def set_status(
    *,
    session: Session,
    request: FeatureRequest,
    status: RequestStatus | str,
    settings: Settings | None = None,
    by: User | None = None,
    now: datetime | None = None,
) -> Notified:
    """Move a request to ``status``; on ``shipped`` (and ``settings`` given) email every
    requesting contact through the outbox, once per request and contact."""
    _may_write(by)
    try:
        status = RequestStatus(status)
    except ValueError:
        known = ", ".join(s.value for s in RequestStatus)
        raise Invalid(f"status: must be one of {known}, not {status!r}") from None
    when = now or utcnow()
    request.status = status
    result = Notified()
    if status is RequestStatus.shipped:
        request.shipped_at = request.shipped_at or when
        tell_shipped(session=session, request=request, settings=settings, when=when, into=result)
    session.flush()
    return result


# --- feedback items -----------------------------------------------------------------------


def add_feedback(
    *,
    session: Session,
    account: Account,
    text: str,
    channel: Channel | str = Channel.csm_note,
    contact: Contact | None = None,
    request: FeatureRequest | None = None,
    source_ref: str | None = None,
    by: User | None = None,
) -> FeedbackItem:
    """One account's feedback from a channel, linked to a request when given."""
    _may_write(by)
    try:
        channel = Channel(channel)
    except ValueError:
        known = ", ".join(c.value for c in Channel)
        raise Invalid(f"channel: must be one of {known}, not {channel!r}") from None
    if contact is not None and contact.account_id != account.id:
        raise Invalid(f"contact: {contact.name} is not a contact of {account.name}")
    ref = (source_ref or "").strip() or None
    if ref is not None and len(ref) > 200:
        raise Invalid("source_ref: at most 200 characters")
    item = FeedbackItem(
        account_id=account.id,
        contact_id=contact.id if contact else None,
        request_id=request.id if request else None,
        channel=channel,
        source_ref=ref,
        text=_text(text, "text", MAX_TEXT),
        created_by_id=by.id if by else None,
    )
    item.account, item.contact, item.request = account, contact, request
    session.add(item)
    session.flush()
    return item


def from_source(
    *,
    session: Session,
    source: str,
    request: FeatureRequest | None = None,
    by: User | None = None,
) -> FeedbackItem:
    """Feedback taken from a survey answer's comment (``survey:srv_...``) or a ticket
    (``ticket:tkt_...``): its account, contact and text, with the reference kept. Conflict
    when that source already gave feedback."""
    kind, _, ref = source.partition(":")
    if kind not in ("survey", "ticket") or not ref:
        raise Invalid(f"source: {source!r} is not survey:ID or ticket:ID")
    if session.scalar(select(FeedbackItem.id).where(FeedbackItem.source_ref == source)):
        raise Conflict(f"source: {source} is already feedback")
    if kind == "survey":
        answer = session.get(SurveyResponse, ref)
        if answer is None:
            raise NotFound(f"source: no survey response {ref!r}")
        if not answer.comment:
            raise Invalid(f"source: survey response {ref} has no comment")
        account_id, contact_id, text = answer.account_id, answer.contact_id, answer.comment
        channel = Channel.survey
    else:
        ticket = session.get(Ticket, ref)
        if ticket is None:
            raise NotFound(f"source: no ticket {ref!r}")
        account_id, contact_id, text = ticket.account_id, ticket.contact_id, ticket.subject
        channel = Channel.ticket
    account = session.get(Account, account_id)
    assert account is not None  # a foreign key
    return add_feedback(
        session=session,
        account=account,
        text=text,
        channel=channel,
        contact=session.get(Contact, contact_id) if contact_id else None,
        request=request,
        source_ref=source,
        by=by,
    )


def get_item(*, session: Session, item_id: str) -> FeedbackItem:
    item = session.get(FeedbackItem, item_id)
    if item is None:
        raise NotFound(f"no feedback {item_id!r}")
    return item


def link(
    *,
    session: Session,
    item: FeedbackItem,
    request: FeatureRequest | None,
    by: User | None = None,
) -> FeedbackItem:
    """Attach feedback to a request (None: detach)."""
    _may_write(by)
    item.request_id = request.id if request else None
    item.request = request
    session.flush()
    return item


def list_feedback(
    *,
    session: Session,
    account_id: str | None = None,
    request_id: str | None = None,
    unlinked: bool = False,
    limit: int = 200,
) -> list[FeedbackItem]:
    stmt = select(FeedbackItem)
    if account_id:
        stmt = stmt.where(FeedbackItem.account_id == account_id)
    if request_id:
        stmt = stmt.where(FeedbackItem.request_id == request_id)
    if unlinked:
        stmt = stmt.where(FeedbackItem.request_id.is_(None))
    return list(
        session.scalars(stmt.order_by(FeedbackItem.created_at.desc(), FeedbackItem.id).limit(limit))
    )


# --- customer groups ----------------------------------------------------------------------


def create_group(
    *,
    session: Session,
    name: str,
    kind: GroupKind | str,
    description: str = "",
    by: User | None = None,
) -> CustomerGroup:
    _may_write(by)
    name = " ".join(_text(name, "name", 200).split())
    try:
        kind = GroupKind(kind)
    except ValueError:
        raise Invalid(f"kind: must be advisory_board or focus_group, not {kind!r}") from None
    if session.scalar(select(CustomerGroup.id).where(CustomerGroup.name == name)):
        raise Conflict(f"name: a group {name!r} already exists")
    group = CustomerGroup(
        name=name,
        kind=kind,
        description=_text(description, "description", MAX_TEXT, required=False),
    )
    group.members, group.meetings = [], []
    session.add(group)
    session.flush()
    return group


def get_group(*, session: Session, ref: str) -> CustomerGroup:
    found = session.scalar(
        select(CustomerGroup).where(or_(CustomerGroup.id == ref, CustomerGroup.name == ref))
    )
    if found is None:
        raise NotFound(f"no customer group {ref!r}")
    return found


def list_groups(*, session: Session) -> list[CustomerGroup]:
    return list(session.scalars(select(CustomerGroup).order_by(CustomerGroup.name)))


def add_member(
    *,
    session: Session,
    group: CustomerGroup,
    contact: Contact,
    joined_on: date | None = None,
    by: User | None = None,
) -> CustomerGroupMember:
    """Add a contact (Conflict when already a member)."""
    _may_write(by)
    if any(m.contact_id == contact.id for m in group.members):
        raise Conflict(f"contact: {contact.name} is already a member of {group.name}")
    if contact.account_id is None:
        raise Invalid(f"contact: {contact.name} belongs to no account")
    member = CustomerGroupMember(
        group_id=group.id, contact_id=contact.id, joined_on=joined_on or utcnow().date()
    )
    member.contact = contact
    group.members.append(member)
    session.flush()
    return member


def remove_member(
    *, session: Session, group: CustomerGroup, contact_id: str, by: User | None = None
) -> None:
    _may_write(by)
    member = next((m for m in group.members if m.contact_id == contact_id), None)
    if member is None:
        raise NotFound(f"contact: {contact_id!r} is not a member of {group.name}")
    group.members.remove(member)
    session.flush()


def add_meeting(
    *,
    session: Session,
    group: CustomerGroup,
    held_on: date,
    title: str,
    notes: str = "",
    by: User | None = None,
) -> CustomerGroupMeeting:
    """A meeting of the group, with its notes; logged on the members' accounts."""
    _may_write(by)
    meeting = CustomerGroupMeeting(
        group_id=group.id,
        held_on=held_on,
        title=" ".join(_text(title, "title", MAX_TITLE).split()),
        notes=_text(notes, "notes", MAX_TEXT, required=False),
    )
    group.meetings.append(meeting)
    session.flush()
    for account_id in sorted({m.contact.account_id for m in group.members if m.contact.account_id}):
        account = session.get(Account, account_id)
        if account is not None:
            timeline_events.group_meeting_held(
                session=session,
                account_id=account.id,
                group=group.name,
                group_kind=group.kind.value,
                title=meeting.title,
                notes=meeting.notes,
                held_on=held_on,
                by=by,
            )
    return meeting
