"""Back-testing a scorecard: would its scores have told churners from the others?

The scorecard is recomputed as of past days (every ``step_days``, as far back as the data
allows while leaving a full horizon after each day), each account's outcome is read from
what happened next (churned within ``horizon_days``), and the scores are judged: ROC-AUC of
"lower score, more churn", precision of red, churn rate and lift by colour, a calibration
table by score band, the same per tier. A weight suggestion is fitted on the earlier days
and judged on the later ones (a time split: no peeking at the future); it is reported next
to the current weights and never applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from sklearn.metrics import roc_auc_score
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.analytics import queries
from boomerang.analytics.source import EventSource
from boomerang.errors import Invalid
from boomerang.health import measures, scoring
from boomerang.health.scorecard import LoadedScorecard, Scorecard

FloatArray = npt.NDArray[np.float64]
COLOURS = ("red", "yellow", "green")
MIN_GAIN = 0.01  # ROC-AUC a move from the current weights must win on validation days


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
class Suggestion:
    """Weights fitted on the earlier days, judged on the later ones."""

    train_days: list[date]
    test_days: list[date]
    current: dict[str, float]  # mean effective weight of each measure
    suggested: dict[str, float]
    auc_current_test: float | None
    auc_suggested_test: float | None
    moved: float  # share of the way from the current weights to the fit, 0-1
    fitted: dict[str, float]  # the fit on all training days, before validation
    auc_fitted_test: float | None

    @property
    def better(self) -> bool:
        return (
            self.auc_current_test is not None
            and self.auc_suggested_test is not None
            and self.auc_suggested_test > self.auc_current_test
        )


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
            raw = measures.compute(card.measures, session=session, events=events, accounts=accounts)
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

    total = np.concatenate(frame.total)
    label = np.array(frame.label)
    scored = ~np.isnan(total)
    notes = []
    if (~scored).any():
        notes.append(
            f"{int((~scored).sum()):,} observations had no measure at all and are left out"
        )
    auc = _auc(label[scored], -total[scored])
    colour = np.array([card.colours.of(None if np.isnan(t) else float(t)) for t in total])
    colours = [
        ColourRow(c, int((colour == c).sum()), int(label[colour == c].sum())) for c in COLOURS
    ]
    red = colour == "red"
    red_precision = float(label[red].mean()) if red.any() else None
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
    tiers = np.array(frame.tier)
    segments = [
        SegmentRow(
            segment=t,
            observations=int((tiers == t).sum()),
            churned=int(label[tiers == t].sum()),
            auc=_auc(label[(tiers == t) & scored], -total[(tiers == t) & scored]),
        )
        for t in sorted(set(frame.tier))
    ]
    suggestion = _suggest(
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
        auc=auc,
        red_precision=red_precision,
        colours=colours,
        calibration=calibration,
        segments=segments,
        suggestion=suggestion,
        notes=notes,
    )


def _suggest(
    *,
    card: Scorecard,
    raw: list[dict[str, FloatArray]],
    days: npt.NDArray[np.object_],
    label: npt.NDArray[np.int_],
    scores: FloatArray,
    weights: FloatArray,
    total: FloatArray,
) -> Suggestion | None:
    """Measure weights that would have told churners apart better, judged out of time.

    Non-negative weights are fitted (logistic loss: a lower weighted score, more churn) on
    the earlier two thirds of the days. How far to move from the current weights toward
    the fit (0, 25, 50, 75 or 100 %) is chosen on the last third of those training days
    with a fit on the rest; a move must win at least :data:`MIN_GAIN` of ROC-AUC there, so
    that a fit that does not hold up leaves the weights as they are. Every candidate is
    scored exactly as the scorecard scores (categories, skipped measures); the result is
    judged on the later third of all days, never seen before.
    """
    unique = sorted(set(days.tolist()))
    if len(unique) < 6:
        return None
    cut = unique[(2 * len(unique)) // 3]
    train = days < cut
    test = ~train
    train_days = [d for d in unique if d < cut]
    inner_cut = train_days[(2 * len(train_days)) // 3]
    inner_train = days < inner_cut
    inner_val = train & ~inner_train
    if min(label[inner_train].sum(), label[inner_val].sum(), label[test].sum()) < 1:
        return None
    # For the fit only: a skipped measure scores as the account's total.
    filled = np.where(np.isnan(scores), np.nan_to_num(total)[:, None], scores) / 100.0
    current = np.nanmean(np.where(weights > 0, weights, np.nan), axis=0)
    current = np.nan_to_num(current) / np.nansum(current)

    def totals_with(w: FloatArray) -> FloatArray:
        variant = reweighted(card, w)
        return np.concatenate([scoring.rollup(variant, r).total for r in raw])

    def auc_of(w: FloatArray | None, mask: npt.NDArray[np.bool_]) -> float | None:
        values = total if w is None else totals_with(w)
        return _auc(label[mask], -np.nan_to_num(values[mask]))

    inner_fit = _fit(filled[inner_train], label[inner_train])
    share = 0.0
    if inner_fit is not None:
        best = auc_of(None, inner_val) or 0.0
        for step in (0.25, 0.5, 0.75, 1.0):
            auc = auc_of((1 - step) * current + step * inner_fit, inner_val) or 0.0
            if auc >= best + MIN_GAIN:
                best, share = auc, step
    full_fit = _fit(filled[train], label[train])
    suggested = current if full_fit is None else (1 - share) * current + share * full_fit
    auc_current = auc_of(None, test)
    return Suggestion(
        train_days=train_days,
        test_days=[d for d in unique if d >= cut],
        current={m.key: round(float(v), 4) for m, v in zip(card.measures, current, strict=True)},
        suggested={
            m.key: round(float(v), 4) for m, v in zip(card.measures, suggested, strict=True)
        },
        auc_current_test=auc_current,
        auc_suggested_test=auc_current if share == 0 else auc_of(suggested, test),
        moved=share,
        fitted={}
        if full_fit is None
        else {m.key: round(float(v), 4) for m, v in zip(card.measures, full_fit, strict=True)},
        auc_fitted_test=None if full_fit is None else auc_of(full_fit, test),
    )


def reweighted(card: Scorecard, effective: FloatArray) -> Scorecard:
    """``card`` with each measure's effective weight set to ``effective`` (same order):
    a category weighs the sum of its measures'."""
    floor = 1e-6  # weights must stay positive
    it = iter(np.maximum(effective, floor).tolist())
    categories = []
    for category in card.categories:
        measures_ = [m.model_copy(update={"weight": next(it)}) for m in category.measures]
        categories.append(
            category.model_copy(
                update={"measures": measures_, "weight": sum(m.weight for m in measures_)}
            )
        )
    return card.model_copy(update={"categories": categories})


