"""Daily value work: success plan KPIs bound to data are refreshed, then the value digests
due are queued (both safe to run twice: one KPI value per day, one digest per contact and
period).

The job keeps its kind, ``value.daily``, and lives here because it uses both domains:
success plans read value metrics, so success sits above value and value imports nothing of
success.
"""

from __future__ import annotations

from typing import Any

from boomerang.jobs.registry import Context, Daily, handler, periodic
from boomerang.success.kpis import refresh_kpis
from boomerang.value import digests


@handler("value.daily")
def daily(context: Context, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Refresh bound KPIs as of today, then queue the digests of the last complete week and
    month that are not queued yet."""
    today = context.now.date()
    with context.transaction() as session:
        refreshed = refresh_kpis(session=session, source=context.source, as_of=today)
    with context.transaction() as session:
        run = digests.send_due(
            session=session,
            source=context.source,
            settings=context.settings,
            today=today,
            now=context.now,
        )
    return {
        "kpis_refreshed": refreshed,
        "digests_queued": run.queued,
        "digests_already_sent": run.already_sent,
        "digests_skipped": run.skipped,
        "periods": run.period_starts,
    }


periodic("value.daily", every=Daily(hour=lambda settings: settings.digest_hour))
