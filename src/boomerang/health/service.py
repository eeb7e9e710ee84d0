"""Compute, store and explain health scores. The caller owns the transaction."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.analytics.source import EventSource
from boomerang.db import bulk_insert
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.health import measures, scorecard, scoring, vectors
from boomerang.health.models import HealthMeasure, HealthOverride, HealthScore, ScorecardVersion
from boomerang.health.scorecard import LoadedScorecard, Scorecard
from boomerang.timeline.models import EntryKind, TimelineEntry
from boomerang.users.models import User

TREND_DAYS = (7, 30, 90)
_INSERT_CHUNK = 20_000


def ensure_version(*, session: Session, loaded: LoadedScorecard) -> ScorecardVersion:
    """The stored version with this exact text, or a new version of the scorecard."""
    name = loaded.scorecard.name
    latest = session.scalar(
        select(ScorecardVersion)
        .where(ScorecardVersion.name == name)
        .order_by(ScorecardVersion.version.desc())
        .limit(1)
    )
    if latest is not None and latest.digest == loaded.digest:
        return latest
    version = ScorecardVersion(
        name=name,
        version=(latest.version + 1) if latest else 1,
        source=loaded.source,
        digest=loaded.digest,
        origin=loaded.origin,
    )
    session.add(version)
    session.flush()
    return version


@dataclass(frozen=True)
class ComputeResult:
    as_of: date
    scorecard: str
    version: int
    accounts: int
    colours: dict[str, int]
    vectors: dict[str, int] = field(default_factory=dict)


def compute(
    *,
    session: Session,
    source: EventSource,
    loaded: LoadedScorecard,
    as_of: date,
    account_ids: list[str] | None = None,
    vector_rules: vectors.Rules | None = None,
    track: str | None = None,
) -> ComputeResult:
    """Score every account alive on ``as_of`` (or only ``account_ids``) and store the
    snapshots under ``track`` (default: the scorecard's name), replacing any earlier
    computation of those accounts that day; with ``vector_rules``, set every snapshot's
    success vector too."""
    card = loaded.scorecard
    track = track or card.name
    computed_at = datetime.now(UTC)
    version = ensure_version(session=session, loaded=loaded)
    accounts = measures.population(session=session, as_of=as_of, account_ids=account_ids)
    with source.open() as events:
        raw = measures.compute(card.measures, session=session, events=events, accounts=accounts)
    active = active_overrides(
        session=session, scorecard=track, as_of=as_of, account_ids=accounts.ids
    )
    row_of = {a: i for i, a in enumerate(accounts.ids)}
    column_of = {m.key: j for j, m in enumerate(card.measures)}
    on_measures = {
        (row_of[o.account_id], column_of[o.measure_key]): o
        for o in active
        if o.measure_key is not None and o.measure_key in column_of and o.score is not None
    }
    on_totals = {
        row_of[o.account_id]: o for o in active if o.measure_key is None and o.score is not None
    }
    result = (
        scoring.rollup(card, raw, {cell: o.score or 0.0 for cell, o in on_measures.items()})
        if len(accounts)
        else None
    )

    old = select(HealthScore.id).where(HealthScore.scorecard == track, HealthScore.as_of == as_of)
    if account_ids is not None:
        old = old.where(HealthScore.account_id.in_(account_ids))
    connection = session.connection()  # Core statements: no ORM bookkeeping per row
    connection.execute(delete(HealthMeasure).where(HealthMeasure.score_id.in_(old)))
    connection.execute(delete(HealthScore).where(HealthScore.id.in_(old)))
    colours: Counter[str] = Counter()
    if result is not None:
        # Ascending within a run, so that the index grows at its end (inserts 1.7x faster).
        run = secrets.token_hex(6)
        ids = [f"hs_{run}{i:08x}" for i in range(len(accounts))]
        for i, o in on_totals.items():
            result.total[i] = o.score or 0.0
        totals = _nullable(np.round(result.total, 2))
        colour_of = [card.colours.of(total) for total in totals]
        colours.update(colour_of)
        score_rows = [
            {
                "id": sid,
                "account_id": aid,
                "scorecard": track,
                "scorecard_version_id": version.id,
                "as_of": as_of,
                "score": total,
                "colour": colour,
                "override_id": on_totals[i].id if i in on_totals else None,
                "computed_at": computed_at,
            }
            for i, (sid, aid, total, colour) in enumerate(
                zip(ids, accounts.ids, totals, colour_of, strict=True)
            )
        ]
        m = len(result.keys)
        raw_values = _nullable(np.round(result.raw, 4).ravel())
        score_values = _nullable(np.round(result.scores, 4).ravel())
        weight_values = np.round(result.weights, 6).ravel().tolist()
        overridden = {i * m + j: o.id for (i, j), o in on_measures.items()}
        measure_rows = [
            (ids[k // m], key, raw, score, weight, overridden.get(k))
            for k, (key, raw, score, weight) in enumerate(
                zip(result.keys * len(ids), raw_values, score_values, weight_values, strict=True)
            )
        ]
        for start in range(0, len(score_rows), _INSERT_CHUNK):
            connection.execute(insert(HealthScore), score_rows[start : start + _INSERT_CHUNK])
        # Nine or so rows per account: COPY / executemany, not one statement per row.
        bulk_insert(
            connection,
            HealthMeasure.__table__,  # type: ignore[arg-type]
            ["score_id", "key", "raw", "score", "weight", "override_id"],
            measure_rows,
        )
    session.flush()
    counts = (
        vectors.assign(
            session=session,
            rules=vector_rules,
            as_of=as_of,
            scorecard=track,
            account_ids=account_ids,
        )
        if vector_rules is not None and result is not None
        else {}
    )
    return ComputeResult(
        as_of=as_of,
        scorecard=card.name,
        version=version.version,
        accounts=len(accounts),
        colours=dict(colours),
        vectors=counts,
    )


PRIMARY = "default"
"""The track under which every account's main health score is stored, whichever primary
scorecard produced it (the snapshot's version says which)."""


@dataclass(frozen=True)
class SetResult:
    as_of: date
    accounts: int  # with a primary score
    by_scorecard: dict[str, int]
    colours: dict[str, int]
    vectors: dict[str, int]


def compute_set(
    *,
    session: Session,
    source: EventSource,
    cards: list[LoadedScorecard],
    as_of: date,
    vector_rules: vectors.Rules | None = None,
) -> SetResult:
    """Score every account with the first primary scorecard that applies to it (stored
    under :data:`PRIMARY`), and with every secondary scorecard that applies (under its own
    name); then set vectors on the primary scores."""
    from boomerang.segments import conditions as cond
    from boomerang.segments.facts import known_fields
    from boomerang.segments.service import evaluator

    kinds = known_fields(session=session)
    for loaded in cards:
        if loaded.scorecard.applies_to:
            try:
                cond.parse(loaded.scorecard.applies_to, kinds)
            except cond.ConditionError as exc:
                raise Invalid(f"{loaded.origin}: applies_to: {exc.message}") from None
    alive = measures.population(session=session, as_of=as_of).ids
    wanted = [c.scorecard.applies_to for c in cards if c.scorecard.applies_to]
    members: dict[str, set[str]] = {}
    with evaluator(session=session, today=as_of, for_conditions=wanted) as ev:
        for loaded in cards:
            rule = loaded.scorecard.applies_to
            members[loaded.scorecard.name] = set(ev.members(rule)) if rule else set(alive)
    unassigned = set(alive)
    primary_accounts = 0
    by_scorecard: dict[str, int] = {}
    colours: Counter[str] = Counter()
    for loaded in cards:
        card = loaded.scorecard
        if card.primary:
            mine = sorted(unassigned & members[card.name])
            unassigned -= set(mine)
            track = PRIMARY
        else:
            mine = sorted(set(alive) & members[card.name])
            track = card.name
        if not mine:
            continue
        result = compute(
            session=session,
            source=source,
            loaded=loaded,
            as_of=as_of,
            account_ids=mine,
            track=track,
        )
        by_scorecard[card.name] = result.accounts
        if card.primary:
            primary_accounts += result.accounts
            colours.update(result.colours)
    counts = (
        vectors.assign(session=session, rules=vector_rules, as_of=as_of, scorecard=PRIMARY)
        if vector_rules is not None
        else {}
    )
    return SetResult(
        as_of=as_of,
        accounts=primary_accounts,
        by_scorecard=by_scorecard,
        colours=dict(colours),
        vectors=counts,
    )


def _nullable(values: npt.NDArray[np.float64]) -> list[float | None]:
    return [None if v != v else v for v in values.tolist()]


MAX_OVERRIDE_DAYS = 365


def active_overrides(
    *,
    session: Session,
    scorecard: str,
    as_of: date,
    account_ids: list[str] | None = None,
    vectors: bool = False,
) -> list[HealthOverride]:
    """Overrides in force on ``as_of``: made by then, not expired or revoked by then; the
    newest wins for the same account and measure. Score overrides, or with ``vectors``
    the vector overrides."""
    start = datetime.combine(as_of, datetime.min.time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    stmt = (
        select(HealthOverride)
        .where(
            HealthOverride.scorecard == scorecard,
            HealthOverride.created_at < end,
            HealthOverride.expires_at > start,
            (HealthOverride.revoked_at.is_(None)) | (HealthOverride.revoked_at >= end),
            HealthOverride.vector.is_not(None) if vectors else HealthOverride.vector.is_(None),
        )
        .order_by(HealthOverride.created_at)
    )
    newest: dict[tuple[str, str | None], HealthOverride] = {}
    wanted = set(account_ids) if account_ids is not None else None
    for o in session.scalars(stmt):
        if wanted is None or o.account_id in wanted:
            newest[(o.account_id, o.measure_key)] = o
    return list(newest.values())


def create_override(
    *,
    session: Session,
    account: Account,
    score: float,
    reason: str,
    author: User | None,
    days: int = 30,
    measure_key: str | None = None,
    scorecard_name: str = "default",
) -> HealthOverride:
    """Record an override (applied from the next computation) and note it on the timeline."""
    if not 0 <= score <= 100:
        raise Invalid("score: must be between 0 and 100")
    if not reason.strip():
        raise Invalid("reason: say why the score is overridden")
    if not 1 <= days <= MAX_OVERRIDE_DAYS:
        raise Invalid(f"days: between 1 and {MAX_OVERRIDE_DAYS}")
    if measure_key is not None:
        keys = _scorecard_keys(session=session, name=scorecard_name, account=account)
        if measure_key not in keys:
            raise Invalid(f"measure: {measure_key!r} is not one of {', '.join(keys)}")
    now = datetime.now(UTC)
    override = HealthOverride(
        account_id=account.id,
        scorecard=scorecard_name,
        measure_key=measure_key,
        score=float(score),
        reason=reason.strip(),
        author_id=author.id if author else None,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(override)
    what = f"measure {measure_key}" if measure_key else "health score"
    session.add(
        TimelineEntry(
            account_id=account.id,
            kind=EntryKind.system,
            author_id=author.id if author else None,
            subject=f"Health override: {what} set to {score:g}",
            body=f"{override.reason} (until {override.expires_at:%Y-%m-%d})",
            occurred_at=now,
        )
    )
    session.flush()
    return override


def override_vector(
    *,
    session: Session,
    account: Account,
    vector: str,
    reason: str,
    author: User | None,
    days: int = 30,
    scorecard_name: str = "default",
    now: datetime | None = None,
) -> HealthOverride:
    """Set the account's success vector for ``days`` whatever the rules say (applied from
    the next computation), noted on the timeline."""
    if vector not in ("positive", "neutral", "negative"):
        raise Invalid("vector: one of positive, neutral, negative")
    if not reason.strip():
        raise Invalid("reason: say why the vector is overridden")
    if not 1 <= days <= MAX_OVERRIDE_DAYS:
        raise Invalid(f"days: between 1 and {MAX_OVERRIDE_DAYS}")
    now = now or datetime.now(UTC)
    override = HealthOverride(
        account_id=account.id,
        scorecard=scorecard_name,
        measure_key=None,
        score=None,
        vector=vector,
        reason=reason.strip()[:2000],
        author_id=author.id if author else None,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(override)
    session.add(
        TimelineEntry(
            account_id=account.id,
            kind=EntryKind.system,
            author_id=author.id if author else None,
            subject=f"Success vector set to {vector}",
            body=f"{override.reason} (until {override.expires_at:%Y-%m-%d})",
            occurred_at=now,
        )
    )
    session.flush()
    return override


def revoke_override(*, session: Session, override: HealthOverride, by: User | None) -> None:
    if override.revoked_at is not None:
        raise Conflict("the override is already revoked")
    now = datetime.now(UTC)
    override.revoked_at = now
    what = f"measure {override.measure_key}" if override.measure_key else "health score"
    session.add(
        TimelineEntry(
            account_id=override.account_id,
            kind=EntryKind.system,
            author_id=by.id if by else None,
            subject=f"Health override revoked: {what}",
            body=override.reason,
            occurred_at=now,
        )
    )
    session.flush()


def list_overrides(*, session: Session, account: Account) -> list[HealthOverride]:
    return list(
        session.scalars(
            select(HealthOverride)
            .where(HealthOverride.account_id == account.id)
            .order_by(HealthOverride.created_at.desc())
        )
    )


def get_override(*, session: Session, account: Account, override_id: str) -> HealthOverride:
    override = session.get(HealthOverride, override_id)
    if override is None or override.account_id != account.id:
        raise NotFound(f"no override {override_id!r} on this account")
    return override


def recompute_account(
    *, session: Session, source: EventSource, account: Account, scorecard_name: str = "default"
) -> None:
    """Recompute the account's latest snapshot with the scorecard version that made it (an
    override or its end shows at once); nothing when it has none."""
    latest = session.scalar(
        select(HealthScore)
        .where(HealthScore.account_id == account.id, HealthScore.scorecard == scorecard_name)
        .order_by(HealthScore.as_of.desc())
        .limit(1)
    )
    if latest is None:
        return
    version = session.get_one(ScorecardVersion, latest.scorecard_version_id)
    compute(
        session=session,
        source=source,
        loaded=scorecard.parse(version.source, origin=version.origin),
        as_of=latest.as_of,
        account_ids=[account.id],
        vector_rules=vectors.load(session=session) if scorecard_name == PRIMARY else None,
        track=scorecard_name,
    )


def _scorecard_keys(*, session: Session, name: str, account: Account | None = None) -> list[str]:
    """Measure keys of the scorecard that last scored ``account`` on track ``name`` (else
    of the newest version named ``name``, else of the shipped scorecard)."""
    version = None
    if account is not None:
        version = session.scalar(
            select(ScorecardVersion)
            .join(HealthScore, HealthScore.scorecard_version_id == ScorecardVersion.id)
            .where(HealthScore.account_id == account.id, HealthScore.scorecard == name)
            .order_by(HealthScore.as_of.desc())
            .limit(1)
        )
    version = version or session.scalar(
        select(ScorecardVersion)
        .where(ScorecardVersion.name == name)
        .order_by(ScorecardVersion.version.desc())
        .limit(1)
    )
    card = _parsed(version.source, version.origin) if version else scorecard.default().scorecard
    return [m.key for m in card.measures]


@dataclass(frozen=True)
class MeasureLine:
    key: str
    label: str
    category: str
    raw: float | None
    score: float | None  # None: skipped (no value, policy "skip")
    weight: float  # effective share of the total, 0-1
    contribution: float  # points of the total
    previous_score: float | None
    override: HealthOverride | None = None

    @property
    def drag(self) -> float:
        """Points lost to a perfect score on this measure."""
        return (100.0 - (self.score or 0.0)) * self.weight if self.score is not None else 0.0


@dataclass(frozen=True)
class Explanation:
    account_id: str
    scorecard: str
    version: int
    as_of: date
    score: float | None
    colour: str
    vector: str | None
    vector_rule: str | None
    override: HealthOverride | None
    measures: list[MeasureLine]
    previous_as_of: date | None
    previous_score: float | None
    trend: dict[int, float | None]  # days back -> change in points since then
    history: list[tuple[date, float | None]] = field(default_factory=list)

    def sparkline(self, width: int = 300, height: int = 60) -> str:
        """SVG polyline points of the score history (0-100 upwards); empty under 2 points."""
        points = [(d, s) for d, s in self.history if s is not None]
        if len(points) < 2:
            return ""
        first, last = points[0][0], points[-1][0]
        span = max((last - first).days, 1)
        return " ".join(
            f"{(d - first).days * width / span:.1f},{height - s * height / 100:.1f}"
            for d, s in points
        )

    @property
    def drags(self) -> list[MeasureLine]:
        """The measures that cost the most points, worst first."""
        lines = [m for m in self.measures if m.drag > 0.5]
        return sorted(lines, key=lambda m: m.drag, reverse=True)[:3]


def explain(
    *,
    session: Session,
    account: Account,
    scorecard_name: str = "default",
    as_of: date | None = None,
) -> Explanation | None:
    """The latest snapshot of ``account`` (on or before ``as_of``), measure by measure."""
    base = select(HealthScore).where(
        HealthScore.account_id == account.id, HealthScore.scorecard == scorecard_name
    )
    if as_of is not None:
        base = base.where(HealthScore.as_of <= as_of)
    latest = session.scalar(base.order_by(HealthScore.as_of.desc()).limit(1))
    if latest is None:
        return None
    previous = session.scalar(
        base.where(HealthScore.as_of < latest.as_of).order_by(HealthScore.as_of.desc()).limit(1)
    )
    version = session.get_one(ScorecardVersion, latest.scorecard_version_id)
    card = _parsed(version.source, version.origin)
    rows = {
        m.key: m
        for m in session.scalars(select(HealthMeasure).where(HealthMeasure.score_id == latest.id))
    }
    before = (
        {
            m.key: m.score
            for m in session.scalars(
                select(HealthMeasure).where(HealthMeasure.score_id == previous.id)
            )
        }
        if previous
        else {}
    )
    lines = []
    for category in card.categories:
        for m in category.measures:
            row = rows.get(m.key)
            if row is None:
                continue
            lines.append(
                MeasureLine(
                    key=m.key,
                    label=m.title,
                    category=category.name,
                    raw=row.raw,
                    score=row.score,
                    weight=row.weight,
                    contribution=(row.score or 0.0) * row.weight,
                    previous_score=before.get(m.key),
                    override=session.get(HealthOverride, row.override_id)
                    if row.override_id
                    else None,
                )
            )
    history = [
        (day, score)
        for day, score in session.execute(
            base.with_only_columns(HealthScore.as_of, HealthScore.score)
            .where(HealthScore.as_of > latest.as_of - timedelta(days=max(TREND_DAYS)))
            .where(HealthScore.as_of <= latest.as_of)
            .order_by(HealthScore.as_of)
        )
    ]
    trend: dict[int, float | None] = {}
    for days in TREND_DAYS:
        then = session.scalar(
            base.with_only_columns(HealthScore.score)
            .where(HealthScore.as_of <= latest.as_of - timedelta(days=days))
            .order_by(HealthScore.as_of.desc())
            .limit(1)
        )
        trend[days] = (
            round(latest.score - then, 2) if latest.score is not None and then is not None else None
        )
    return Explanation(
        account_id=account.id,
        scorecard=version.name,
        version=version.version,
        as_of=latest.as_of,
        score=latest.score,
        colour=latest.colour,
        vector=latest.vector,
        vector_rule=latest.vector_rule,
        override=session.get(HealthOverride, latest.override_id) if latest.override_id else None,
        measures=lines,
        previous_as_of=previous.as_of if previous else None,
        previous_score=previous.score if previous else None,
        trend=trend,
        history=history,
    )


def count(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(HealthScore)) or 0


@lru_cache(maxsize=32)
def _parsed(source: str, origin: str) -> Scorecard:
    return scorecard.parse(source, origin=origin).scorecard
