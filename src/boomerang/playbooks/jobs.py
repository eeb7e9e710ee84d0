"""Playbooks as background work: evaluated every hour (firing, steps, waits that end)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from boomerang.jobs.registry import Context, handler, periodic
from boomerang.playbooks import engine

EVERY = timedelta(hours=1)


@handler("playbooks.evaluate")
def evaluate(context: Context, payload: dict[str, Any]) -> dict[str, Any] | None:
    with context.transaction() as session:
        engine.sync_files(session=session, directory=context.settings.playbooks_dir)
        result = engine.evaluate(
            session=session, source=context.source, now=context.now, settings=context.settings
        )
    return {
        "paused": result.paused,
        "fired": result.counts(),
        "resumed": result.resumed,
        "errors": result.errors,
    }


periodic("playbooks.evaluate", every=EVERY)
