"""The daily job in the server: compute health with vectors, evaluate segments, then the
journey (stages and milestones).

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

from sqlalchemy import select

from boomerang.analytics.source import EventSource
from boomerang.churn import service as churn_service
from boomerang.clv import valuation
from boomerang.errors import Invalid
from boomerang.health import editor, service, vectors
from boomerang.health.models import HealthScore
from boomerang.ingest.flush import Transaction
from boomerang.journey import service as journey_service
from boomerang.segments import service as segments_service

log = logging.getLogger(__name__)
RETRAIN_DAYS = 30  # the churn model is refitted monthly on the grown history


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
        with self.transaction() as session:
            done = session.scalar(
                select(HealthScore.id)
                .where(HealthScore.scorecard == "default", HealthScore.as_of == now.date())
                .limit(1)
            )
        return done is None

    def _churn(self, today: date) -> None:
        """Retrain the churn model when it is missing or older than RETRAIN_DAYS, then score
        every account; a history too short to train on is logged, not raised."""
        try:
            with self.transaction() as session:
                model = churn_service.latest_model(session=session)
                stale = model is None or (today - model.trained_at.date()).days >= RETRAIN_DAYS
                if stale:
                    model = churn_service.train(
                        session=session,
                        source=self.source,
                        currency=self.currency,
                        horizon_days=self.churn_horizon_days,
                        today=today,
                        scorecards_dir=self.scorecards_dir,
                    ).model
                scored = churn_service.score(
                    session=session,
                    source=self.source,
                    currency=self.currency,
                    model_row=model,
                    today=today,
                    scorecards_dir=self.scorecards_dir,
                )
                valued = valuation.value_accounts(
                    session=session,
                    currency=self.currency,
                    discount_rate=self.discount_rate,
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

    def run_once(self) -> service.SetResult | None:
        """Compute today's health and evaluate segments when due; never raises."""
        try:
            if not self.due():
                return None
            today = self.clock().date()
            with self.transaction() as session:
                result = service.compute_set(
                    session=session,
                    source=self.source,
                    cards=editor.cards_in_force(session=session, directory=self.scorecards_dir),
                    as_of=today,
                    vector_rules=vectors.load(session=session),
                )
                segments_service.evaluate(session=session, now=self.clock())
                journey_service.evaluate(
                    session=session, journey=journey_service.load(session=session), now=self.clock()
                )
            log.info(
                "health: scored %d accounts for %s (%s)", result.accounts, today, result.colours
            )
            self._churn(today)
            return result
        except Exception:  # the next check tries again
            log.exception("health: the daily computation failed; will retry")
            return None
