"""What the Data sources page shows, gathered from each domain's own store."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.analytics import queries
from boomerang.analytics.source import EventSource, EventSourceError
from boomerang.imports.models import ImportRun
from boomerang.ingest import service as ingest_service
from boomerang.ingest.inbox import Inbox, MinuteStats, RejectionRecord
from boomerang.ingest.models import WriteKey
from boomerang.webhooks import outbound
from boomerang.webhooks import service as webhooks_service
from boomerang.webhooks.models import OutboundEndpoint, WebhookDelivery, WebhookSource


@dataclass(frozen=True)
class Ingestion:
    pending: int
    minutes: list[MinuteStats]
    rejections: list[RejectionRecord]
    quarantined: int = 0
    quarantine: list[RejectionRecord] = field(default_factory=list)

    @property
    def last_hour(self) -> tuple[int, int, int]:
        return (
            sum(m.accepted for m in self.minutes),
            sum(m.duplicates for m in self.minutes),
            sum(m.rejected for m in self.minutes),
        )

    @property
    def peak(self) -> int:
        return max((m.accepted + m.duplicates + m.rejected for m in self.minutes), default=0)


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str
    elapsed_ms: float


@dataclass(frozen=True)
class Overview:
    keys: list[WriteKey]
    ingestion: Ingestion
    imports: list[ImportRun]
    webhooks: list[WebhookSource]
    deliveries: list[WebhookDelivery]
    event_source: str
    key_names: dict[str, str] = field(default_factory=dict)
    outbound: list[OutboundEndpoint] = field(default_factory=list)


def overview(*, session: Session, inbox: Inbox, source: EventSource) -> Overview:
    """Everything the page shows, newest first."""
    keys = ingest_service.list_keys(session=session)
    since = datetime.now(UTC) - timedelta(hours=1)
    ingestion = Ingestion(
        pending=inbox.pending,
        minutes=inbox.minutes(since=since),
        rejections=inbox.recent_rejections(limit=50),
        quarantined=inbox.quarantined(),
        quarantine=inbox.recent_quarantine(limit=10),
    )
    imports = list(
        session.scalars(select(ImportRun).order_by(ImportRun.started_at.desc()).limit(20))
    )
    webhooks = list(session.scalars(select(WebhookSource).order_by(WebhookSource.name)))
    return Overview(
        keys=keys,
        ingestion=ingestion,
        imports=imports,
        webhooks=webhooks,
        deliveries=webhooks_service.recent_deliveries(session=session, limit=20),
        event_source=source.describe(),
        key_names={k.id: k.name for k in keys},
        outbound=outbound.list_endpoints(session=session),
    )


def test_event_source(*, source: EventSource) -> ConnectionCheck:
    """Open the event source and count what it holds, as the analytics layer would."""
    start = time.perf_counter()
    try:
        with source.open() as events:
            totals = queries.event_totals(events)
    except EventSourceError as exc:  # a broken source is what this check exists to report
        return ConnectionCheck(False, exc.message, _ms(start))
    latest = f", latest {totals.last:%Y-%m-%d %H:%M} UTC" if totals.last else ""
    return ConnectionCheck(
        True,
        f"{totals.events:,} events of {totals.accounts:,} accounts readable{latest}",
        _ms(start),
    )


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000