def _fit(x: FloatArray, labels: npt.NDArray[np.int_]) -> FloatArray | None:
    """Non-negative weights (summing to 1) of a lightly regularised logistic fit of churn
    on ``1 - score``; None when nothing fits."""
    y = labels.astype(np.float64)
    m = x.shape[1]
    if y.sum() == 0 or y.sum() == len(y):
        return None

    def loss(params: FloatArray) -> tuple[float, FloatArray]:
        w, b = params[:m], params[m]
        z = np.clip(b - x @ w, -30, 30)
        p = 1.0 / (1.0 + np.exp(-z))
        eps = 1e-9
        value = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)) + 1e-3 * w @ w
        grad_z = p - y
        grad_w = -(x.T @ grad_z) / len(y) + 2e-3 * w
        return float(value), np.append(grad_w, np.mean(grad_z))

    start = np.append(np.full(m, 1.0), 0.0)
    fitted = minimize(
        loss, start, jac=True, method="L-BFGS-B", bounds=[(0, None)] * m + [(None, None)]
    )
    w = np.asarray(fitted.x[:m], dtype=np.float64)
    return w / w.sum() if w.sum() > 0 else None


def _auc(label: npt.NDArray[np.int_], risk: FloatArray) -> float | None:
    if len(set(label.tolist())) < 2:
        return None
    return round(float(roc_auc_score(label, risk)), 4)


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
