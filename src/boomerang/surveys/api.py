"""REST: ``/api/v1/surveys``: programs, sending, responses, roll-ups, comments and themes;
and ``POST /api/v1/surveys/respond/{token}`` (no login: the signed token is the proof)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Account, Contact
from boomerang.db import utcnow
from boomerang.errors import Forbidden, Invalid
from boomerang.surveys import service, themes
from boomerang.surveys.models import (
    ProgramTrigger,
    SurveyKind,
    SurveyProgram,
    SurveyRecipient,
    SurveyResponse,
)
from boomerang.surveys.themes import Tag
from boomerang.users.models import Role, User
from boomerang.web.deps import APIUser, SessionDep, require_writer

router = APIRouter(prefix="/api/v1/surveys", tags=["surveys"])


def require_manager(user: User) -> User:
    """Survey programs and themes are CS ops' work: managers and admins."""
    if user.role not in (Role.admin, Role.manager):
        raise Forbidden(f"your role ({user.role.value}) cannot change survey programs")
    return user


class ProgramIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    kind: SurveyKind
    question: str | None = Field(default=None, max_length=service.MAX_QUESTION)
    comment_question: str | None = Field(default=None, max_length=service.MAX_QUESTION)
    roles: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=10)
    segment: str | None = Field(default=None, max_length=100, description="Segment id or name")
    trigger: ProgramTrigger = ProgramTrigger.manual
    every_days: int | None = Field(default=None, ge=1, le=service.MAX_DAYS)
    delay_days: int = Field(default=0, ge=0, le=service.MAX_DAYS)
    throttle_days: int = Field(default=90, ge=0, le=service.MAX_DAYS)
    reminder_days: int | None = Field(default=3, ge=1, le=service.MAX_DAYS)
    expires_days: int = Field(default=30, ge=1, le=service.MAX_DAYS)
    active: bool = True


class ProgramOut(BaseModel):
    id: str
    name: str
    kind: SurveyKind
    question: str
    comment_question: str
    roles: list[str]
    segment_id: str | None
    trigger: ProgramTrigger
    every_days: int | None
    delay_days: int
    throttle_days: int
    reminder_days: int | None
    expires_days: int
    active: bool
    last_run_at: datetime | None

    @classmethod
    def of(cls, p: SurveyProgram) -> ProgramOut:
        return cls.model_validate(p, from_attributes=True)


class SendIn(BaseModel):
    account: str | None = Field(default=None, max_length=200, description="Account id or ext id")
    contacts: list[Annotated[str, Field(max_length=40)]] | None = Field(
        default=None, max_length=500, description="Contact ids (default: the program's rules)"
    )
    wave: str | None = Field(default=None, min_length=1, max_length=200)


class RecipientOut(BaseModel):
    id: str
    account_id: str
    contact_id: str
    wave: str
    status: str
    refusal: str | None
    invited_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, r: SurveyRecipient) -> RecipientOut:
        return cls(
            id=r.id,
            account_id=r.account_id,
            contact_id=r.contact_id,
            wave=r.wave,
            status=r.status.value,
            refusal=r.refusal,
            invited_at=r.invited_at,
            expires_at=r.expires_at,
        )


class SendOut(BaseModel):
    invited: list[RecipientOut]
    refused: list[RecipientOut]
    reminded: list[RecipientOut]


class ResponseIn(BaseModel):
    account: str = Field(min_length=1, max_length=200)
    contact: str | None = Field(default=None, max_length=40, description="Contact id")
    kind: SurveyKind
    score: int
    comment: str | None = Field(default=None, max_length=service.MAX_COMMENT)
    responded_at: datetime | None = None
    external_id: str | None = Field(default=None, max_length=200)


class ResponseOut(BaseModel):
    id: str
    account_id: str
    contact_id: str | None
    survey: SurveyKind
    score: int
    comment: str | None
    responded_at: datetime
    program_id: str | None
    recipient_id: str | None
    themes: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def of(cls, r: SurveyResponse, tags: list[Tag] | None = None) -> ResponseOut:
        return cls(
            id=r.id,
            account_id=r.account_id,
            contact_id=r.contact_id,
            survey=r.survey,
            score=r.score,
            comment=r.comment,
            responded_at=r.responded_at,
            program_id=r.program_id,
            recipient_id=r.recipient_id,
            themes=[{"theme": t.theme, "matched": t.matched, "why": t.why} for t in tags or []],
        )


