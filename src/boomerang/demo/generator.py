"""The deterministic, realistic demo company: a B2B SaaS vendor and its customers.

:func:`generate` builds a latent company (:mod:`boomerang.demo.world`), derives its billing,
support and CSM history (:mod:`boomerang.demo.activity`), writes the operational rows in bulk
(:mod:`boomerang.demo.rows`) and the product usage events (:mod:`boomerang.demo.events`).
The same ``(seed, accounts, months, end)`` always gives the same rows and events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

import numpy as np
import pyarrow as pa
from rich.progress import Progress
from sqlalchemy import update
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.billing.service import refresh_rollups
from boomerang.demo.activity import build_invoices, build_tickets, build_timeline
from boomerang.demo.days import NEVER, IntArray, to_date
from boomerang.demo.events import generate_events
from boomerang.demo.rows import RowWriter
from boomerang.demo.world import OUTCOMES, TIERS, TRAJECTORIES, Config, World, build_world
from boomerang.errors import Invalid
from boomerang.events.store import EventStore
from boomerang.metrics.revenue import add_months, set_rate
from boomerang.security import hash_password

ADMIN_EMAIL = "admin@boomerang.demo"


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate` wrote, and the latent truth behind it (one row per account)."""

    users: int
    accounts: int
    contacts: int
    subscriptions: int
    invoices: int
    tickets: int
    timeline_entries: int
    events: int
    start: date
    end: date
    admin_email: str
    truth: pa.Table


DEMO_RATES = {"EUR": ("1.08", "1.12"), "GBP": ("1.26", "1.29")}


def generate(
    *,
    session: Session,
    store: EventStore,
    end: date,
    password: str,
    accounts: int = 500,
    months: int = 18,
    seed: int = 42,
    progress: Progress | None = None,
) -> DemoSummary:
    """Write a demo company whose history spans ``months`` months ending on ``end``.

    Staff users (``admin@boomerang.demo`` and the team, all with ``password``), ``accounts``
    customers with contacts, contract lines, invoices, tickets and timeline entries go into
    ``session`` (the caller commits); usage events go into ``store``.
    """
    if accounts < 1:
        raise Invalid("accounts: at least 1")
    if months < 1:
        raise Invalid("months: at least 1")
    config = Config.make(accounts=accounts, months=months, seed=seed, end=end)
    world_rng, activity_rng, rows_rng, events_rng = np.random.default_rng(seed).spawn(4)

    company = progress.add_task("company", total=5) if progress is not None else None

    def step(task: object, amount: int = 1) -> None:
        if progress is not None and task is not None:
            progress.advance(task, amount)  # type: ignore[arg-type]

    world = build_world(config, world_rng)
    step(company)
    invoice_rng, ticket_rng, timeline_rng = activity_rng.spawn(3)
    invoices = build_invoices(config, world, invoice_rng)
    step(company)
    tickets = build_tickets(config, world, ticket_rng)
    step(company)
    timeline = build_timeline(config, world, tickets, timeline_rng)
    step(company)
    password_hash = hash_password(password)
    step(company)

    total_rows = (
        len(world.staff.ids)
        + accounts
        + 2 * len(world.contacts.ids)
        + world.lines.account.size
        + invoices.account.size
        + tickets.account.size
        + timeline.account.size
    )
    rows_task = progress.add_task("rows", total=total_rows) if progress is not None else None
    writer = RowWriter(session, world, rows_rng, lambda n: step(rows_task, n))
    users = writer.staff(password_hash)
    writer.accounts()
    contacts = writer.contacts()
    subscriptions = writer.subscriptions()
    invoice_count = writer.invoices(invoices)
    ticket_count = writer.tickets(tickets)
    entry_count = writer.timeline(timeline)
    if progress is not None and rows_task is not None:
        progress.update(rows_task, completed=total_rows)

    events_task = progress.add_task("events", total=config.days) if progress is not None else None
    events = generate_events(world, store, events_rng, on_day=lambda n: step(events_task, n))

    # Exchange rates into USD for the revenue reports (one change during the history).
    first = to_date(config.start)
    for currency, rates in DEMO_RATES.items():
        for offset, rate in enumerate(rates):
            set_rate(
                session=session,
                currency=currency,
                rate=Decimal(rate),
                valid_from=first.replace(day=1) if offset == 0 else add_months(first, 12),
                source="demo",
            )
    refresh_rollups(session=session, today=end)
    # The roll-up stamps updated_at with the wall clock; keep the demo deterministic.
    as_of = datetime.combine(end, time(23, 59, 59), UTC)
    session.execute(
        update(Account).values(updated_at=as_of).execution_options(synchronize_session=False)
    )
    session.flush()
    return DemoSummary(
        users=users,
        accounts=accounts,
        contacts=contacts,
        subscriptions=subscriptions,
        invoices=invoice_count,
        tickets=ticket_count,
        timeline_entries=entry_count,
        events=events,
        start=to_date(config.start),
        end=end,
        admin_email=ADMIN_EMAIL,
        truth=truth_table(world),
    )


def _dates(days: IntArray) -> pa.Array:
    missing = days >= NEVER
    return pa.array(np.where(missing, 0, days).astype("datetime64[D]"), pa.date32(), mask=missing)


def truth_table(world: World) -> pa.Table:
    """The latent truth per account, for tests, benchmarks and model evaluation."""
    acc = world.accounts
    churned = acc.churned
    outcome = np.array([*OUTCOMES, "none"])[np.where(acc.last_outcome < 0, 4, acc.last_outcome)]
    next_outcome = np.array([*OUTCOMES, ""])[np.where(acc.next_outcome < 0, 4, acc.next_outcome)]
    champion_left = np.zeros(acc.trajectory.size, np.bool_)
    con = world.contacts
    champion_left[con.account[con.leave_day < NEVER]] = True
    return pa.table(
        {
            "external_id": pa.array(acc.external_ids, pa.string()),
            "name": pa.array(acc.names, pa.string()),
            "trajectory": pa.array(np.array(TRAJECTORIES)[acc.trajectory]),
            "engagement": pa.array(acc.engagement),
            "outcome": pa.array(outcome),
            "churned": pa.array(churned),
            "churned_on": _dates(acc.churn_day),
            "renewals": pa.array(acc.renewals),
            "next_renewal": _dates(acc.next_renewal),
            "next_outcome": pa.array(next_outcome, mask=acc.next_outcome < 0),
            "tier": pa.array(np.array(TIERS)[acc.tier]),
            "created": _dates(acc.created),
            "first_arr": pa.array(acc.first_cents / 100.0),
            "arr": pa.array(acc.final_cents / 100.0),
            "onboarding_days": pa.array(acc.onboarding_tau),
            "late_payment_rate": pa.array(acc.late_payer),
            "champion_left": pa.array(champion_left),
        }
    )
