"""Bulk inserts of the demo company into the operational store (chunks of executemany)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact, ContactRole, ContactRoleLink, Stage
from boomerang.billing.models import Invoice, Subscription, SubscriptionStatus
from boomerang.demo import names
from boomerang.demo.activity import (
    ENTRY_KINDS,
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    Invoices,
    Tickets,
    Timeline,
)
from boomerang.demo.days import (
    NEVER,
    BoolArray,
    IntArray,
    date_list,
    datetime_list,
    int_list,
    money_list,
    to_date,
)
from boomerang.demo.world import (
    CHURN_REASONS,
    CURRENCIES,
    LINE_PLANS,
    SIGNUP_SOURCES,
    STAGES,
    STATUSES,
    TIERS,
    World,
    hex_ids,
)
from boomerang.support.models import Ticket, TicketPriority, TicketStatus
from boomerang.timeline.models import EntryKind, TimelineEntry
from boomerang.users.models import Role, User

CHUNK = 10_000

Column = Sequence[Any] | Callable[[int, int], Sequence[Any]]
"""A whole column of Python values, or a function giving the values of rows [lo, hi)."""


def _take(values: Sequence[Any], index: IntArray, missing: BoolArray | None = None) -> Column:
    def column(lo: int, hi: int) -> list[Any]:
        part = index[lo:hi].tolist()
        if missing is None:
            return [values[i] for i in part]
        return [
            None if m else values[i] for i, m in zip(part, missing[lo:hi].tolist(), strict=True)
        ]

    return column


def _dates(days: IntArray) -> Column:
    return lambda lo, hi: date_list(days[lo:hi], days[lo:hi] >= NEVER)


def _times(instants: IntArray) -> Column:
    return lambda lo, hi: datetime_list(instants[lo:hi], instants[lo:hi] >= NEVER)


def _const(value: Any) -> Column:
    return lambda lo, hi: [value] * (hi - lo)


def insert_rows(
    session: Session,
    table: Table,
    size: int,
    columns: dict[str, Column],
    advance: Callable[[int], None] | None = None,
) -> int:
    """Insert ``size`` rows, ``CHUNK`` at a time, with one executemany per chunk."""
    keys = list(columns)
    for lo in range(0, size, CHUNK):
        hi = min(size, lo + CHUNK)
        values = [
            column(lo, hi) if callable(column) else column[lo:hi] for column in columns.values()
        ]
        session.execute(
            insert(table), [dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True)]
        )
        if advance is not None:
            advance(hi - lo)
    return size


class RowWriter:
    """Writes one part of the demo company after another into ``session``."""

    def __init__(
        self,
        session: Session,
        world: World,
        rng: np.random.Generator,
        advance: Callable[[int], None] | None = None,
    ) -> None:
        self.session = session
        self.world = world
        self.rng = rng
        self.advance = advance
        self.subscription_ids: list[str] = []

    def _insert(self, table: Table, size: int, columns: dict[str, Column]) -> int:
        return insert_rows(self.session, table, size, columns, self.advance)

    def staff(self, password_hash: str) -> int:
        staff = self.world.staff
        size = len(staff.ids)
        # The team was hired before the history starts, a week apart.
        hired = datetime.combine(to_date(self.world.config.start - 400), time(9, 0), UTC)
        created = [hired + timedelta(days=7 * i) for i in range(size)]
        return self._insert(
            User.__table__,  # type: ignore[arg-type]
            size,
            {
                "id": staff.ids,
                "email": staff.emails,
                "name": staff.names,
                "password_hash": [password_hash] * size,
                "role": [Role(r) for r in staff.roles],
                "team": staff.teams,
                "active": [True] * size,
                "created_at": created,
                "last_login_at": [None] * size,
            },
        )

    def accounts(self) -> int:
        world = self.world
        acc = world.accounts
        config = world.config
        n = config.accounts
        # Parents first: a subsidiary's row references its parent's.
        order = np.argsort(acc.parent >= 0, kind="stable")
        live = ~acc.churned
        arr = np.where(live, acc.final_cents, 0)
        renewal = np.where(live, acc.next_renewal, NEVER)
        sso = self.rng.random(n) < np.array([0.1, 0.4, 0.8])[acc.tier]
        end_of_day = datetime.combine(to_date(config.end), time(23, 59, 59), UTC)
        owner_ids = world.staff.ids
        account_ids = acc.ids

        def attributes(lo: int, hi: int) -> list[dict[str, Any]]:
            return [
                {
                    "plan_family": names.PLANS[acc.final_plan[a]],
                    "signup_source": SIGNUP_SOURCES[acc.signup_source[a]],
                    "billing_cycle": "quarterly" if acc.quarterly[a] else "annual",
                    "data_center": names.DATA_CENTERS[acc.region[a]],
                    "sso": bool(sso[a]),
                }
                for a in order[lo:hi].tolist()
            ]

        parent = acc.parent[order]
        return self._insert(
            Account.__table__,  # type: ignore[arg-type]
            n,
            {
                "id": _take(account_ids, order),
                "external_id": _take(acc.external_ids, order),
                "name": _take(acc.names, order),
                "domain": _take(acc.domains, order),
                "industry": _take(names.INDUSTRIES, acc.industry[order]),
                "region": _take(names.REGIONS, acc.region[order]),
                "employee_band": _take(acc.employee_band, order),
                "owner_id": _take(owner_ids, acc.owner[order]),
                "tier": _take(TIERS, acc.tier[order]),
                "stage": _take([Stage(s) for s in STAGES], acc.stage[order]),
                "parent_id": _take(account_ids, np.maximum(parent, 0), parent < 0),
                "currency": _take(CURRENCIES, acc.currency[order]),
                "arr": lambda lo, hi: money_list(arr[order[lo:hi]]),
                "renewal_date": _dates(renewal[order]),
                "attributes": attributes,
                "created_at": _times(acc.created_us[order]),
                "updated_at": _const(end_of_day),
                "churned_at": _times(acc.churned_us[order]),
                "churn_reason": _take(CHURN_REASONS, acc.churn_reason[order], ~acc.churned[order]),
            },
        )

    def contacts(self) -> int:
        con = self.world.contacts
        acc = self.world.accounts
        size = len(con.ids)
        now = (self.world.config.end + 1) * 86_400_000_000
        unsubscribed = self.rng.random(size) < 0.01
        when = con.join_us + (self.rng.random(size) * (now - con.join_us)).astype(np.int64)
        unsubscribed_at = np.where(unsubscribed, when, NEVER)
        rows = self._insert(
            Contact.__table__,  # type: ignore[arg-type]
            size,
            {
                "id": con.ids,
                "external_id": con.external_ids,
                "account_id": _take(acc.ids, con.account),
                "email": con.emails,
                "name": con.names,
                "title": con.titles,
                "active": lambda lo, hi: (con.leave_day[lo:hi] >= NEVER).tolist(),
                "unsubscribed_at": _times(unsubscribed_at),
                "created_at": _times(con.join_us),
            },
        )
        # Roles: 0 champion, 1 sponsor, 2 decision maker, 3 admin (the champion when there are
        # only three people), 4 a second champion in some bigger accounts, the rest users.
        position = con.position
        count = con.count[con.account]
        second = (position == 4) & (count >= 8) & (self.rng.random(size) < 0.4)
        role = np.select(
            [position == 0, position == 1, position == 2, position == 3, second],
            [0, 1, 2, 3, 0],
            4,
        )
        contact = np.arange(size)
        extra_admin = np.flatnonzero((position == 0) & (count == 3))
        replacement = con.replacement[con.replacement >= 0]
        contact = np.concatenate([contact, extra_admin, replacement])
        role = np.concatenate([role, np.full(extra_admin.size, 3), np.full(replacement.size, 0)])
        order = np.lexsort((role, contact))
        contact, role = contact[order], role[order]
        keep = np.r_[True, (contact[1:] != contact[:-1]) | (role[1:] != role[:-1])]
        contact, role = contact[keep], role[keep]
        roles = [
            ContactRole.champion,
            ContactRole.sponsor,
            ContactRole.decision_maker,
            ContactRole.admin,
            ContactRole.user,
        ]
        self._insert(
            ContactRoleLink.__table__,  # type: ignore[arg-type]
            contact.size,
            {"contact_id": _take(con.ids, contact), "role": _take(roles, role)},
        )
        return rows

    def subscriptions(self) -> int:
        lines = self.world.lines
        acc = self.world.accounts
        size = lines.account.size
        self.subscription_ids = hex_ids(self.rng, "sub", size)
        statuses = [SubscriptionStatus(s) for s in STATUSES]
        return self._insert(
            Subscription.__table__,  # type: ignore[arg-type]
            size,
            {
                "id": self.subscription_ids,
                "external_id": [f"sub-{i:06d}" for i in range(1, size + 1)],
                "account_id": _take(acc.ids, lines.account),
                "product": _take(names.PRODUCTS, lines.product),
                "plan": _take(LINE_PLANS, lines.plan),
                "arr": lambda lo, hi: money_list(lines.cents[lo:hi]),
                "currency": _take(CURRENCIES, acc.currency[lines.account]),
                "seats": lambda lo, hi: int_list(lines.seats[lo:hi], lines.seats[lo:hi] < 0),
                "start_date": _dates(lines.start),
                "end_date": _dates(lines.end),
                "renewal_date": _dates(lines.renewal),
                "status": _take(statuses, lines.status),
                "auto_renew": lambda lo, hi: lines.auto_renew[lo:hi].tolist(),
                "created_at": _times(lines.created_us),
            },
        )

    def invoices(self, invoices: Invoices) -> int:
        acc = self.world.accounts
        size = invoices.account.size
        # Rows go in by line (so by account, like the indexes); numbers follow issue dates.
        order = np.lexsort((invoices.issued, invoices.line))
        number = np.empty(size, np.int64)
        number[np.lexsort((invoices.line, invoices.issued))] = np.arange(1, size + 1)
        return self._insert(
            Invoice.__table__,  # type: ignore[arg-type]
            size,
            {
                "id": hex_ids(self.rng, "inv", size),
                "external_id": [f"INV-{i:07d}" for i in number[order].tolist()],
                "account_id": _take(acc.ids, invoices.account[order]),
                "subscription_id": _take(self.subscription_ids, invoices.line[order]),
                "amount": lambda lo, hi: money_list(invoices.cents[order[lo:hi]]),
                "currency": _take(CURRENCIES, acc.currency[invoices.account[order]]),
                "issued_on": _dates(invoices.issued[order]),
                "due_on": _dates(invoices.due[order]),
                "paid_on": _dates(invoices.paid[order]),
                "created_at": _times(invoices.created_us[order]),
            },
        )

    def tickets(self, tickets: Tickets) -> int:
        acc = self.world.accounts
        con = self.world.contacts
        size = tickets.account.size
        priorities = [TicketPriority(p) for p in TICKET_PRIORITIES]
        statuses = [TicketStatus(s) for s in TICKET_STATUSES]
        # Tickets are numbered in the order they were opened, and inserted by account.
        order = np.argsort(tickets.account, kind="stable")
        return self._insert(
            Ticket.__table__,  # type: ignore[arg-type]
            size,
            {
                "id": hex_ids(self.rng, "tkt", size),
                "external_id": [f"t-{i + 1:06d}" for i in order.tolist()],
                "account_id": _take(acc.ids, tickets.account[order]),
                "contact_id": _take(con.ids, tickets.contact[order]),
                "severity": lambda lo, hi: tickets.severity[order[lo:hi]].tolist(),
                "priority": _take(priorities, tickets.priority[order]),
                "status": _take(statuses, tickets.status[order]),
                "subject": _take(tickets.subject, order),
                "opened_at": _times(tickets.opened_us[order]),
                "first_response_at": _times(tickets.first_response_us[order]),
                "solved_at": _times(tickets.solved_us[order]),
            },
        )

    def timeline(self, timeline: Timeline) -> int:
        acc = self.world.accounts
        con = self.world.contacts
        size = timeline.account.size
        kinds = [EntryKind(k) for k in ENTRY_KINDS]
        return self._insert(
            TimelineEntry.__table__,  # type: ignore[arg-type]
            size,
            {
                "id": hex_ids(self.rng, "tle", size),
                "account_id": _take(acc.ids, timeline.account),
                "contact_id": _take(con.ids, np.maximum(timeline.contact, 0), timeline.contact < 0),
                "kind": _take(kinds, timeline.kind),
                "author_id": _take(self.world.staff.ids, acc.owner[timeline.account]),
                "subject": timeline.subject,
                "body": timeline.body,
                "occurred_at": _times(timeline.occurred_us),
                "created_at": _times(timeline.occurred_us),
            },
        )