class AnswerIn(BaseModel):
    score: int
    comment: str | None = Field(default=None, max_length=service.MAX_COMMENT)


class RollupOut(BaseModel):
    group: str
    responses: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None
    average: float | None
    invited: int
    answered: int
    response_rate: float | None

    @classmethod
    def of(cls, r: service.Rollup) -> RollupOut:
        return cls(
            group=r.group,
            responses=r.responses,
            promoters=r.promoters,
            passives=r.passives,
            detractors=r.detractors,
            nps=r.nps,
            average=r.average,
            invited=r.invited,
            answered=r.answered,
            response_rate=r.response_rate,
        )


class ThemeIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    keywords: list[Annotated[str, Field(max_length=themes.MAX_KEYWORD)]] = Field(
        min_length=1, max_length=themes.MAX_KEYWORDS
    )


class ThemeOut(BaseModel):
    id: str
    name: str
    keywords: list[str]


def _send_out(result: service.SendResult) -> SendOut:
    return SendOut(
        invited=[RecipientOut.of(r) for r in result.invited],
        refused=[RecipientOut.of(r) for r in result.refused],
        reminded=[RecipientOut.of(r) for r in result.reminded],
    )


def contacts_of(*, session: Session, account: Account | None, ids: list[str]) -> list[Contact]:
    """The contacts with these ids (Invalid naming the first unknown one)."""
    found = []
    for contact_id in ids:
        contact = session.get(Contact, contact_id)
        if contact is None:
            raise Invalid(f"contacts: no contact {contact_id!r}")
        if account is not None and contact.account_id != account.id:
            raise Invalid(f"contacts: {contact_id!r} is not a contact of {account.name}")
        found.append(contact)
    return found


@router.get("/programs", response_model=list[ProgramOut])
def list_programs(session: SessionDep, user: APIUser) -> list[ProgramOut]:
    return [ProgramOut.of(p) for p in service.list_programs(session=session)]


@router.post("/programs", response_model=ProgramOut, status_code=201)
def create_program(body: ProgramIn, session: SessionDep, user: APIUser) -> ProgramOut:
    require_manager(user)
    program = service.create_program(session=session, **body.model_dump())
    return ProgramOut.of(program)


@router.get("/programs/{ref}", response_model=ProgramOut)
def get_program(ref: str, session: SessionDep, user: APIUser) -> ProgramOut:
    return ProgramOut.of(service.get_program(session=session, ref=ref))


class ActiveIn(BaseModel):
    active: bool


@router.post("/programs/{ref}/active", response_model=ProgramOut)
def set_active(ref: str, body: ActiveIn, session: SessionDep, user: APIUser) -> ProgramOut:
    require_manager(user)
    return ProgramOut.of(
        service.set_active(
            session=session,
            program=service.get_program(session=session, ref=ref),
            active=body.active,
        )
    )


@router.post("/programs/{ref}/send", response_model=SendOut)
def send(ref: str, body: SendIn, request: Request, session: SessionDep, user: APIUser) -> SendOut:
    """Invite now: the listed contacts, or the program's contacts of an account, or all."""
    require_writer(user)
    program = service.get_program(session=session, ref=ref)
    account = (
        accounts_service.get_by_ref(session=session, ref=body.account) if body.account else None
    )
    contacts = (
        contacts_of(session=session, account=account, ids=body.contacts)
        if body.contacts is not None
        else None
    )
    result = service.send(
        session=session,
        settings=request.app.state.settings,
        program=program,
        account=account,
        contacts=contacts,
        wave=body.wave,
    )
    return _send_out(result)


@router.post("/run", response_model=SendOut)
def run(request: Request, session: SessionDep, user: APIUser) -> SendOut:
    """What the hourly ``surveys.send`` job does, now."""
    require_manager(user)
    return _send_out(service.run_due(session=session, settings=request.app.state.settings))


