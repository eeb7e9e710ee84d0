"""Playbooks as background work: evaluated every hour (firing, steps, waits that end)."""

from __future__ import annotations

import json
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


@handler("chat.post")
def chat_post(context: Context, payload: dict[str, Any]) -> dict[str, Any] | None:
    """POST ``{"text": ...}`` to a Slack-compatible incoming webhook, under the outbound
    policy (``boomerang.egress``); a refusal, an error or a non-2xx answer raises, so the job
    is retried with backoff (and ends dead, visible on the Jobs page, after its attempts)."""
    from boomerang import egress

    body = json.dumps({"text": payload["text"]}).encode()
    status = egress.post(
        str(payload["url"]),
        body,
        {"Content-Type": "application/json"},
        allow=context.settings.outbound_allow,
    )
    return {"status": status}
