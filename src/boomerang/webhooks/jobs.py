"""Outbound webhook deliveries as jobs: retried with backoff, dead (and visible on the Jobs
page) after their attempts."""

from __future__ import annotations

from typing import Any

from boomerang.jobs.registry import Context, handler
from boomerang.webhooks import outbound
from boomerang.webhooks.models import OutboundEndpoint


@handler("webhook.deliver")
def deliver(context: Context, payload: dict[str, Any]) -> dict[str, Any] | None:
    """POST one event to one endpoint; a failure raises so that the job is retried."""
    event = payload["event"]
    with context.transaction() as session:
        endpoint = session.get(OutboundEndpoint, payload["endpoint_id"])
        if endpoint is None:
            return {"skipped": "the endpoint was removed"}
        if not endpoint.active:
            return {"skipped": f"endpoint {endpoint.name} is paused"}
        endpoint_id, name, url, secret = endpoint.id, endpoint.name, endpoint.url, endpoint.secret
    try:
        sent = outbound.post(url, secret, event, context.now, allow=context.settings.outbound_allow)
    except outbound.DeliveryFailed as exc:
        with context.transaction() as session:
            row = session.get(OutboundEndpoint, endpoint_id)
            if row is not None:
                row.last_failure_at, row.last_error = context.now, str(exc)[:2000]
                row.failures += 1
        raise
    with context.transaction() as session:
        row = session.get(OutboundEndpoint, endpoint_id)
        if row is not None:
            row.last_success_at, row.failures = context.now, 0
    return {"status": sent.status, "endpoint": name, "event": event.get("id")}
