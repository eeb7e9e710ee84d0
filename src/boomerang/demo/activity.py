"""Operational history derived from the latent company: invoices, tickets, timeline entries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from boomerang.demo import names
from boomerang.demo.days import (
    NEVER,
    US_PER_DAY,
    US_PER_SECOND,
    BoolArray,
    IntArray,
    add_months,
)
from boomerang.demo.world import (
    CHURN_REASONS,
    CHURNED,
    CONTRACTED,
    CURRENCIES,
    EXPANDED,
    TRIAL,
    Config,
    World,
    business_second,
)

TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_STATUSES = ("new", "open", "pending", "solved", "closed")
# P(severity 1, 2, 3, 4) by trajectory.
SEVERITY_P = np.array(
    [[0.03, 0.14, 0.45, 0.38], [0.05, 0.20, 0.45, 0.30], [0.12, 0.28, 0.40, 0.20]]
)
ENTRY_KINDS = ("note", "call", "meeting", "email", "ticket", "system")
NOTE, CALL, MEETING, EMAIL, TICKET, SYSTEM = range(6)
GOALS = (
    "one view of customer health",
    "automated renewal reminders",
    "less time spent on reporting",
    "a rollout to the whole support team",
    "a weekly executive dashboard",
)


@dataclass
class Invoices:
    account: IntArray
    line: IntArray
    cents: IntArray
    issued: IntArray
    due: IntArray
    paid: IntArray
    """Day paid, or NEVER when unpaid at the last day."""
    created_us: IntArray


@dataclass
class Tickets:
    account: IntArray
    contact: IntArray
    severity: IntArray
    priority: IntArray
    status: IntArray
    subject: list[str]
    opened_us: IntArray
    first_response_us: IntArray
    solved_us: IntArray


@dataclass
class Timeline:
    account: IntArray
    contact: IntArray
    kind: IntArray
    occurred_us: IntArray
    subject: list[str]
    body: list[str]


def _windows(config: Config, world: World) -> tuple[IntArray, IntArray]:
    """Per account, the days of the history it was a customer: ``[lo, hi)``."""
    acc = world.accounts
    lo = np.maximum(config.start, acc.created)
    hi = np.minimum(config.end + 1, acc.churn_day)
    return lo, np.maximum(hi, lo)


def build_invoices(config: Config, world: World, rng: np.random.Generator) -> Invoices:
    """Annual (or quarterly) invoices per paid line, due net 30; late payers pay late."""
    lines = world.lines
    acc = world.accounts
    paid_lines = np.flatnonzero(lines.status != TRIAL)
    account = lines.account[paid_lines]
    per_year = np.where(lines.quarterly[paid_lines], 4, 1)
    count = acc.term_years[account] * per_year
    line = np.repeat(paid_lines, count)
    starts = np.concatenate([[0], np.cumsum(count)[:-1]])
    index = np.arange(int(count.sum())) - np.repeat(starts, count)
    step = 12 // np.repeat(per_year, count)
    issued = add_months(lines.start[line], index * step)
    stop = np.where(lines.end[line] < NEVER, lines.end[line], lines.renewal[line])
    keep = (issued < stop) & (issued <= config.end)
    line, issued, step = line[keep], issued[keep], step[keep]
    account = lines.account[line]
    cents = np.round(lines.cents[line] * step / 12.0).astype(np.int64)
    due = issued + 30
    late = rng.random(line.size) < acc.late_payer[account]
    on_time = issued + np.floor(rng.random(line.size) * 29).astype(np.int64)
    late_day = due + 1 + np.floor(rng.exponential(18.0, line.size)).astype(np.int64)
    paid = np.where(late, late_day, on_time)
    disputed = late & (rng.random(line.size) < 0.08)
    paid = np.where(disputed | (paid > config.end), NEVER, paid)
    created_us = issued * US_PER_DAY + business_second(rng, acc.tz_hours[account]) * US_PER_SECOND
    return Invoices(account, line, cents, issued, due, paid, created_us)


def build_tickets(config: Config, world: World, rng: np.random.Generator) -> Tickets:
    """Support tickets: more, and more severe, for negative accounts."""
    acc = world.accounts
    contacts = world.contacts
    n = config.accounts
    lo, hi = _windows(config, world)
    months = (hi - lo) / 30.44
    rate = (
        np.array([0.18, 0.45, 1.2])[acc.tier]
        * np.array([0.7, 1.0, 1.9])[acc.trajectory]
        * rng.lognormal(0.0, 0.35, n)
    )
    count = rng.poisson(rate * months)
    account = np.repeat(np.arange(n), count)
    size = account.size
    u = rng.random(size)
    u = np.where(acc.trajectory[account] == 2, u**0.6, u)
    day = lo[account] + np.floor(u * (hi - lo)[account]).astype(np.int64)
    opened = day * US_PER_DAY + business_second(rng, acc.tz_hours[account]) * US_PER_SECOND
    p = SEVERITY_P[acc.trajectory[account]]
    severity = np.minimum((rng.random(size)[:, None] > np.cumsum(p, axis=1)).sum(axis=1), 3) + 1
    first_hours = rng.lognormal(np.log(np.array([0.3, 1.5, 5.0, 12.0])[severity - 1]), 0.8)
    slow = np.where(acc.trajectory[account] == 2, 1.3, 1.0)
    solve_hours = rng.lognormal(np.log(np.array([6.0, 30.0, 72.0, 120.0])[severity - 1]), 0.9)
    first = opened + (first_hours * 3600 * US_PER_SECOND).astype(np.int64)
    solved = first + (solve_hours * slow * 3600 * US_PER_SECOND).astype(np.int64)
    now = (config.end + 1) * US_PER_DAY
    status = np.where(
        first >= now,
        0,
        np.where(
            solved >= now,
            np.where(rng.random(size) < 0.7, 1, 2),
            np.where(rng.random(size) < 0.85, 3, 4),
        ),
    )
    first = np.where(first >= now, NEVER, first)
    solved = np.where(solved >= now, NEVER, solved)
    r = rng.random(size)
    priority = np.select(
        [severity == 1, severity == 2, severity == 3],
        [3, np.where(r < 0.8, 2, 3), np.where(r < 0.85, 1, 2)],
        np.where(r < 0.7, 0, 1),
    )
    pick = rng.integers(0, 1_000_000, size)
    subjects = [
        names.TICKET_SUBJECTS[s - 1][k % len(names.TICKET_SUBJECTS[s - 1])]
        for s, k in zip(severity.tolist(), pick.tolist(), strict=True)
    ]
    contact = contacts.first[account] + np.floor(rng.random(size) * contacts.count[account]).astype(
        np.int64
    )
    absent = (contacts.join_us[contact] > opened) | (contacts.leave_day[contact] <= day)
    contact = np.where(absent, contacts.admin[account], contact)
    order = np.argsort(opened, kind="stable")
    return Tickets(
        account=account[order],
        contact=contact[order],
        severity=severity[order],
        priority=priority[order],
        status=status[order],
        subject=[subjects[i] for i in order.tolist()],
        opened_us=opened[order],
        first_response_us=first[order],
        solved_us=solved[order],
    )


def _money(cents: int, currency: str) -> str:
    return f"{cents / 100:,.0f} {currency}"


class _Entries:
    """Accumulates timeline blocks."""

    def __init__(self) -> None:
        self.account: list[IntArray] = []
        self.contact: list[IntArray] = []
        self.kind: list[IntArray] = []
        self.occurred: list[IntArray] = []
        self.subject: list[str] = []
        self.body: list[str] = []

    def add(
        self,
        account: IntArray,
        contact: IntArray,
        kind: int,
        occurred: IntArray,
        subject: list[str],
        body: list[str],
    ) -> None:
        self.account.append(account)
        self.contact.append(contact)
        self.kind.append(np.full(account.size, kind, np.int64))
        self.occurred.append(occurred)
        self.subject += subject
        self.body += body

    def build(self, now_us: int) -> Timeline:
        """Entries by account, then time (the order of the account's index)."""
        occurred = np.minimum(np.concatenate(self.occurred).astype(np.int64), now_us - 1)
        account = np.concatenate(self.account).astype(np.int64)
        order = np.lexsort((occurred, account))
        return Timeline(
            account=account[order],
            contact=np.concatenate(self.contact).astype(np.int64)[order],
            kind=np.concatenate(self.kind)[order],
            occurred_us=occurred[order],
            subject=[self.subject[i] for i in order.tolist()],
            body=[self.body[i] for i in order.tolist()],
        )


def build_timeline(
    config: Config, world: World, tickets: Tickets, rng: np.random.Generator
) -> Timeline:
    """Kickoffs, business reviews, calls, emails, notes, renewals, churn, champion changes."""
    acc = world.accounts
    con = world.contacts
    n = config.accounts
    lo, hi = _windows(config, world)
    entries = _Entries()
    champion = con.first
    sponsor = con.first + 1
    cname = con.names

    def at(day: IntArray, account: IntArray) -> IntArray:
        return day * US_PER_DAY + business_second(rng, acc.tz_hours[account]) * US_PER_SECOND

    def inside(day: IntArray, account: IntArray) -> BoolArray:
        return (day >= lo[account]) & (day < hi[account])

    def champion_on(day: IntArray, account: IntArray) -> IntArray:
        gone = con.leave_day[champion[account]] <= day
        other = np.where(
            con.replacement[account] >= 0, con.replacement[account], con.admin[account]
        )
        return np.where(gone, other, champion[account])

    everyone = np.arange(n)
    # Onboarding: welcome email, kickoff meeting, go-live note.
    welcome = everyone[inside(acc.created, everyone)]
    entries.add(
        welcome,
        champion[welcome],
        EMAIL,
        acc.created_us[welcome] + 2 * 3600 * US_PER_SECOND,
        ["Welcome to Boomerang"] * welcome.size,
        [
            f"Sent the welcome pack and onboarding checklist to {cname[c]}."
            for c in champion[welcome].tolist()
        ],
    )
    kickoff_day = acc.created + rng.integers(2, 10, n)
    kick = everyone[inside(kickoff_day, everyone)]
    goal = rng.integers(0, len(GOALS), n)
    weeks = np.clip(np.round(acc.onboarding_tau / 7.0) + 2, 2, 10).astype(np.int64)
    entries.add(
        kick,
        champion[kick],
        MEETING,
        at(kickoff_day[kick], kick),
        ["Onboarding kickoff"] * kick.size,
        [
            f"Kickoff with {cname[champion[a]]} and {cname[sponsor[a]]}: goal is "
            f"{GOALS[goal[a]]}; agreed success criteria and a {weeks[a]}-week onboarding plan."
            for a in kick.tolist()
        ],
    )
    live_day = acc.created + acc.onboarding_days
    golive = everyone[inside(live_day, everyone)]
    entries.add(
        golive,
        champion[golive],
        NOTE,
        at(live_day[golive], golive),
        ["Onboarding complete"] * golive.size,
        [
            f"{cname[champion[a]]} confirmed go-live; {con.count[a]} people invited, "
            f"moving to adoption."
            for a in golive.tolist()
        ],
    )

    # Business reviews: quarterly for enterprise, twice a year for mid-market.
    period = np.where(acc.tier == 2, 91, np.where(acc.tier == 1, 182, 0))
    has_reviews = period > 0
    per = np.maximum(period, 1)
    first_q = np.maximum(np.ceil((lo - acc.created) / per), 1).astype(np.int64)
    last_q = np.floor((hi - 1 - acc.created) / per).astype(np.int64)
    q_count = np.where(has_reviews & (hi > lo), np.maximum(last_q - first_q + 1, 0), 0)
    review_acc = np.repeat(everyone, q_count)
    q_start = np.concatenate([[0], np.cumsum(q_count)[:-1]])
    q = first_q[review_acc] + np.arange(review_acc.size) - np.repeat(q_start, q_count)
    review_day = acc.created[review_acc] + q * per[review_acc] + rng.integers(-7, 8, q.size)
    ok = inside(review_day, review_acc)
    review_acc, review_day = review_acc[ok], review_day[ok]
    review_text = {
        0: "Reviewed adoption and value delivered; {s} wants to roll out to another team.",
        1: "Reviewed usage, open tickets and objectives for next quarter; no blockers.",
        2: "Usage is down and {s} questioned the value; agreed a recovery plan.",
    }
    entries.add(
        review_acc,
        sponsor[review_acc],
        MEETING,
        at(review_day, review_acc),
        [
            "Quarterly business review" if acc.tier[a] == 2 else "Business review"
            for a in review_acc.tolist()
        ],
        [
            review_text[int(acc.trajectory[a])].format(s=cname[sponsor[a]])
            for a in review_acc.tolist()
        ],
    )

    # Calls, emails and notes at tier- and trajectory-driven rates.
    months = (hi - lo) / 30.44
    risk = np.array([0.9, 1.0, 1.6])[acc.trajectory]
    for kind, rates in (
        (CALL, (0.03, 0.25, 1.0)),
        (EMAIL, (0.08, 0.4, 1.2)),
        (NOTE, (0.05, 0.12, 0.35)),
    ):
        count = rng.poisson(np.array(rates)[acc.tier] * months * risk)
        who = np.repeat(everyone, count)
        day = lo[who] + np.floor(rng.random(who.size) * (hi - lo)[who]).astype(np.int64)
        contact = champion_on(day, who)
        pick = rng.integers(0, 1_000_000, who.size).tolist()
        if kind == CALL:
            subjects = [names.CALL_SUBJECTS[k % len(names.CALL_SUBJECTS)] for k in pick]
            bodies = [
                f"{s} with {cname[c]}." for s, c in zip(subjects, contact.tolist(), strict=True)
            ]
        elif kind == EMAIL:
            subjects = [names.EMAIL_SUBJECTS[k % len(names.EMAIL_SUBJECTS)] for k in pick]
            bodies = [
                f"Sent '{s}' to {cname[c]}."
                for s, c in zip(subjects, contact.tolist(), strict=True)
            ]
        else:
            mood = acc.trajectory[who]
            noisy = rng.random(who.size) < 0.2
            mood = np.where(noisy, rng.integers(0, 3, who.size), mood)
            pools = (names.NOTE_POSITIVE, names.NOTE_NEUTRAL, names.NOTE_RISK)
            subjects = [("Expansion", "Account note", "Risk")[m] for m in mood.tolist()]
            bodies = [pools[m][k % len(pools[m])] for m, k in zip(mood.tolist(), pick, strict=True)]
        entries.add(who, contact, kind, at(day, who), subjects, bodies)

    # Renewal decisions inside the history.
    ren = world.renewals
    ok = inside(ren.day, ren.account) | (
        (ren.outcome == CHURNED) & (ren.day >= config.start) & (ren.day <= config.end)
    )
    ra = ren.account[ok]
    occurred = np.where(ren.outcome[ok] == CHURNED, acc.churned_us[ra], at(ren.day[ok], ra))
    reason = acc.churn_reason[ra]
    subjects = []
    bodies = []
    for i, (a, o, before, after, sb, sa) in enumerate(
        zip(
            ra.tolist(),
            ren.outcome[ok].tolist(),
            ren.cents_before[ok].tolist(),
            ren.cents_after[ok].tolist(),
            ren.seats_before[ok].tolist(),
            ren.seats_after[ok].tolist(),
            strict=True,
        )
    ):
        cur = CURRENCIES[int(acc.currency[a])]
        if o == CHURNED:
            subjects.append("Churned")
            bodies.append(
                f"Did not renew ({CHURN_REASONS[reason[i]]}); {_money(before, cur)} ARR lost."
            )
            continue
        label = {EXPANDED: "Expanded", CONTRACTED: "Contracted"}.get(o, "Renewed")
        subjects.append(f"{label} at renewal")
        bodies.append(f"ARR {_money(before, cur)} -> {_money(after, cur)}; seats {sb} -> {sa}.")
    entries.add(ra, np.full(ra.size, -1), SYSTEM, occurred, subjects, bodies)

    # Champion departures and their replacements.
    left = np.flatnonzero(con.leave_day < NEVER)
    la = con.account[left]
    entries.add(
        la,
        left,
        NOTE,
        at(con.leave_day[left], la),
        ["Champion left"] * left.size,
        [
            f"{cname[c]} ({con.titles[c]}) has left {acc.names[a]}; find a new champion."
            for c, a in zip(left.tolist(), la.tolist(), strict=True)
        ],
    )
    replaced = np.flatnonzero(con.replacement >= 0)
    new_day = con.leave_day[champion[replaced]] + rng.integers(7, 31, replaced.size)
    ok = inside(new_day, replaced)
    replaced, new_day = replaced[ok], new_day[ok]
    entries.add(
        replaced,
        con.replacement[replaced],
        NOTE,
        at(new_day, replaced),
        ["New champion"] * replaced.size,
        [
            f"{cname[con.replacement[a]]} takes over as champion from {cname[champion[a]]}."
            for a in replaced.tolist()
        ],
    )

    # Severity 1 tickets escalate to the CSM.
    sev1 = np.flatnonzero(tickets.severity == 1)
    entries.add(
        tickets.account[sev1],
        tickets.contact[sev1],
        TICKET,
        tickets.opened_us[sev1] + 15 * 60 * US_PER_SECOND,
        [f"Escalation: {tickets.subject[i]}"[:300] for i in sev1.tolist()],
        [
            f"Severity 1 ticket from {cname[c]}; support engaged, CSM informed."
            for c in tickets.contact[sev1].tolist()
        ],
    )
    return entries.build((config.end + 1) * US_PER_DAY)
