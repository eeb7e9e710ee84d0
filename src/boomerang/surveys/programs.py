"""Survey programs: what is asked, of whom, and when (the trigger); see
:mod:`boomerang.surveys.due` for who a program surveys."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import ContactRole
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.segments.models import Segment
from boomerang.surveys.models import DEFAULT_QUESTIONS, ProgramTrigger, SurveyKind, SurveyProgram

MAX_QUESTION = 500
MAX_DAYS = 3650


def _days(value: int | None, name: str, *, minimum: int = 0) -> int | None:
    if value is None:
        return None
    if not minimum <= value <= MAX_DAYS:
        raise Invalid(f"{name}: must be between {minimum} and {MAX_DAYS} days")
    return value


def _roles(roles: Iterable[str]) -> list[str]:
    out = []
    for role in roles:
        try:
            out.append(ContactRole(role.strip()).value)
        except ValueError:
            known = ", ".join(r.value for r in ContactRole)
            raise Invalid(f"roles: unknown role {role!r} (known: {known})") from None
    return sorted(set(out))


def _segment(*, session: Session, ref: str | None) -> Segment | None:
    if not ref:
        return None
    found = session.scalar(select(Segment).where(or_(Segment.id == ref, Segment.name == ref)))
    if found is None:
        raise Invalid(f"segment: no segment {ref!r}")
    return found


def _kind(kind: SurveyKind | str) -> SurveyKind:
    try:
        return SurveyKind(kind)
    except ValueError:
        raise Invalid(f"kind: must be nps, csat or ces, not {kind!r}") from None


def _trigger(trigger: ProgramTrigger | str) -> ProgramTrigger:
    try:
        return ProgramTrigger(trigger)
    except ValueError:
        known = ", ".join(t.value for t in ProgramTrigger)
        raise Invalid(f"trigger: must be one of {known}, not {trigger!r}") from None


def _question(text: str | None, default: str, name: str) -> str:
    question = (text or "").strip() or default
    if len(question) > MAX_QUESTION:
        raise Invalid(f"{name}: at most {MAX_QUESTION} characters")
    return question


def create_program(
    *,
    session: Session,
    name: str,
    kind: SurveyKind | str,
    question: str | None = None,
    comment_question: str | None = None,
    roles: Iterable[str] = (),
    segment: str | None = None,
    trigger: ProgramTrigger | str = ProgramTrigger.manual,
    every_days: int | None = None,
    delay_days: int = 0,
    throttle_days: int = 90,
    reminder_days: int | None = 3,
    expires_days: int = 30,
    active: bool = True,
) -> SurveyProgram:
    """A new survey program; Invalid naming the field when something is wrong."""
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise Invalid("name: 1 to 100 characters")
    kind = _kind(kind)
    trigger = _trigger(trigger)
    question = _question(question, DEFAULT_QUESTIONS[kind], "question")
    comment_question = _question(comment_question, "What is the main reason?", "comment_question")
    if trigger is ProgramTrigger.schedule and every_days is None:
        raise Invalid("every_days: a scheduled program needs the days between waves")
    _days(every_days, "every_days", minimum=1)
    _days(delay_days, "delay_days")
    _days(throttle_days, "throttle_days")
    _days(reminder_days, "reminder_days", minimum=1)
    _days(expires_days, "expires_days", minimum=1)
    if session.scalar(select(SurveyProgram.id).where(SurveyProgram.name == name)):
        raise Conflict(f"name: a program named {name!r} already exists")
    seg = _segment(session=session, ref=segment)
    program = SurveyProgram(
        name=name,
        kind=kind,
        question=question,
        comment_question=comment_question,
        roles=_roles(roles),
        segment_id=seg.id if seg else None,
        trigger=trigger,
        every_days=every_days,
        delay_days=delay_days,
        throttle_days=throttle_days,
        reminder_days=reminder_days,
        expires_days=expires_days,
        active=active,
    )
    session.add(program)
    session.flush()
    return program


def get_program(*, session: Session, ref: str) -> SurveyProgram:
    """The program with this id or name; NotFound otherwise."""
    found = session.scalar(
        select(SurveyProgram).where(or_(SurveyProgram.id == ref, SurveyProgram.name == ref))
    )
    if found is None:
        raise NotFound(f"no survey program {ref!r}")
    return found


def list_programs(*, session: Session) -> list[SurveyProgram]:
    """Every program, by name."""
    return list(session.scalars(select(SurveyProgram).order_by(SurveyProgram.name)))


def set_active(*, session: Session, program: SurveyProgram, active: bool) -> SurveyProgram:
    """Switch a program on or off."""
    program.active = active
    session.flush()
    return program
