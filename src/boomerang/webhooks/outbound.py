"""Outbound webhooks: other systems subscribe to our events and receive them signed.

An endpoint has a URL, a secret and event type patterns (``task.*``, ``escalation.opened``,
``*``). :func:`emit` queues one ``webhook.deliver`` job per matching active endpoint in the
caller's transaction, so an event is sent only if what caused it is committed, and the
jobs (retried with backoff, dead after their attempts, on the Jobs page) survive restarts.

Each POST carries the JSON envelope ``{"id", "type", "created_at", "data"}`` and the header
``Boomerang-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>`` made with the
endpoint's secret: the same scheme as our inbound webhooks, so the receiver checks it as
:func:`boomerang.webhooks.service.verify` does (and rejects old timestamps). The event id
is repeated on a retry: receivers de-duplicate on ``Boomerang-Event-Id``. The URL must pass
the outbound policy (``boomerang.egress``: public addresses only, no redirects) when it is
saved and at each send.
"""

from __future__ import annotations

import fnmatch
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang import __version__, egress
from boomerang.db import new_id
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.webhooks.models import OutboundEndpoint
from boomerang.webhooks.service import NAME_PATTERN, SIGNATURE_HEADER, sign

EVENT_TYPES: dict[str, str] = {
    "task.created": "a task was created (by a person, a playbook or an escalation)",
    "task.completed": "a task was completed with an outcome",
    "escalation.opened": "an escalation was opened",
    "escalation.moved_up": "an escalation ran out of time and moved up a level",
    "escalation.resolved": "an escalation was resolved",
    "playbook.fired": "a playbook fired for an account (not for its control group)",
    "ping": "a test event sent by `boomerang hooks out test` or the API",
}
"""The events Boomerang emits; a playbook's ``webhook`` step emits its own type as well."""

PATTERN = re.compile(r"^[a-z*][a-z0-9_.*-]{0,99}$")
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
TIMEOUT_SECONDS = 10
_CACHE_KEY = "boomerang.outbound_endpoints"


def _check(
    name: str, url: str, events: list[str], *, new_url: bool = True
) -> tuple[str, str, list[str]]:
    """Name, URL and patterns cleaned; Invalid naming the one at fault. A new URL must be one
    the outbound policy accepts (``boomerang.egress``; it is checked again on each send)."""
    name = name.strip().lower()
    if not re.fullmatch(NAME_PATTERN, name):
        raise Invalid("name: 1-64 lower-case letters, digits, '-' or '_'")
    url = url.strip()
    if len(url) > 2000 or not URL.match(url):
        raise Invalid(f"url: {url[:100]!r} is not an http(s) URL")
    if new_url:
        egress.validate(url, field="url")
    cleaned = [e.strip() for e in events if e.strip()]
    if not cleaned:
        raise Invalid("events: give at least one event type or pattern (e.g. 'task.*' or '*')")
    for pattern in cleaned:
        if not PATTERN.match(pattern):
            raise Invalid(
                f"events: {pattern!r} is not an event type or pattern "
                "(lower-case letters, digits, '.', '_', '-' and '*')"
            )
    return name, url, sorted(set(cleaned))


def create(
    *, session: Session, name: str, url: str, events: list[str]
) -> tuple[OutboundEndpoint, str]:
    """A new endpoint; returns it and its signing secret (shown once)."""
    name, url, patterns = _check(name, url, events)
    if session.scalar(select(OutboundEndpoint).where(OutboundEndpoint.name == name)):
        raise Conflict(f"an outbound endpoint named {name!r} exists already")
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = OutboundEndpoint(
        name=name, url=url, secret=secret, events=patterns, active=True, failures=0
    )
    session.add(endpoint)
    session.flush()
    session.info.pop(_CACHE_KEY, None)
    return endpoint, secret


def list_endpoints(*, session: Session) -> list[OutboundEndpoint]:
    return list(session.scalars(select(OutboundEndpoint).order_by(OutboundEndpoint.name)))


def get(*, session: Session, name: str) -> OutboundEndpoint:
    found = session.scalar(select(OutboundEndpoint).where(OutboundEndpoint.name == name))
    if found is None:
        raise NotFound(f"no outbound endpoint {name!r}")
    return found


