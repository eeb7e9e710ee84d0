"""The customer journey: stages with entry rules, success milestones with target dates,
time to value. Rules are data (``journey.yaml``); the caller owns the transaction."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from boomerang import yaml_limits
from boomerang.accounts.models import Account, Stage
from boomerang.errors import Invalid
from boomerang.journey.models import MilestoneMet
from boomerang.segments import conditions
from boomerang.segments.facts import known_fields
from boomerang.segments.service import evaluator
from boomerang.timeline import events as timeline_events

ORDER = [Stage.onboarding, Stage.adoption, Stage.performance, Stage.transformation, Stage.advocacy]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageRule(_Strict):
    stage: Stage
    enter_when: str = Field(min_length=1, max_length=2000)


class Milestone(_Strict):
    name: str = Field(min_length=1, max_length=200)
    when: str = Field(min_length=1, max_length=2000)
    target_days: int = Field(ge=1, le=3650)
    time_to_value: bool = False
    applies_to: str | None = Field(default=None, max_length=2000)


class Journey(_Strict):
    stages: list[StageRule] = Field(default_factory=list)
    milestones: list[Milestone] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Journey:
        ranks = []
        for rule in self.stages:
            if rule.stage in (Stage.onboarding, Stage.churned):
                raise ValueError(f"{rule.stage} has no entry rule: every account starts onboarding")
            ranks.append(ORDER.index(rule.stage))
        if ranks != sorted(set(ranks)):
            raise ValueError("stages must be listed once each, in journey order")
        names = [m.name for m in self.milestones]
        if len(set(names)) != len(names):
            raise ValueError("milestone names must be unique")
        if sum(m.time_to_value for m in self.milestones) > 1:
            raise ValueError("only one milestone can mark time to value")
        return self

    @property
    def ttv(self) -> Milestone | None:
        return next((m for m in self.milestones if m.time_to_value), None)


def parse(text: str, *, origin: str, session: Session) -> Journey:
    """Validate journey YAML and every condition in it; Invalid naming what is wrong."""
    try:
        yaml_limits.check(text, origin=origin)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise Invalid(f"{origin}{f':{mark.line + 1}' if mark else ''}: not valid YAML") from None
    try:
        journey = Journey.model_validate(data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise Invalid(f"{origin}: {where}: {err['msg']}") from None
    kinds = known_fields(session=session)
    checks = [(f"stages[{i}].enter_when", r.enter_when) for i, r in enumerate(journey.stages)]
    for i, m in enumerate(journey.milestones):
        checks.append((f"milestones[{i}].when", m.when))
        if m.applies_to:
            checks.append((f"milestones[{i}].applies_to", m.applies_to))
    for where, text_ in checks:
        try:
            conditions.parse(text_, kinds)
        except conditions.ConditionError as exc:
            raise Invalid(f"{origin}: {where}: {exc.message}") from None
    return journey


def load(*, session: Session, path: Path | None = None) -> Journey:
    if path is not None:
        try:
            text = path.read_text()
        except OSError as exc:
            raise Invalid(f"{path}: cannot read the journey ({exc.strerror})") from None
        return parse(text, origin=str(path), session=session)
    text = resources.files("boomerang.journey").joinpath("journey.yaml").read_text()
    return parse(text, origin="boomerang/journey/journey.yaml", session=session)


@dataclass(frozen=True)
class Evaluation:
    stages: dict[str, int]
    advanced: int
    milestones_met: dict[str, int]  # newly met, by milestone


def evaluate(*, session: Session, journey: Journey, now: datetime | None = None) -> Evaluation:
    """Advance stages whose entry rule now holds (stages only move forward here: moving an
    account back is a person's decision) and record newly met milestones, for all accounts."""
    now = now or datetime.now(UTC)
    current, furthest, met_now = _what_holds(session=session, journey=journey, today=now.date())
    moves = _advance(session=session, current=current, furthest=furthest, now=now)
    new_rows = _record_milestones(session=session, current=current, met_now=met_now, now=now)
    after = Counter(current.values())
    for target, ids in moves.items():
        for account_id in ids:
            after[current[account_id]] -= 1
            after[target.value] += 1
    return Evaluation(
        stages={k: v for k, v in after.items() if v and k is not None},
        advanced=sum(len(ids) for ids in moves.values()),
        milestones_met=dict(Counter(str(r["milestone"]) for r in new_rows)),
    )


def _what_holds(
    *, session: Session, journey: Journey, today: date
) -> tuple[dict[str, str], dict[str, int], dict[str, set[str]]]:
    """Every account's current stage, the furthest stage whose entry rule holds for it (its
    rank in :data:`ORDER`), and the accounts each milestone holds for (one evaluation)."""
    wanted = [r.enter_when for r in journey.stages]
    wanted += [m.when for m in journey.milestones]
    wanted += [m.applies_to for m in journey.milestones if m.applies_to]
    furthest: dict[str, int] = {}
    met_now: dict[str, set[str]] = {}
    with evaluator(session=session, today=today, for_conditions=wanted) as ev:
        current = dict(
            zip(
                ev.facts.column("account_id").to_pylist(),
                ev.facts.column("stage").to_pylist(),
                strict=True,
            )
        )
        for rule in journey.stages:
            rank = ORDER.index(rule.stage)
            for account_id in ev.members(rule.enter_when):
                furthest[account_id] = max(furthest.get(account_id, 0), rank)
        for m in journey.milestones:
            hits = set(ev.members(m.when))
            if m.applies_to:
                hits &= set(ev.members(m.applies_to))
            met_now[m.name] = hits
    return current, furthest, met_now


def _advance(
    *, session: Session, current: dict[str, str], furthest: dict[str, int], now: datetime
) -> dict[Stage, list[str]]:
    """Move accounts forward to the furthest stage that holds (never churned ones), noted
    on their timelines; returns the accounts moved, by stage."""
    moves: dict[Stage, list[str]] = {}
    noted = []
    for account_id, rank in furthest.items():
        stage = current.get(account_id)
        if stage is None or stage == Stage.churned.value:
            continue
        before = ORDER.index(Stage(stage)) if stage in Stage.__members__ else 0
        if rank > before:
            target = ORDER[rank]
            moves.setdefault(target, []).append(account_id)
            noted.append((account_id, stage, target.value))
    connection = session.connection()
    for target, ids in moves.items():
        for start in range(0, len(ids), 500):
            connection.execute(
                update(Account)
                .where(Account.id.in_(ids[start : start + 500]))
                .values(stage=target, updated_at=now)
            )
    timeline_events.journey_stages_entered(session=session, moves=noted, occurred_at=now)
    return moves


def _record_milestones(
    *, session: Session, current: dict[str, str], met_now: dict[str, set[str]], now: datetime
) -> list[dict[str, object]]:
    """Record the milestones met for the first time (not by churned accounts)."""
    already = {
        (a, m) for a, m in session.execute(select(MilestoneMet.account_id, MilestoneMet.milestone))
    }
    new_rows: list[dict[str, object]] = [
        {"account_id": a, "milestone": name, "met_at": now}
        for name, hits in met_now.items()
        for a in sorted(hits)
        if (a, name) not in already and current.get(a) != Stage.churned.value
    ]
    if new_rows:
        session.connection().execute(insert(MilestoneMet), new_rows)
    return new_rows


@dataclass(frozen=True)
class MilestoneStatus:
    name: str
    target: date
    met_on: date | None
    status: str  # met, late, due


def account_milestones(
    *, session: Session, journey: Journey, account: Account, today: date | None = None
) -> list[MilestoneStatus]:
    """Each milestone that applies to the account: met (when), late, or due (by when)."""
    today = today or datetime.now(UTC).date()
    met = {
        m: t
        for m, t in session.execute(
            select(MilestoneMet.milestone, MilestoneMet.met_at).where(
                MilestoneMet.account_id == account.id
            )
        )
    }
    applicable = set()
    wanted = [m.applies_to for m in journey.milestones if m.applies_to]
    if wanted:
        with evaluator(
            session=session, today=today, for_conditions=wanted, account_ids=[account.id]
        ) as ev:
            for m in journey.milestones:
                if m.applies_to and account.id in set(ev.members(m.applies_to)):
                    applicable.add(m.name)
    start = account.created_at.date()
    out = []
    for m in journey.milestones:
        if m.applies_to and m.name not in applicable and m.name not in met:
            continue
        target = start + timedelta(days=m.target_days)
        when = met.get(m.name)
        status = "met" if when else ("late" if today > target else "due")
        out.append(MilestoneStatus(m.name, target, when.date() if when else None, status))
    return out


@dataclass(frozen=True)
class Cohort:
    month: str  # YYYY-MM of the accounts' start
    accounts: int
    reached: int
    median_days: float | None  # None too when the cohort started before tracking did
    tracked: bool  # started after milestones were first recorded: its days are real


def time_to_value(*, session: Session, journey: Journey) -> list[Cohort]:
    """Per start month: accounts, how many met the time-to-value milestone, median days.

    Milestones are recorded from the first evaluation on, so for accounts that started
    before then the day a milestone was met is not known: their cohorts report counts only.
    """
    ttv = journey.ttv
    if ttv is None:
        raise Invalid("no milestone is marked time_to_value: true")
    rows = session.execute(
        select(Account.created_at, MilestoneMet.met_at).outerjoin(
            MilestoneMet,
            (MilestoneMet.account_id == Account.id) & (MilestoneMet.milestone == ttv.name),
        )
    ).all()
    first = session.scalar(select(func.min(MilestoneMet.met_at)))
    tracked_from = f"{first:%Y-%m}" if first else None
    cohorts: dict[str, list[float | None]] = {}
    for created, met in rows:
        days = (met - created).total_seconds() / 86400 if met is not None else None
        cohorts.setdefault(f"{created:%Y-%m}", []).append(days)
    out = []
    for month in sorted(cohorts):
        values = cohorts[month]
        reached = [d for d in values if d is not None]
        tracked = tracked_from is not None and month > tracked_from
        out.append(
            Cohort(
                month=month,
                accounts=len(values),
                reached=len(reached),
                median_days=round(statistics.median(reached), 1) if reached and tracked else None,
                tracked=tracked,
            )
        )
    return out
