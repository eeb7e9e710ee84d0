"""Events and value metrics for value tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from boomerang.events.store import EventStore
from boomerang.value import service
from boomerang.value.models import ValueMetric
from boomerang.value.schemas import ValueMetricIn


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def write_events(
    store: EventStore, rows: list[tuple[str, str, str, dict[str, Any] | None]]
) -> None:
    """(account external id, event, ISO time, properties) rows into the store."""
    store.append(
        pa.table(
            {
                "message_id": [f"m{i}-{r[2]}-{r[0]}" for i, r in enumerate(rows)],
                "type": ["track"] * len(rows),
                "event": [r[1] for r in rows],
                "user_id": ["u1"] * len(rows),
                "group_id": [r[0] for r in rows],
                "timestamp": [at(r[2]) for r in rows],
                "received_at": [at(r[2]) for r in rows],
                "properties": [json.dumps(r[3]) if r[3] is not None else None for r in rows],
            }
        )
    )


def standard_metrics(session: Session) -> list[ValueMetric]:
    """Hours saved (0.5 per automated workflow) and money saved (sum of ``value``)."""
    return [
        service.create(
            session=session,
            data=ValueMetricIn(
                key="hours_saved",
                name="Hours saved",
                unit="hours",
                kind="count",  # type: ignore[arg-type]
                event="Workflow Automated",
                factor=0.5,
            ),
        ),
        service.create(
            session=session,
            data=ValueMetricIn(
                key="money_saved",
                name="Money saved",
                unit="$",
                kind="sum",  # type: ignore[arg-type]
                event="Money Saved",
                property="value",
            ),
        ),
    ]
