"""Survey roll-ups: answers grouped by segment, tier, owner, month or program, with the NPS
(% promoters 9-10 minus % detractors 0-6), the average score and the response rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.db import utcnow
from boomerang.errors import Invalid
from boomerang.segments.models import Segment, SegmentMembership
from boomerang.surveys.models import (
    RecipientStatus,
    SurveyKind,
    SurveyProgram,
    SurveyRecipient,
    SurveyResponse,
)
from boomerang.users.models import User

DIMENSIONS = ("segment", "tier", "owner", "month", "program")


@dataclass(frozen=True)
class Rollup:
    """One group's answers: counts, NPS (for nps), average score, response rate."""

    group: str
    responses: int
    promoters: int
    passives: int
    detractors: int
    average: float | None
    invited: int
    answered: int
    kind: SurveyKind = SurveyKind.nps

    @property
    def nps(self) -> float | None:
        """% promoters - % detractors; None for CSAT and CES (read ``average``)."""
        if not self.responses or self.kind is not SurveyKind.nps:
            return None
        return round((self.promoters - self.detractors) * 100 / self.responses, 1)

    @property
    def response_rate(self) -> float | None:
        return round(self.answered * 100 / self.invited, 1) if self.invited else None


def _month(*, session: Session, column: Any) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _grouped(
    *,
    session: Session,
    stmt: Any,
    by: str,
    account_col: Any,
    time_col: Any,
    program_col: Any,
) -> Any:
    """``stmt`` with a ``grp`` column first, joined as the dimension needs."""
    none = literal("(none)")
    match by:
        case "segment":
            return (
                stmt.add_columns(Segment.name.label("grp"))
                .join(
                    SegmentMembership,
                    and_(
                        SegmentMembership.account_id == account_col,
                        SegmentMembership.left_at.is_(None),
                    ),
                )
                .join(Segment, Segment.id == SegmentMembership.segment_id)
            )
        case "tier":
            return stmt.add_columns(func.coalesce(Account.tier, none).label("grp")).join(
                Account, Account.id == account_col
            )
        case "owner":
            return (
                stmt.add_columns(func.coalesce(User.name, none).label("grp"))
                .join(Account, Account.id == account_col)
                .outerjoin(User, User.id == Account.owner_id)
            )
        case "month":
            return stmt.add_columns(_month(session=session, column=time_col).label("grp"))
        case "program":
            return stmt.add_columns(
                func.coalesce(SurveyProgram.name, literal("(recorded)")).label("grp")
            ).outerjoin(SurveyProgram, SurveyProgram.id == program_col)
    raise Invalid(f"by: must be one of {', '.join(DIMENSIONS)}, not {by!r}")


def _answers(
    *, session: Session, by: str, kind: SurveyKind, since: datetime, until: datetime
) -> dict[Any, Any]:
    """Per group: the row of answer counts (n, p, m, d, avg)."""
    r = SurveyResponse
    base = select(
        func.count().label("n"),
        func.sum(case((r.score >= 9, 1), else_=0)).label("p"),
        func.sum(case((r.score.between(7, 8), 1), else_=0)).label("m"),
        func.sum(case((r.score <= 6, 1), else_=0)).label("d"),
        func.avg(r.score).label("avg"),
    ).where(r.survey == kind, r.responded_at >= since, r.responded_at < until)
    answers = _grouped(
        session=session,
        stmt=base,
        by=by,
        account_col=r.account_id,
        time_col=r.responded_at,
        program_col=r.program_id,
    )
    rows = session.execute(answers.group_by(literal_column_grp(answers))).all()
    return {row.grp: row for row in rows}


def _rates(
    *, session: Session, by: str, kind: SurveyKind, since: datetime, until: datetime
) -> dict[Any, tuple[int, int]]:
    """Per group: (invitations sent, of which answered)."""
    rec = SurveyRecipient
    invited = select(
        func.count().label("i"),
        func.sum(case((rec.status == RecipientStatus.answered, 1), else_=0)).label("a"),
    ).where(
        rec.status != RecipientStatus.refused,
        rec.invited_at >= since,
        rec.invited_at < until,
        rec.program_id.in_(select(SurveyProgram.id).where(SurveyProgram.kind == kind)),
    )
    invited = _grouped(
        session=session,
        stmt=invited,
        by=by,
        account_col=rec.account_id,
        time_col=rec.invited_at,
        program_col=rec.program_id,
    )
    return {
        row.grp: (int(row.i), int(row.a or 0))
        for row in session.execute(invited.group_by(literal_column_grp(invited)))
    }


def rollup(
    *,
    session: Session,
    by: str,
    kind: SurveyKind = SurveyKind.nps,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Rollup]:
    """Answers of ``kind`` grouped ``by`` segment (an account in two segments counts in
    both), tier, owner (CSM), month or program, two set-based queries (answers, and
    invitations for the response rate). NPS = % promoters (9-10) - % detractors (0-6)."""
    until = until or utcnow()
    since = since or until - timedelta(days=365)
    by_group = _answers(session=session, by=by, kind=kind, since=since, until=until)
    rates = _rates(session=session, by=by, kind=kind, since=since, until=until)
    out = []
    for group in sorted(set(by_group) | set(rates), key=str):
        row = by_group.get(group)
        inv, ans = rates.get(group, (0, 0))
        out.append(
            Rollup(
                group=str(group),
                responses=int(row.n) if row else 0,
                promoters=int(row.p or 0) if row else 0,
                passives=int(row.m or 0) if row else 0,
                detractors=int(row.d or 0) if row else 0,
                average=round(float(row.avg), 2) if row and row.avg is not None else None,
                invited=inv,
                answered=ans,
                kind=kind,
            )
        )
    return out


def literal_column_grp(stmt: Any) -> Any:
    """The ``grp`` column of a grouped statement (to group by the same expression)."""
    return stmt.selected_columns.grp


def overall(
    *,
    session: Session,
    kind: SurveyKind = SurveyKind.nps,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Rollup:
    """All answers of ``kind`` in the window as one group."""
    rows = rollup(session=session, by="program", kind=kind, since=since, until=until)
    return Rollup(
        group="all",
        responses=sum(r.responses for r in rows),
        promoters=sum(r.promoters for r in rows),
        passives=sum(r.passives for r in rows),
        detractors=sum(r.detractors for r in rows),
        average=(
            round(sum((r.average or 0) * r.responses for r in rows) / total, 2)
            if (total := sum(r.responses for r in rows))
            else None
        ),
        invited=sum(r.invited for r in rows),
        answered=sum(r.answered for r in rows),
        kind=kind,
    )


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time(), tzinfo=UTC)