def update(
    *,
    session: Session,
    name: str,
    url: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
) -> OutboundEndpoint:
    endpoint = get(session=session, name=name)
    _, new_url, patterns = _check(
        endpoint.name, url or endpoint.url, events or endpoint.events, new_url=bool(url)
    )
    endpoint.url, endpoint.events = new_url, patterns
    if active is not None:
        endpoint.active = active
        if active:
            endpoint.failures = 0
    session.flush()
    session.info.pop(_CACHE_KEY, None)
    return endpoint


def rotate(*, session: Session, name: str) -> str:
    """A new secret, in force at once (jobs still queued are signed with it)."""
    endpoint = get(session=session, name=name)
    endpoint.secret = "whsec_" + secrets.token_urlsafe(32)
    session.flush()
    return endpoint.secret


def remove(*, session: Session, name: str) -> None:
    session.delete(get(session=session, name=name))
    session.flush()
    session.info.pop(_CACHE_KEY, None)


def matches(patterns: list[str], event_type: str) -> bool:
    return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


def _active(*, session: Session) -> list[tuple[str, list[str]]]:
    """(id, patterns) of the active endpoints, read once per session (emit is called for
    every task a playbook evaluation creates)."""
    cached = session.info.get(_CACHE_KEY)
    if cached is None:
        rows = session.execute(
            select(OutboundEndpoint.id, OutboundEndpoint.events).where(OutboundEndpoint.active)
        ).all()
        cached = [(r[0], list(r[1] or [])) for r in rows]
        session.info[_CACHE_KEY] = cached
    return list(cached)


def emit(
    *,
    session: Session,
    event_type: str,
    data: dict[str, Any],
    endpoint: str | None = None,
    now: datetime | None = None,
) -> int:
    """Queue ``event_type`` with ``data`` (JSON-able) for every active endpoint subscribed
    to it (only ``endpoint`` when named: it must exist and be active); returns how many."""
    from boomerang.jobs import service as jobs_service

    targets = _active(session=session)
    if endpoint is not None:
        named = get(session=session, name=endpoint)
        if not named.active:
            raise Invalid(f"outbound endpoint {endpoint!r} is paused")
        targets = [(named.id, ["*"])]
    chosen = [eid for eid, patterns in targets if matches(patterns, event_type)]
    if not chosen:
        return 0
    event = {
        "id": new_id("evt"),
        "type": event_type,
        "created_at": (now or datetime.now(UTC)).isoformat(),
        "data": orjson.loads(orjson.dumps(data, default=str)),
    }
    for endpoint_id in chosen:
        jobs_service.enqueue(
            session=session,
            kind="webhook.deliver",
            payload={"endpoint_id": endpoint_id, "event": event},
            unique_key=f"webhook:{endpoint_id}:{event['id']}",
            max_attempts=8,
        )
    return len(chosen)


@dataclass(frozen=True)
class Sent:
    status: int
    url: str


class DeliveryFailed(Exception):
    """The receiver did not answer 2xx (the job is retried with backoff)."""


def post(
    url: str,
    secret: str,
    event: dict[str, Any],
    now: datetime,
    *,
    allow: str | None = None,
    resolve: egress.Resolver | None = None,
) -> Sent:
    """POST ``event`` to ``url``, signed with ``secret``, under the outbound policy
    (``boomerang.egress``, ``allow`` its allow list); DeliveryFailed unless it answers 2xx."""
    body = orjson.dumps(event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"Boomerang/{__version__}",
        SIGNATURE_HEADER: sign(secret, body, int(now.timestamp())),
        "Boomerang-Event-Id": str(event.get("id", "")),
        "Boomerang-Event-Type": str(event.get("type", "")),
    }
    try:
        status = egress.post(
            url, body, headers, allow=allow, resolve=resolve, timeout=TIMEOUT_SECONDS
        )
    except egress.Refused as exc:
        raise DeliveryFailed(f"{url}: refused, {exc.reason}") from None
    except egress.SendFailed as exc:
        raise DeliveryFailed(f"{url}: {exc}") from None
    return Sent(status, url)


def account_data(account: Any) -> dict[str, Any]:
    """The account as events carry it."""
    return {
        "id": account.id,
        "external_id": account.external_id,
        "name": account.name,
    }
