"""Job handlers by kind, and the periodic work the scheduler enqueues.

A handler is registered where its domain lives (``boomerang/<domain>/jobs.py`` or
similar) and that module is named once, in the domain's entry of :mod:`boomerang.domains`
(``jobs=``); :data:`MODULES` is that list, which :func:`load` imports::

    from boomerang.jobs.registry import Context, Daily, handler, periodic

    @handler("outbox.deliver")
    def deliver(context: Context, payload: dict[str, Any]) -> dict[str, Any] | None:
        with context.transaction() as session:  # the handler owns its transactions
            sent = outbox_service.deliver(session=session, now=context.now)
        return {"sent": sent}

    periodic("outbox.deliver", every=timedelta(seconds=10))
    periodic("health.daily", every=Daily(hour=lambda settings: settings.health_hour))

Handlers take ids in their payload (never objects), open their own transactions and are
safe to run twice: delivery is at least once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.domains import job_modules
from boomerang.uow import Transaction

MODULES: tuple[str, ...] = tuple(job_modules())
"""Every module that registers handlers or periodic jobs (each domain names its own in
:mod:`boomerang.domains`)."""


@dataclass(frozen=True)
class Context:
    """What a running job may use: ``transaction()`` opens a session committed on exit."""

    transaction: Transaction
    settings: Settings
    source: EventSource
    now: datetime
    job_id: str = ""
    attempt: int = 0


Payload = dict[str, Any]
Handler = Callable[[Context, Payload], Payload | None]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of jobs of ``kind``."""

    def register(func: Handler) -> Handler:
        existing = HANDLERS.get(kind)
        if existing is not None and existing is not func:
            raise ValueError(f"job kind {kind!r} already has a handler ({existing.__qualname__})")
        HANDLERS[kind] = func
        return func

    return register


@dataclass(frozen=True)
class Daily:
    """Once a day from ``hour`` (UTC), or from the hour a setting names when a callable."""

    hour: int | Callable[[Settings], int]

    def at(self, settings: Settings) -> int:
        return self.hour(settings) if callable(self.hour) else self.hour


@dataclass(frozen=True)
class Periodic:
    """Enqueue a ``kind`` job once per period: every ``every`` (a timedelta, periods
    aligned on the Unix epoch) or daily (a :class:`Daily`)."""

    kind: str
    every: timedelta | Daily
    payload: Payload = field(default_factory=dict)
    enabled: Callable[[Settings], bool] = lambda settings: True
    max_attempts: int = 5


PERIODIC: list[Periodic] = []


def periodic(
    kind: str,
    *,
    every: timedelta | Daily,
    payload: Payload | None = None,
    enabled: Callable[[Settings], bool] = lambda settings: True,
    max_attempts: int = 5,
) -> Periodic:
    """Add periodic work (once per kind: registering a kind again replaces it)."""
    if isinstance(every, timedelta) and every < timedelta(seconds=1):
        raise ValueError("a periodic job runs at most once a second")
    entry = Periodic(kind, every, payload or {}, enabled, max_attempts)
    PERIODIC[:] = [p for p in PERIODIC if p.kind != kind] + [entry]
    return entry


def load() -> dict[str, Handler]:
    """Import every module of :data:`MODULES`; returns the handlers they registered."""
    for module in MODULES:
        importlib.import_module(module)
    return HANDLERS
