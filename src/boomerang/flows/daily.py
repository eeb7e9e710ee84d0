"""The daily job: compute health with vectors, evaluate segments, then the journey
(stages and milestones), then churn risk and lifetime values.

It runs as the ``health.daily`` job (queued once a day from ``BOOMERANG_HEALTH_HOUR`` by the
scheduler, see ``boomerang.jobs``); :class:`DailyHealth` runs the same :func:`run_daily` in
a thread of its own for embedders that want no queue.

Safe to run twice (a day's computation replaces that day) and from several processes (the
snapshot's unique key makes a concurrent second run fail and retry, and then find the day
done).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from boomerang.analytics.source import EventSource
from boomerang.churn import service as churn_service
from boomerang.clv import valuation
from boomerang.errors import Invalid
from boomerang.health import editor, service, vectors
from boomerang.health.models import HealthScore
from boomerang.jobs.registry import Context, Daily, handler, periodic
from boomerang.journey import service as journey_service
from boomerang.segments import service as segments_service
from boomerang.uow import Transaction

log = logging.getLogger(__name__)
RETRAIN_DAYS = 30  # the churn model is refitted monthly on the grown history


def day_done(*, transaction: Transaction, day: date) -> bool:
    """Whether the day's default-scorecard snapshot exists."""
    with transaction() as session:
        done = session.scalar(
            select(HealthScore.id)
            .where(HealthScore.scorecard == "default", HealthScore.as_of == day)
            .limit(1)
        )
    return done is not None


def run_daily(
    *,
    transaction: Transaction,
    source: EventSource,
    now: datetime,
    scorecards_dir: Path | None = None,
    currency: str = "USD",
    churn_horizon_days: int = 90,
    discount_rate: float = 0.10,
) -> service.SetResult:
    """Compute the day's health, segments and journey in one transaction, then churn risk
    and values (whose failure is logged, not raised); raises when the first part fails."""
    today = now.date()
    with transaction() as session:
        result = service.compute_set(
            session=session,
            source=source,
            cards=editor.cards_in_force(session=session, directory=scorecards_dir),
            as_of=today,
            vector_rules=vectors.load(session=session),
        )
        segments_service.evaluate(session=session, now=now)
        journey_service.evaluate(
            session=session, journey=journey_service.load(session=session), now=now
        )
    log.info("health: scored %d accounts for %s (%s)", result.accounts, today, result.colours)
    _churn(
        transaction=transaction,
        source=source,
        today=today,
        scorecards_dir=scorecards_dir,
        currency=currency,
        churn_horizon_days=churn_horizon_days,
        discount_rate=discount_rate,
    )
    return result


def _churn(
    *,
    transaction: Transaction,
    source: EventSource,
    today: date,
    scorecards_dir: Path | None,
    currency: str,
    churn_horizon_days: int,
    discount_rate: float,
) -> None:
    """Retrain the churn model when it is missing or older than RETRAIN_DAYS, then score
    every account; a history too short to train on is logged, not raised."""
    try:
        with transaction() as session:
            model = churn_service.latest_model(session=session)
            stale = model is None or (today - model.trained_at.date()).days >= RETRAIN_DAYS
            if stale:
                model = churn_service.train(
                    session=session,
                    source=source,
                    currency=currency,
                    horizon_days=churn_horizon_days,
                    today=today,
                    scorecards_dir=scorecards_dir,
                ).model
            scored = churn_service.score(
                session=session,
                source=source,
                currency=currency,
                model_row=model,
                today=today,
                scorecards_dir=scorecards_dir,
            )
            valued = valuation.value_accounts(
                session=session,
                currency=currency,
                discount_rate=discount_rate,
                today=today,
            )
        log.info(
            "churn: model v%d scored %d accounts; %d accounts valued",
            scored.model_version,
            scored.accounts,
            valued.accounts,
        )
    except Invalid as exc:
        log.warning("churn: %s", exc.message)
    except Exception:
        log.exception("churn: scoring failed; will run again tomorrow")


@handler("health.daily")
def daily_job(context: Context, payload: dict[str, Any]) -> dict[str, Any]:
    """The ``health.daily`` job: :func:`run_daily` unless the day is done already."""
    day = context.now.date()
    if day_done(transaction=context.transaction, day=day):
        return {"as_of": day.isoformat(), "skipped": "the day's scores exist"}
    settings = context.settings
    result = run_daily(
        transaction=context.transaction,
        source=context.source,
        now=context.now,
        scorecards_dir=settings.scorecards_dir,
        currency=settings.reporting_currency,
        churn_horizon_days=settings.churn_horizon_days,
        discount_rate=settings.clv_discount_rate,
    )
    return {
        "as_of": result.as_of.isoformat(),
        "accounts": result.accounts,
        "colours": result.colours,
        "vectors": result.vectors,
    }


periodic("health.daily", every=Daily(hour=lambda settings: settings.health_hour))


class DailyHealth:
    def __init__(
        self,
        *,
        transaction: Transaction,
        source: EventSource,
        hour: int,
        scorecards_dir: Path | None = None,
        currency: str = "USD",
        churn_horizon_days: int = 90,
        discount_rate: float = 0.10,
        check_every: float = 300.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.transaction = transaction
        self.source = source
        self.hour = hour
        self.scorecards_dir = scorecards_dir
        self.currency = currency
        self.churn_horizon_days = churn_horizon_days
        self.discount_rate = discount_rate
        self.check_every = check_every
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="daily-health", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while True:
            self.run_once()
            if self._stop.wait(self.check_every):
                return

    def due(self) -> bool:
        """Past the hour, and no default-scorecard snapshot for today yet."""
        now = self.clock()
        if now.hour < self.hour:
            return False
        return not day_done(transaction=self.transaction, day=now.date())

    def run_once(self) -> service.SetResult | None:
        """Compute today's health and evaluate segments when due; never raises."""
        try:
            if not self.due():
                return None
            return run_daily(
                transaction=self.transaction,
                source=self.source,
                now=self.clock(),
                scorecards_dir=self.scorecards_dir,
                currency=self.currency,
                churn_horizon_days=self.churn_horizon_days,
                discount_rate=self.discount_rate,
            )
        except Exception:  # the next check tries again
            log.exception("health: the daily computation failed; will retry")
            return None
