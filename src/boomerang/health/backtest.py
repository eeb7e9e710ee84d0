"""Back-testing a scorecard: would its scores have told churners from the others?

The scorecard is recomputed as of past days (every ``step_days``, as far back as the data
allows while leaving a full horizon after each day), each account's outcome is read from
what happened next (churned within ``horizon_days``), and the scores are judged: ROC-AUC of
"lower score, more churn", precision of red, churn rate and lift by colour, a calibration
table by score band, the same per tier. A weight suggestion is fitted on the earlier days
and judged on the later ones (a time split: no peeking at the future); it is reported next
to the current weights and never applied (:mod:`boomerang.health.weights`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.analytics import queries
from boomerang.analytics.source import EventSource
from boomerang.errors import Invalid
from boomerang.health import measures, scoring
from boomerang.health.scorecard import LoadedScorecard, Scorecard
from boomerang.health.weights import Suggestion, auc, suggest

FloatArray = npt.NDArray[np.float64]
COLOURS = ("red", "yellow", "green")


@dataclass(frozen=True)
class ColourRow:
    colour: str
    accounts: int
    churned: int

    @property
    def rate(self) -> float | None:
        return self.churned / self.accounts if self.accounts else None


@dataclass(frozen=True)
class Calibration:
    band: str  # "0-10", ..., "90-100"
    accounts: int
    churned: int
    mean_score: float | None


@dataclass(frozen=True)
class SegmentRow:
    segment: str
    observations: int
    churned: int
    auc: float | None


@dataclass(frozen=True)
class Report:
    scorecard: str
    horizon_days: int
    days: list[date]
    observations: int
    churned: int
    auc: float | None
    red_precision: float | None
    colours: list[ColourRow]
    calibration: list[Calibration]
    segments: list[SegmentRow]
    suggestion: Suggestion | None
    notes: list[str] = field(default_factory=list)

    @property
    def base_rate(self) -> float | None:
        return self.churned / self.observations if self.observations else None

    def lift(self, row: ColourRow) -> float | None:
        if row.rate is None or not self.base_rate:
            return None
        return row.rate / self.base_rate


@dataclass
class _Frame:
    """Every (day, account) observation, column-wise."""

    day: list[date] = field(default_factory=list)
    tier: list[str] = field(default_factory=list)
    label: list[int] = field(default_factory=list)
    total: list[FloatArray] = field(default_factory=list)
    scores: list[FloatArray] = field(default_factory=list)
    weights: list[FloatArray] = field(default_factory=list)
    raw: list[dict[str, FloatArray]] = field(default_factory=list)  # one per scored day


def backtest_days(
    *,
    session: Session,
    horizon_days: int,
    step_days: int,
    first_event: date | None,
    today: date | None = None,
) -> list[date]:
    """Past days to score: each leaves a whole horizon before today, and none comes before
    the accounts and their usage data have had 60 days to fill the windows."""
    today = today or datetime.now(UTC).date()
    first = session.scalar(select(Account.created_at).order_by(Account.created_at).limit(1))
    if first is None or first_event is None:
        return []
    earliest = max(first.date(), first_event) + timedelta(days=60)
    last = today - timedelta(days=horizon_days)
    days: list[date] = []
    day = last
    while day >= earliest and len(days) < 24:
        days.append(day)
        day -= timedelta(days=step_days)
    return sorted(days)


def run(
    *,
    session: Session,
    source: EventSource,
    loaded: LoadedScorecard,
    horizon_days: int = 90,
    step_days: int = 30,
    today: date | None = None,
) -> Report:
    """Recompute ``loaded`` on past days and judge it against what happened next."""
    if horizon_days < 1 or step_days < 1:
        raise Invalid("horizon and step must be at least one day")
    card = loaded.scorecard
    days = _days(
        session=session, source=source, horizon_days=horizon_days, step_days=step_days, today=today
    )
    frame = _observe(
        session=session, source=source, card=card, days=days, horizon_days=horizon_days
    )
    total = np.concatenate(frame.total)
    label = np.array(frame.label)
    scored = ~np.isnan(total)
    notes = []
    if (~scored).any():
        notes.append(
            f"{int((~scored).sum()):,} observations had no measure at all and are left out"
        )
    colour = np.array([card.colours.of(None if np.isnan(t) else float(t)) for t in total])
    colours = [
        ColourRow(c, int((colour == c).sum()), int(label[colour == c].sum())) for c in COLOURS
    ]
    red = colour == "red"
    red_precision = float(label[red].mean()) if red.any() else None
    calibration = _calibration(total=total, label=label, scored=scored)
    segments = _by_tier(tiers=frame.tier, total=total, label=label, scored=scored)
    suggestion = suggest(
        card=card,
        raw=frame.raw,
        days=np.array(frame.day),
        label=label,
        scores=np.vstack(frame.scores),
        weights=np.vstack(frame.weights),
        total=total,
    )
    return Report(
        scorecard=card.name,
        horizon_days=horizon_days,
        days=days,
        observations=int(scored.sum()),
        churned=int(label[scored].sum()),
        auc=auc(label[scored], -total[scored]),
        red_precision=red_precision,
        colours=colours,
        calibration=calibration,
        segments=segments,
        suggestion=suggestion,
        notes=notes,
    )


def _days(
    *, session: Session, source: EventSource, horizon_days: int, step_days: int, today: date | None
) -> list[date]:
    """The :func:`backtest_days` of the data; Invalid when there are none."""
    with source.open() as events:
        first_event = queries.event_totals(events).first
    days = backtest_days(
        session=session,
        horizon_days=horizon_days,
        step_days=step_days,
        first_event=first_event.date() if first_event else None,
        today=today,
    )
    if not days:
        raise Invalid(
            f"not enough history to back-test with a {horizon_days}-day horizon: accounts and "
            "usage events must reach back at least 60 days plus the horizon"
        )
    return days


def _observe(
    *,
    session: Session,
    source: EventSource,
    card: Scorecard,
    days: list[date],
    horizon_days: int,
) -> _Frame:
    """The scorecard recomputed on each of ``days`` for the accounts alive then, each
    labelled by whether it churned within the horizon after the day."""
    info = {
        a: (t or "none", c)
        for a, t, c in session.execute(select(Account.id, Account.tier, Account.churned_at))
    }
    frame = _Frame()
    with source.open() as events:
        for day in days:
            accounts = measures.population(session=session, as_of=day)
            if not len(accounts):
                continue
            raw = measures.compute(
                session=session, measures=card.measures, events=events, accounts=accounts
            )
            result = scoring.rollup(card, raw)
            start = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
            stop = start + timedelta(days=horizon_days)
            for account_id in accounts.ids:
                tier, churned_at = info[account_id]
                churned = churned_at is not None and start <= _aware(churned_at) < stop
                frame.day.append(day)
                frame.tier.append(tier)
                frame.label.append(int(churned))
            frame.total.append(result.total)
            frame.scores.append(result.scores)
            frame.weights.append(result.weights)
            frame.raw.append(raw)
    return frame


def _calibration(
    *, total: FloatArray, label: npt.NDArray[np.int_], scored: npt.NDArray[np.bool_]
) -> list[Calibration]:
    """Observations and churners by score band of ten points."""
    calibration = []
    for low in range(0, 100, 10):
        inside = scored & (total >= low) & ((total < low + 10) | (low == 90))
        calibration.append(
            Calibration(
                band=f"{low}-{low + 10}",
                accounts=int(inside.sum()),
                churned=int(label[inside].sum()),
                mean_score=float(total[inside].mean()) if inside.any() else None,
            )
        )
    return calibration


def _by_tier(
    *,
    tiers: list[str],
    total: FloatArray,
    label: npt.NDArray[np.int_],
    scored: npt.NDArray[np.bool_],
) -> list[SegmentRow]:
    """Observations, churners and ROC-AUC of each tier."""
    tier = np.array(tiers)
    return [
        SegmentRow(
            segment=t,
            observations=int((tier == t).sum()),
            churned=int(label[tier == t].sum()),
            auc=auc(label[(tier == t) & scored], -total[(tier == t) & scored]),
        )
        for t in sorted(set(tiers))
    ]


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_dict(report: Report) -> dict[str, object]:
    """The report as JSON-ready data."""
    sug = report.suggestion
    return {
        "scorecard": report.scorecard,
        "horizon_days": report.horizon_days,
        "days": [d.isoformat() for d in report.days],
        "observations": report.observations,
        "churned": report.churned,
        "base_rate": report.base_rate,
        "roc_auc": report.auc,
        "red_precision": report.red_precision,
        "colours": [
            {
                "colour": c.colour,
                "observations": c.accounts,
                "churned": c.churned,
                "churn_rate": c.rate,
                "lift": report.lift(c),
            }
            for c in report.colours
        ],
        "calibration": [
            {
                "band": b.band,
                "observations": b.accounts,
                "churned": b.churned,
                "mean_score": b.mean_score,
            }
            for b in report.calibration
        ],
        "segments": [
            {
                "tier": s.segment,
                "observations": s.observations,
                "churned": s.churned,
                "roc_auc": s.auc,
            }
            for s in report.segments
        ],
        "suggestion": None
        if sug is None
        else {
            "train_days": [d.isoformat() for d in sug.train_days],
            "test_days": [d.isoformat() for d in sug.test_days],
            "current_weights": sug.current,
            "suggested_weights": sug.suggested,
            "roc_auc_current_test": sug.auc_current_test,
            "roc_auc_suggested_test": sug.auc_suggested_test,
            "better": sug.better,
            "moved": sug.moved,
            "fitted_weights": sug.fitted,
            "roc_auc_fitted_test": sug.auc_fitted_test,
        },
        "notes": report.notes,
    }
