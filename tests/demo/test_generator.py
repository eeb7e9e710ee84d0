"""The demo company generator: deterministic, realistic, consistent."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact, ContactRoleLink
from boomerang.analytics.engine import connect
from boomerang.billing.models import Invoice, Subscription
from boomerang.demo.generator import DemoSummary, generate
from boomerang.events.store import EventStore
from boomerang.security import verify_password
from boomerang.support.models import Ticket
from boomerang.timeline.models import TimelineEntry
from boomerang.users.models import User

END = date(2026, 11, 15)
PASSWORD = "demo-password-1"


def _generate(session: Session, store: EventStore, **kwargs: Any) -> DemoSummary:
    options: dict[str, Any] = {"accounts": 60, "months": 6, "seed": 42, **kwargs}
    return generate(session=session, store=store, end=END, password=PASSWORD, **options)


def _snapshot(session: Session, store: EventStore) -> dict[str, Any]:
    """Everything that must be identical between two runs with the same seed."""
    accounts = session.execute(
        select(
            Account.id,
            Account.external_id,
            Account.name,
            Account.domain,
            Account.arr,
            Account.tier,
            User.email,
            Account.stage,
            Account.parent_id,
            Account.created_at,
            Account.updated_at,
            Account.churned_at,
            Account.renewal_date,
        )
        .join(User, User.id == Account.owner_id)
        .order_by(Account.external_id)
    ).all()
    subscriptions = session.execute(
        select(
            Subscription.external_id,
            Account.external_id,
            Subscription.product,
            Subscription.plan,
            Subscription.arr,
            Subscription.seats,
            Subscription.start_date,
            Subscription.end_date,
            Subscription.renewal_date,
            Subscription.status,
        )
        .join(Account, Account.id == Subscription.account_id)
        .order_by(Subscription.external_id)
    ).all()
    others = {
        "contacts": session.execute(
            select(Contact.external_id, Contact.email, Contact.active, Contact.created_at).order_by(
                Contact.external_id
            )
        ).all(),
        "invoices": session.execute(
            select(Invoice.external_id, Invoice.amount, Invoice.paid_on).order_by(
                Invoice.external_id
            )
        ).all(),
        "tickets": session.execute(
            select(Ticket.external_id, Ticket.severity, Ticket.opened_at).order_by(
                Ticket.external_id
            )
        ).all(),
        "timeline": session.execute(
            select(TimelineEntry.id, TimelineEntry.occurred_at, TimelineEntry.body).order_by(
                TimelineEntry.id
            )
        ).all(),
    }
    with connect(store) as con:
        row = con.execute(
            """
            SELECT count(*), md5(string_agg(concat_ws('|', message_id, type, event, name,
                   user_id, group_id, epoch_us(timestamp), epoch_us(received_at), properties,
                   context), chr(10) ORDER BY message_id))
            FROM events
            """
        ).fetchone()
    return {"accounts": accounts, "subscriptions": subscriptions, "events": row, **others}


def test_same_seed_gives_the_same_company(session: Session, tmp_path: Path) -> None:
    snapshots = []
    for run, seed in enumerate((42, 42, 43)):
        nested = session.begin_nested()
        store = EventStore(tmp_path / f"run-{run}")
        summary = _generate(session, store, seed=seed)
        snapshots.append((summary, _snapshot(session, store)))
        nested.rollback()

    (first, a), (second, b), (_, c) = snapshots
    assert a["events"][0] > 10_000
    for key in a:
        assert a[key] == b[key], key
    assert first.truth.equals(second.truth)
    assert (first.users, first.contacts, first.events) == (
        second.users,
        second.contacts,
        second.events,
    )
    # Another seed: another company.
    assert a["accounts"] != c["accounts"]
    assert a["subscriptions"] != c["subscriptions"]
    assert a["events"] != c["events"]


def _share(truth: pa.Table, column: str, trajectory: str) -> float:
    rows = [r for r in truth.to_pylist() if r["trajectory"] == trajectory]
    return sum(1 for r in rows if r[column]) / len(rows)


def test_outcomes_follow_trajectories(session: Session, event_store: EventStore) -> None:
    summary = _generate(session, event_store, accounts=400, months=9, seed=7)
    truth = summary.truth
    trajectory = dict(
        zip(truth["external_id"].to_pylist(), truth["trajectory"].to_pylist(), strict=True)
    )
    assert set(trajectory.values()) == {"positive", "neutral", "negative"}

    # Churn: negative > neutral > positive, by a clear margin (from the database).
    churned = dict(session.execute(select(Account.external_id, Account.churned_at)).all())
    rate = {
        t: sum(1 for a, tr in trajectory.items() if tr == t and churned[a] is not None)
        / sum(1 for tr in trajectory.values() if tr == t)
        for t in ("positive", "neutral", "negative")
    }
    assert rate["negative"] > rate["neutral"] + 0.05
    assert rate["neutral"] > rate["positive"] + 0.03
    assert rate["negative"] > 2.5 * rate["positive"]

    # Usage over the last 90 days, among accounts live during the whole window.
    window_start = datetime.combine(END - timedelta(days=89), time(), UTC)
    live = {
        a.external_id: a
        for a in session.scalars(
            select(Account).where(
                Account.churned_at.is_(None), Account.created_at < window_start - timedelta(90)
            )
        )
    }
    seats: dict[str, int] = {
        a: int(n or 0)
        for a, n in session.execute(
            select(Account.external_id, func.sum(Subscription.seats))
            .join(Subscription, Subscription.account_id == Account.id)
            .where(Subscription.status == "active", Subscription.product == "Boomerang Core")
            .group_by(Account.external_id)
        ).all()
    }
    with connect(event_store) as con:
        usage = {
            group: (users, events)
            for group, users, events in con.execute(
                "SELECT group_id, count(DISTINCT user_id), count(*) FROM events "
                "WHERE timestamp >= $start AND type = 'track' GROUP BY group_id",
                {"start": window_start},
            ).fetchall()
        }

    def mean_usage(t: str) -> tuple[float, float]:
        ids = [a for a in live if trajectory[a] == t]
        ratio = [usage.get(a, (0, 0))[0] / min(seats[a], 40) for a in ids]
        volume = [usage.get(a, (0, 0))[1] / min(seats[a], 40) for a in ids]
        return sum(ratio) / len(ids), sum(volume) / len(ids)

    pos_users, pos_events = mean_usage("positive")
    neg_users, neg_events = mean_usage("negative")
    assert pos_users > 1.3 * neg_users
    assert pos_events > 1.5 * neg_events

    # Tickets per month as a customer, and late invoices: worse for negative accounts.
    tickets = dict(
        session.execute(
            select(Account.external_id, func.count(Ticket.id))
            .join(Ticket, Ticket.account_id == Account.id)
            .group_by(Account.external_id)
        ).all()
    )
    history = (
        datetime.combine(summary.start, time(), UTC),
        datetime.combine(END + timedelta(days=1), time(), UTC),
    )
    months = {
        a: max((min(history[1], churned_at or history[1]) - max(history[0], created_at)).days, 0)
        / 30.4
        for a, created_at, churned_at in session.execute(
            select(Account.external_id, Account.created_at, Account.churned_at)
        ).all()
    }

    def ticket_rate(t: str) -> float:
        ids = [a for a, tr in trajectory.items() if tr == t]
        return sum(tickets.get(a, 0) for a in ids) / sum(months[a] for a in ids)

    assert ticket_rate("negative") > 1.8 * ticket_rate("positive")
    invoices = session.execute(
        select(Account.external_id, Invoice.due_on, Invoice.paid_on).join(
            Invoice, Invoice.account_id == Account.id
        )
    ).all()

    def late_share(t: str) -> float:
        due = [(d, p) for a, d, p in invoices if trajectory[a] == t and d < END]
        return sum(1 for d, p in due if p is None or p > d) / len(due)

    assert late_share("negative") > 2 * late_share("positive")


def test_rows_and_events_are_consistent(session: Session, event_store: EventStore) -> None:
    summary = _generate(session, event_store, accounts=150, months=12, seed=3)
    assert summary.start == date(2025, 11, 16)
    assert summary.end == END

    # Counts match what is stored.
    for model, expected in (
        (User, summary.users),
        (Account, summary.accounts),
        (Contact, summary.contacts),
        (Subscription, summary.subscriptions),
        (Invoice, summary.invoices),
        (Ticket, summary.tickets),
        (TimelineEntry, summary.timeline_entries),
    ):
        assert session.scalar(select(func.count()).select_from(model)) == expected, model

    # Staff: one admin with the demo password, CSMs in teams.
    admin = session.scalars(select(User).where(User.email == summary.admin_email)).one()
    assert admin.role == "admin"
    assert admin.password_hash and verify_password(admin.password_hash, PASSWORD)
    csms = session.scalars(select(User).where(User.role == "csm")).all()
    assert 6 <= len(csms) <= 10
    assert {c.team for c in csms} == {"Enterprise", "Mid-Market", "Scale"}
    assert all(c.email.endswith("@boomerang.demo") for c in csms)

    accounts = session.scalars(select(Account)).all()
    truth = {r["external_id"]: r for r in summary.truth.to_pylist()}
    assert len(truth) == len(accounts)
    end_of_history = datetime.combine(END + timedelta(days=1), time(), UTC)
    floors = {"smb": Decimal(0), "mid_market": Decimal(20_000), "enterprise": Decimal(100_000)}
    ceilings = {"smb": Decimal(20_000), "mid_market": Decimal(100_000)}
    churned = [a for a in accounts if a.churned_at is not None]
    live = [a for a in accounts if a.churned_at is None]
    assert churned and live
    for account in live:
        assert account.arr > 0, account.external_id
        assert account.renewal_date is not None and account.renewal_date > END
        assert account.stage != "churned"
        assert Decimal(str(truth[account.external_id]["arr"])) == account.arr
    for account in churned:
        assert account.stage == "churned"
        assert account.arr == 0
        assert truth[account.external_id]["churned"]
        assert account.churned_at is not None and account.churned_at < end_of_history
    for account in accounts:
        arr = Decimal(str(truth[account.external_id]["arr"]))
        assert account.tier is not None
        assert arr >= floors[account.tier]
        assert account.tier == "enterprise" or arr < ceilings[account.tier]
        assert account.created_at < end_of_history

    # Every live account has active lines; ended lines stop on their renewal day.
    lines = session.scalars(select(Subscription)).all()
    by_account: dict[str, list[Subscription]] = {}
    for line in lines:
        by_account.setdefault(line.account_id, []).append(line)
        if line.status in ("ended", "cancelled"):
            assert line.end_date is not None and line.end_date <= END
        if line.status == "active":
            assert line.end_date is None and line.renewal_date and line.renewal_date > END
    currency = {a.id: a.currency for a in accounts}
    assert all(line.currency == currency[line.account_id] for line in lines)
    for account in live:
        assert any(line.status == "active" for line in by_account[account.id])

    # Invoices, tickets and contacts make sense.
    for invoice in session.scalars(select(Invoice)):
        assert invoice.due_on == invoice.issued_on + timedelta(days=30)
        assert invoice.paid_on is None or invoice.issued_on <= invoice.paid_on <= END
        assert invoice.currency == currency[invoice.account_id]
    for ticket in session.scalars(select(Ticket)):
        assert 1 <= ticket.severity <= 4
        if ticket.first_response_at is not None:
            assert ticket.first_response_at >= ticket.opened_at
        if ticket.status in ("solved", "closed"):
            assert ticket.solved_at is not None and ticket.first_response_at is not None
            assert ticket.solved_at >= ticket.first_response_at
        else:
            assert ticket.solved_at is None
    domains = {a.id: a.domain for a in accounts}
    contacts = session.scalars(select(Contact)).all()
    assert all(c.account_id is not None for c in contacts)
    assert all(
        c.email and c.email.endswith("@" + str(domains[str(c.account_id)])) for c in contacts
    )
    roles = session.execute(
        select(Contact.account_id, ContactRoleLink.role).join(
            ContactRoleLink, ContactRoleLink.contact_id == Contact.id
        )
    ).all()
    for role in ("champion", "sponsor", "decision_maker", "admin"):
        assert {account_id for account_id, r in roles if r == role} == set(domains), role

    # No naive datetimes anywhere.
    for model in (User, Account, Contact, Subscription, Invoice, Ticket, TimelineEntry):
        columns = [c for c in model.__table__.columns if "DateTime" in type(c.type).__name__]
        for row in session.execute(select(*columns)):
            for value in row:
                assert value is None or value.utcoffset() == timedelta(0), model

    # Events: known accounts and contacts, nothing after churn, unique ids.
    account_ids = pa.table(
        {
            "external_id": [a.external_id for a in accounts],
            "churned_at": pa.array([a.churned_at for a in accounts], pa.timestamp("us", "UTC")),
        }
    )
    contact_ids = pa.table({"external_id": [c.external_id for c in contacts]})
    assert event_store.files()
    with connect(event_store) as con:
        con.register("accounts", account_ids)
        con.register("contacts", contact_ids)
        (total, unique_ids, first, last) = con.execute(
            "SELECT count(*), count(DISTINCT message_id), min(timestamp), max(timestamp) "
            "FROM events"
        ).fetchone()  # type: ignore[misc]
        assert total == summary.events == unique_ids
        assert first >= datetime.combine(summary.start, time(), UTC)
        assert last < end_of_history
        assert con.execute(
            "SELECT count(*) FROM events WHERE group_id NOT IN (SELECT external_id FROM accounts)"
            " OR user_id IS NULL OR user_id NOT IN (SELECT external_id FROM contacts)"
        ).fetchone() == (0,)
        assert con.execute(
            "SELECT count(*) FROM events e JOIN accounts a ON a.external_id = e.group_id "
            "WHERE e.timestamp > a.churned_at"
        ).fetchone() == (0,)
        kinds = dict(con.execute("SELECT type, count(*) FROM events GROUP BY type").fetchall())
        assert set(kinds) == {"identify", "group", "track", "page"}
        names = {r[0] for r in con.execute("SELECT DISTINCT event FROM events").fetchall()}
        assert {"Signed In", "Account Created", "Invite Sent", "Report Created"} <= names