@router.get("/responses", response_model=list[ResponseOut])
def list_responses(
    session: SessionDep,
    user: APIUser,
    account: Annotated[str | None, Query(max_length=200)] = None,
    kind: SurveyKind | None = None,
    program: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ResponseOut]:
    account_id = accounts_service.get_by_ref(session=session, ref=account).id if account else None
    program_id = service.get_program(session=session, ref=program).id if program else None
    known = themes.list_themes(session=session)
    return [
        ResponseOut.of(r, themes.tag(r.comment, known))
        for r in service.list_responses(
            session=session, account_id=account_id, kind=kind, program_id=program_id, limit=limit
        )
    ]


@router.post("/responses", response_model=ResponseOut, status_code=201)
def record(body: ResponseIn, session: SessionDep, user: APIUser) -> ResponseOut:
    """Record an answer given outside an invitation (a call, another survey tool)."""
    require_writer(user)
    account = accounts_service.get_by_ref(session=session, ref=body.account)
    contact = (
        contacts_of(session=session, account=account, ids=[body.contact])[0]
        if body.contact
        else None
    )
    response = service.record(
        session=session,
        account=account,
        contact=contact,
        kind=body.kind,
        score=body.score,
        comment=body.comment,
        responded_at=body.responded_at,
        external_id=body.external_id,
        by=user,
    )
    return ResponseOut.of(response)


@router.post("/respond/{token}", response_model=ResponseOut, status_code=201)
def respond(token: str, body: AnswerIn, request: Request, session: SessionDep) -> ResponseOut:
    """Answer an invitation (no login: the token from the email is the proof). One answer
    per invitation: a second is refused with 409."""
    recipient = service.recipient_for_token(
        session=session, settings=request.app.state.settings, token=token
    )
    response = service.respond(
        session=session, recipient=recipient, score=body.score, comment=body.comment
    )
    return ResponseOut.of(response)


@router.get("/rollup", response_model=list[RollupOut])
def rollup(
    session: SessionDep,
    user: APIUser,
    by: Annotated[str, Query(max_length=20, description="segment, tier, owner, month, program")],
    kind: SurveyKind = SurveyKind.nps,
    days: Annotated[int, Query(ge=1, le=3650)] = 365,
) -> list[RollupOut]:
    """NPS (and average score, response rate) by segment, tier, CSM, month or program."""
    now = utcnow()
    rows = service.rollup(
        session=session, by=by, kind=kind, since=now - timedelta(days=days), until=now
    )
    return [RollupOut.of(r) for r in rows]


@router.get("/comments", response_model=list[ResponseOut])
def comments(
    session: SessionDep,
    user: APIUser,
    q: Annotated[str | None, Query(max_length=200)] = None,
    theme: Annotated[str | None, Query(max_length=100)] = None,
    kind: SurveyKind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ResponseOut]:
    """Answers with a comment, searched by text and/or theme, with each tag's reason."""
    found = themes.search(session=session, text=q, theme=theme, kind=kind, limit=limit)
    return [ResponseOut.of(c.response, c.tags) for c in found]


@router.get("/themes", response_model=list[ThemeOut])
def list_themes(session: SessionDep, user: APIUser) -> list[ThemeOut]:
    return [
        ThemeOut(id=t.id, name=t.name, keywords=t.keywords)
        for t in themes.list_themes(session=session)
    ]


@router.put("/themes", response_model=ThemeOut)
def save_theme(body: ThemeIn, session: SessionDep, user: APIUser) -> ThemeOut:
    """Create a theme, or replace the keywords of the theme with this name."""
    require_manager(user)
    theme = themes.save(session=session, name=body.name, keywords=body.keywords)
    return ThemeOut(id=theme.id, name=theme.name, keywords=theme.keywords)


@router.delete("/themes/{ref}", status_code=204)
def delete_theme(ref: str, session: SessionDep, user: APIUser) -> None:
    require_manager(user)
    themes.delete(session=session, theme=themes.get(session=session, ref=ref))
