"""Playbooks as background work: evaluated every hour (firing, steps, waits that end)."""

from __future__ import annotations

import json
import urllib.request
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
    """POST ``{"text": ...}`` to a Slack-compatible incoming webhook; an error or a non-2xx
    answer raises, so the job is retried with backoff (and ends dead, visible on the Jobs
    page, after its attempts)."""
    url = str(payload["url"])
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"chat: {url!r} is not an http(s) URL")
    body = json.dumps({"text": payload["text"]}).encode()
    request = urllib.request.Request(  # noqa: S310 (checked above: http or https only)
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return {"status": answer.status}
