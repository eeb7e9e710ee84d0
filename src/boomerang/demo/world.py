"""The latent demo company as numpy arrays: accounts, contract lines, renewals and people.

Every account draws a trajectory (positive / neutral / negative) and a continuous engagement;
both drive what can be observed later (usage, tickets, payments, renewal outcomes), with noise.
Nothing here touches a database: :mod:`boomerang.demo.rows` turns these arrays into rows and
:mod:`boomerang.demo.events` into usage events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from boomerang.demo import names
from boomerang.demo.days import (
    NEVER,
    US_PER_DAY,
    US_PER_SECOND,
    BoolArray,
    FloatArray,
    IntArray,
    add_months,
    day_number,
)

TRAJECTORIES = ("positive", "neutral", "negative")
TRAJECTORY_WEIGHTS = (0.35, 0.40, 0.25)
CHURN_REASONS = (
    "budget cuts",
    "moved to a competitor",
    "low adoption",
    "acquired by another company",
    "project ended",
    "champion left and nobody took over",
)
OUTCOMES = ("renewed", "expanded", "contracted", "churned")
RENEWED, EXPANDED, CONTRACTED, CHURNED = range(4)
# P(renewed, expanded, contracted, churned) at a renewal, by trajectory.
OUTCOME_P = np.array([[0.52, 0.40, 0.04, 0.04], [0.58, 0.15, 0.12, 0.15], [0.30, 0.05, 0.20, 0.45]])
TIERS = ("smb", "mid_market", "enterprise")
TIER_FLOORS_CENTS = (0, 20_000_00, 100_000_00)
CURRENCIES = ("USD", "EUR", "GBP")
SIGNUP_SOURCES = ("self_serve_trial", "sales", "partner", "event", "referral")
STATUSES = ("trial", "active", "cancelled", "ended")
TRIAL, ACTIVE, CANCELLED, ENDED = range(4)
STAGES = ("onboarding", "adoption", "performance", "transformation", "advocacy", "churned")
LINE_PLANS = (*names.PLANS, "Add-on", "Trial")
ADDON_SHARE = (0.18, 0.22, 0.10)
PREMIUM_SUPPORT_MIN_CENTS = 2_400_00
TRIAL_DAYS = 14
HISTORY_DAYS = 3 * 365
"""Accounts may have signed up to this many days before the first day of the history."""
LEGAL_FORMS_LONGEST_FIRST = tuple(
    sorted(set(names.LEGAL_FORMS.values()), key=lambda form: (-len(form), form))
)
POSITIONS = ("champion", "sponsor", "decision_maker", "admin")
"""Contacts 0-3 of every account hold these roles; the others are users."""


@dataclass(frozen=True)
class Config:
    """What to generate: ``accounts`` companies over ``[start, end]`` (day numbers)."""

    accounts: int
    months: int
    seed: int
    start: int
    end: int
    contact_cap: int
    """Most contacts per account."""
    activity: float
    """Multiplies how often users use the product (1 up to 1,000 accounts)."""
    volume: float
    """Multiplies the feature and page events per session (1 up to 1,000 accounts)."""

    @property
    def days(self) -> int:
        return self.end - self.start + 1

    @staticmethod
    def make(*, accounts: int, months: int, seed: int, end: date) -> Config:
        last = day_number(end)
        first = int(add_months(np.array([last], dtype=np.int64), -months)[0]) + 1
        # Above 1,000 accounts, fewer contacts per account, sparser use and thinner sessions,
        # so that 100k accounts stay in the tens of millions of events (scale 1 below 1,000).
        scale = min(1.0, 1000.0 / max(accounts, 1))
        cap = int(np.clip(round(40 * scale**0.4), 6, 40))
        activity = float(np.clip(scale**0.08, 0.65, 1.0))
        volume = float(np.clip(scale**0.4, 0.15, 1.0))
        return Config(accounts, months, seed, first, last, cap, activity, volume)


@dataclass
class Staff:
    ids: list[str]
    names: list[str]
    emails: list[str]
    roles: list[str]
    teams: list[str | None]
    csms_by_team: list[list[int]]
    """Indices of the CSMs of each team (Enterprise, Mid-Market, Scale)."""


@dataclass
class Accounts:
    """One entry per account (index = account number)."""

    ids: list[str]
    external_ids: list[str]
    trajectory: IntArray
    engagement: FloatArray
    region: IntArray
    tz_hours: FloatArray
    currency: IntArray
    created: IntArray
    created_us: IntArray
    trial: BoolArray
    paid_start: IntArray
    term_years: IntArray
    quarterly: BoolArray
    auto_renew: BoolArray
    signup_source: IntArray
    seats0: IntArray
    unit_cents: IntArray
    addons0: BoolArray
    onboarding_tau: FloatArray
    onboarding_days: IntArray
    late_payer: FloatArray
    # filled by the contract simulation
    renewal_days: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    outcomes: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    churn_day: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    churned_us: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    last_outcome: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    renewals: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    next_renewal: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    next_outcome: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    final_cents: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    first_cents: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    seats_max: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    final_plan: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    has_addon: BoolArray = field(default_factory=lambda: np.zeros((0, 3), np.bool_))
    churn_reason: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    # filled afterwards
    tier: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    stage: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    owner: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    parent: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    industry: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    employee_band: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)

    @property
    def churned(self) -> BoolArray:
        return self.churn_day < NEVER


@dataclass
class Lines:
    """Subscription lines (contract lines), one entry per row."""

    account: IntArray
    product: IntArray
    plan: IntArray
    cents: IntArray
    seats: IntArray
    start: IntArray
    end: IntArray
    renewal: IntArray
    status: IntArray
    auto_renew: BoolArray
    quarterly: BoolArray
    created_us: IntArray


@dataclass
class Renewals:
    """Renewal decisions that happened on or before the last day."""

    account: IntArray
    day: IntArray
    outcome: IntArray
    cents_before: IntArray
    cents_after: IntArray
    seats_before: IntArray
    seats_after: IntArray


@dataclass
class Contacts:
    """People at the customers; contact ``u`` belongs to account ``account[u]``."""

    ids: list[str]
    external_ids: list[str]
    account: IntArray
    position: IntArray
    names: list[str]
    emails: list[str]
    titles: list[str]
    join_day: IntArray
    join_us: IntArray
    leave_day: IntArray
    propensity: FloatArray
    first: IntArray
    """Index of the account's first contact, per account."""
    count: IntArray
    """Contacts per account."""
    replacement: IntArray
    """Per account: the contact who became champion after the first one left, or -1."""

    @property
    def admin(self) -> IntArray:
        """Per account: the contact that administers the product (never leaves)."""
        return self.first + np.where(self.count >= 4, 3, 0)


@dataclass
class World:
    config: Config
    staff: Staff
    accounts: Accounts
    lines: Lines
    renewals: Renewals
    contacts: Contacts


def hex_ids(rng: np.random.Generator, prefix: str, n: int) -> list[str]:
    """``n`` ids like ``acc_`` + 20 hex digits: a counter then random digits (like a ULID).

    Ordered ids make bulk inserts append to primary-key indexes instead of writing all over
    them (3-4 times faster on SQLite once the table outgrows the page cache).
    """
    text = rng.bytes(6 * n).hex()
    return [f"{prefix}_{i:08x}{text[12 * i : 12 * i + 12]}" for i in range(n)]


def _pick(rng: np.random.Generator, p: FloatArray) -> IntArray:
    """One category per row of the probability matrix ``p`` (rows sum to 1)."""
    u = rng.random(int(p.shape[0]))
    picked: IntArray = np.minimum((u[:, None] > np.cumsum(p, axis=1)).sum(axis=1), p.shape[1] - 1)
    return picked


def business_second(rng: np.random.Generator, tz_hours: FloatArray) -> IntArray:
    """A UTC second of the day during local business hours."""
    local = np.clip(rng.normal(11.5, 2.2, tz_hours.shape[0]), 8.0, 18.5)
    second: IntArray = ((((local - tz_hours) % 24.0) * 3600).astype(np.int64)).clip(0, 86_399)
    return second


def build_staff(config: Config, rng: np.random.Generator) -> Staff:
    """An admin, one or two managers, 6-10 CSMs in three teams and a viewer."""
    n_csm = int(np.clip(6 + round(1.75 * np.log10(max(config.accounts, 500) / 500)), 6, 10))
    n_enterprise = max(1, round(n_csm * 0.3))
    n_mid = max(1, round(n_csm * 0.33))
    n_managers = 1 if config.accounts < 5000 else 2
    count = 1 + n_managers + n_csm + 1
    pairs = rng.choice(len(names.FIRST_NAMES) * len(names.LAST_NAMES), count, replace=False)
    people = [
        (names.FIRST_NAMES[p // len(names.LAST_NAMES)], names.LAST_NAMES[p % len(names.LAST_NAMES)])
        for p in pairs.tolist()
    ]
    roles = ["admin"] + ["manager"] * n_managers + ["csm"] * n_csm + ["viewer"]
    teams: list[str | None] = [None] * (1 + n_managers)
    team_of_csm = [0] * n_enterprise + [1] * n_mid + [2] * (n_csm - n_enterprise - n_mid)
    teams += [names.STAFF_TEAMS[t] for t in team_of_csm] + [None]
    emails = ["admin@boomerang.demo"] + [
        f"{first.lower()}.{last.lower()}@boomerang.demo" for first, last in people[1:]
    ]
    csms_by_team: list[list[int]] = [[], [], []]
    for i, t in enumerate(team_of_csm):
        csms_by_team[t].append(1 + n_managers + i)
    return Staff(
        ids=hex_ids(rng, "usr", count),
        names=[f"{first} {last}" for first, last in people],
        emails=emails,
        roles=roles,
        teams=teams,
        csms_by_team=csms_by_team,
    )


def build_accounts(config: Config, rng: np.random.Generator) -> Accounts:
    """The latent and contractual starting point of every account."""
    n = config.accounts
    trajectory = rng.choice(3, size=n, p=TRAJECTORY_WEIGHTS).astype(np.int64)
    z = np.array([1.0, 0.0, -1.0])[trajectory] + rng.normal(0.0, 0.55, n)
    engagement = 1.0 / (1.0 + np.exp(-z))

    region = rng.choice(4, size=n, p=names.REGION_WEIGHTS).astype(np.int64)
    tz_hours = np.zeros(n)
    for r, offsets in enumerate(names.REGION_TZ_OFFSETS):
        mask = region == r
        tz_hours[mask] = rng.choice(np.array(offsets), size=int(mask.sum()))
    currency = np.zeros(n, np.int64)
    emea = region == 1
    currency[emea] = rng.choice(3, size=int(emea.sum()), p=[0.25, 0.45, 0.30])

    # Sign-ups grow 25% a year over the three years before the history and during it.
    span = HISTORY_DAYS + config.days
    growth = np.log(1.25) / 365.0
    offset = np.log1p(rng.random(n) * np.expm1(growth * span)) / growth
    created = config.start - HISTORY_DAYS + np.minimum(offset.astype(np.int64), span - 1)
    created_us = created * US_PER_DAY + business_second(rng, tz_hours) * US_PER_SECOND

    # First-year ARR: lognormal (a power-law-like long tail of big customers).
    arr0 = np.clip(rng.lognormal(np.log(10_000.0), 1.35, n), 1_800.0, 2_500_000.0)
    plan0 = np.searchsorted(np.array([20_000.0, 100_000.0]), arr0, side="right")
    list_price = np.array([360.0, 480.0, 600.0])[plan0]
    discount = rng.random(n) * np.array([0.10, 0.20, 0.35])[plan0]
    unit = np.round(list_price * (1.0 - discount)).astype(np.int64)
    seats0 = np.maximum(3, np.round(arr0 / unit)).astype(np.int64)

    trial_p = np.array([0.45, 0.15, 0.0])[plan0]
    trial = (rng.random(n) < trial_p) & (created + TRIAL_DAYS <= config.end)
    other_source = rng.choice(np.arange(1, len(SIGNUP_SOURCES)), size=n, p=[0.6, 0.15, 0.15, 0.10])
    signup_source = np.where(trial, 0, other_source).astype(np.int64)
    paid_start = created + np.where(trial, TRIAL_DAYS, 0)

    term_p = np.array([[0.95, 0.05, 0.0], [0.80, 0.15, 0.05], [0.55, 0.25, 0.20]])[plan0]
    term_years = _pick(rng, term_p) + 1
    quarterly = (plan0 > 0) & (rng.random(n) < 0.25)
    auto_renew = rng.random(n) < np.array([0.6, 0.3, 0.05])[plan0]
    addon_p = np.array([[0.10, 0.05, 0.0], [0.30, 0.20, 0.10], [0.50, 0.40, 0.60]])[plan0]
    addon_p = np.clip(addon_p + np.where(trajectory == 0, 0.05, 0.0)[:, None], 0.0, 1.0)
    addons0 = rng.random((n, 3)) < addon_p

    # Onboarding time constant (days): engaged customers ramp up fast.
    tau = (6.0 + 45.0 * (1.0 - engagement) ** 1.5) * rng.lognormal(0.0, 0.3, n)
    onboarding_days = np.clip(np.round(55.0 + 40.0 * (1.0 - engagement)), 60, 90).astype(np.int64)
    late_payer = np.clip(
        np.array([0.05, 0.12, 0.30])[trajectory] * rng.lognormal(0.0, 0.4, n), 0.0, 0.9
    )
    return Accounts(
        ids=hex_ids(rng, "acc", n),
        external_ids=[f"a-{i:06d}" for i in range(1, n + 1)],
        trajectory=trajectory,
        engagement=engagement,
        region=region,
        tz_hours=tz_hours,
        currency=currency,
        created=created,
        created_us=created_us,
        trial=trial,
        paid_start=paid_start,
        term_years=term_years,
        quarterly=quarterly,
        auto_renew=auto_renew,
        signup_source=signup_source,
        seats0=seats0,
        unit_cents=unit * 100,
        addons0=addons0,
        onboarding_tau=tau,
        onboarding_days=onboarding_days,
        late_payer=late_payer,
    )


def _addon_cents(core: IntArray, j: int) -> IntArray:
    cents = np.round(core * ADDON_SHARE[j] / 100.0).astype(np.int64) * 100
    if j == 2:
        cents = np.maximum(cents, PREMIUM_SUPPORT_MIN_CENTS)
    return cents


def _plan_of(core: IntArray) -> IntArray:
    return np.searchsorted(np.array([20_000_00, 100_000_00]), core, side="right").astype(np.int64)


def _outcome_probabilities(acc: Accounts) -> FloatArray:
    """Renewal outcome probabilities per account: by trajectory, nudged by engagement."""
    p = OUTCOME_P[acc.trajectory].copy()
    mean = 1.0 / (1.0 + np.exp(-np.array([1.0, 0.0, -1.0])))
    dev = acc.engagement - mean[acc.trajectory]
    p[:, EXPANDED] *= np.exp(2.0 * dev)
    p[:, CONTRACTED] *= np.exp(-1.5 * dev)
    p[:, CHURNED] *= np.exp(-3.0 * dev)
    normalised: FloatArray = p / p.sum(axis=1, keepdims=True)
    return normalised


def simulate_contracts(
    config: Config, acc: Accounts, rng: np.random.Generator
) -> tuple[Lines, Renewals]:
    """Walk every account's renewals (vectorised over accounts, one step per term).

    A renewal that happened on or before the last day ends every line of the term (status
    ``ended``; ``cancelled`` on churn or for a dropped add-on) and starts new ones; the
    current term's lines are ``active``. The outcome of the first renewal after the last day
    is drawn too: it is latent truth that usage already hints at.
    """
    n = config.accounts
    end = config.end
    k_max = int(np.ceil((end - int(acc.paid_start.min())) / 365.0)) + 2
    steps = np.arange(1, k_max + 1, dtype=np.int64)
    renewal_days = add_months(acc.paid_start[:, None], 12 * acc.term_years[:, None] * steps)
    p = _outcome_probabilities(acc)
    u = rng.random((n, k_max))
    outcomes = np.minimum((u[:, :, None] > np.cumsum(p, axis=1)[:, None, :]).sum(axis=2), 3)

    seats = acc.seats0.copy()
    unit = acc.unit_cents.copy()
    addons = acc.addons0.copy()
    alive = np.ones(n, np.bool_)
    term_start = acc.paid_start.copy()
    churn_day = np.full(n, NEVER, np.int64)
    last_outcome = np.full(n, -1, np.int64)
    renewals = np.zeros(n, np.int64)
    next_renewal = np.full(n, NEVER, np.int64)
    next_outcome = np.full(n, -1, np.int64)
    final_cents = np.zeros(n, np.int64)
    first_cents = np.zeros(n, np.int64)
    final_plan = np.zeros(n, np.int64)
    seats_max = seats.copy()
    has_addon = addons.copy()
    tod_us = acc.created_us - acc.created * US_PER_DAY

    parts: dict[str, list[IntArray]] = {k: [] for k in Lines.__dataclass_fields__}
    ren: dict[str, list[IntArray]] = {k: [] for k in Renewals.__dataclass_fields__}

    def emit(mask: BoolArray, **columns: IntArray) -> None:
        for key, values in columns.items():
            parts[key].append(np.broadcast_to(values, (n,))[mask])

    # Trials: a zero-ARR line before the paid contract starts.
    emit(
        acc.trial,
        account=np.arange(n),
        product=np.zeros(n, np.int64),
        plan=np.full(n, 4, np.int64),
        cents=np.zeros(n, np.int64),
        seats=np.minimum(acc.seats0, 10),
        start=acc.created,
        end=acc.paid_start,
        renewal=np.full(n, NEVER, np.int64),
        status=np.full(n, TRIAL, np.int64),
        auto_renew=np.zeros(n, np.int64),
        quarterly=np.zeros(n, np.int64),
        created_us=acc.created_us,
    )
    for k in range(k_max):
        exists = alive & (term_start <= end)
        if not exists.any():
            break
        term_end = renewal_days[:, k]
        realized = exists & (term_end <= end)
        outcome = outcomes[:, k]
        churn = realized & (outcome == CHURNED)

        new_seats = seats.copy()
        new_unit = unit.copy()
        new_addons = addons.copy()
        uplift = realized & (outcome == RENEWED) & (rng.random(n) < 0.5)
        raised = np.round(unit * (1.0 + rng.uniform(0.02, 0.07, n)) / 100.0).astype(np.int64)
        new_unit[uplift] = raised[uplift] * 100
        expand = realized & (outcome == EXPANDED)
        missing = ~addons
        pick_missing = np.argmax(np.where(missing, rng.random((n, 3)), -1.0), axis=1)
        add_addon = expand & missing.any(axis=1) & (rng.random(n) < 0.45)
        grow = expand & ~add_addon
        grown = np.ceil(seats * rng.uniform(1.1, 1.6, n)).astype(np.int64)
        new_seats[grow] = grown[grow]
        new_addons[add_addon, pick_missing[add_addon]] = True
        contract = realized & (outcome == CONTRACTED)
        shrunk = np.maximum(3, np.floor(seats * rng.uniform(0.55, 0.9, n))).astype(np.int64)
        new_seats[contract] = shrunk[contract]
        pick_owned = np.argmax(np.where(addons, rng.random((n, 3)), -1.0), axis=1)
        drop = contract & addons.any(axis=1) & (rng.random(n) < 0.35)
        new_addons[drop, pick_owned[drop]] = False

        status = np.where(~realized, ACTIVE, np.where(churn, CANCELLED, ENDED))
        line_end = np.where(realized, term_end, NEVER)
        line_renewal = term_end
        lead_days = np.where(k == 0, 0, rng.integers(0, 30, n))
        created_us = np.where(
            (k == 0) & ~acc.trial,
            acc.created_us,
            (term_start - lead_days) * US_PER_DAY + tod_us,
        )
        core = seats * unit
        plan = _plan_of(core)
        total = core.copy()
        common = {
            "account": np.arange(n),
            "end": line_end,
            "renewal": line_renewal,
            "start": term_start,
            "auto_renew": acc.auto_renew.astype(np.int64),
            "quarterly": acc.quarterly.astype(np.int64),
            "created_us": created_us,
        }
        emit(
            exists,
            product=np.zeros(n, np.int64),
            plan=plan,
            cents=core,
            seats=seats,
            status=status,
            **common,
        )
        for j in range(3):
            cents = _addon_cents(core, j)
            total += np.where(addons[:, j], cents, 0)
            dropped = realized & ~churn & ~new_addons[:, j]
            emit(
                exists & addons[:, j],
                product=np.full(n, j + 1, np.int64),
                plan=np.full(n, 3, np.int64),
                cents=cents,
                seats=seats if j < 2 else np.full(n, -1, np.int64),
                status=np.where(dropped, CANCELLED, status),
                **common,
            )
        after = new_seats * new_unit
        after_total = after.copy()
        for j in range(3):
            after_total += np.where(new_addons[:, j], _addon_cents(after, j), 0)
        after_total = np.where(churn, 0, after_total)
        for key, values in (
            ("account", np.arange(n)),
            ("day", term_end),
            ("outcome", outcome),
            ("cents_before", total),
            ("cents_after", after_total),
            ("seats_before", seats),
            ("seats_after", np.where(churn, 0, new_seats)),
        ):
            ren[key].append(values[realized])

        if k == 0:
            first_cents = total.copy()
        final_cents = np.where(exists, total, final_cents)
        final_plan = np.where(exists, plan, final_plan)
        churn_day = np.where(churn, term_end, churn_day)
        last_outcome = np.where(realized, outcome, last_outcome)
        renewals += realized
        upcoming = exists & ~realized
        next_renewal = np.where(upcoming, term_end, next_renewal)
        next_outcome = np.where(upcoming, outcome, next_outcome)
        keep = realized & ~churn
        seats = np.where(keep, new_seats, seats)
        unit = np.where(keep, new_unit, unit)
        addons = np.where(keep[:, None], new_addons, addons)
        has_addon |= addons & keep[:, None]
        seats_max = np.maximum(seats_max, seats)
        alive &= ~churn
        term_start = np.where(keep, term_end, NEVER)

    acc.renewal_days = renewal_days
    acc.outcomes = outcomes
    acc.churn_day = churn_day
    churn_second = business_second(rng, acc.tz_hours)
    acc.churned_us = np.where(
        churn_day < NEVER, churn_day * US_PER_DAY + churn_second * US_PER_SECOND, NEVER
    )
    acc.last_outcome = last_outcome
    acc.renewals = renewals
    acc.next_renewal = next_renewal
    acc.next_outcome = next_outcome
    acc.final_cents = final_cents
    acc.first_cents = first_cents
    acc.final_plan = final_plan
    acc.seats_max = seats_max
    acc.has_addon = has_addon

    def cat(items: list[IntArray]) -> IntArray:
        return np.concatenate(items).astype(np.int64)

    lines = Lines(
        account=cat(parts["account"]),
        product=cat(parts["product"]),
        plan=cat(parts["plan"]),
        cents=cat(parts["cents"]),
        seats=cat(parts["seats"]),
        start=cat(parts["start"]),
        end=cat(parts["end"]),
        renewal=cat(parts["renewal"]),
        status=cat(parts["status"]),
        auto_renew=cat(parts["auto_renew"]).astype(np.bool_),
        quarterly=cat(parts["quarterly"]).astype(np.bool_),
        created_us=cat(parts["created_us"]),
    )
    order = np.lexsort((lines.product, lines.start, lines.account))
    lines = Lines(**{k: getattr(lines, k)[order] for k in Lines.__dataclass_fields__})
    renewal_rows = Renewals(**{k: cat(v) for k, v in ren.items()})
    return lines, renewal_rows


def classify(config: Config, acc: Accounts, staff: Staff, rng: np.random.Generator) -> None:
    """Tier (by ARR), owner (a CSM of the tier's team), journey stage and industry band."""
    n = config.accounts
    acc.tier = (
        np.searchsorted(np.array(TIER_FLOORS_CENTS[1:]), acc.final_cents, side="right")
    ).astype(np.int64)
    team = 2 - acc.tier  # enterprise -> Enterprise team (0), smb -> Scale team (2)
    owner = np.zeros(n, np.int64)
    for t, members in enumerate(staff.csms_by_team):
        mask = team == t
        owner[mask] = np.array(members)[rng.integers(0, len(members), int(mask.sum()))]
    acc.owner = owner

    tenure = (config.end - acc.created) / 365.0
    score = tenure + np.array([0.9, 0.2, -0.6])[acc.trajectory] + rng.normal(0.0, 0.35, n)
    stage = 1 + np.searchsorted(np.array([0.8, 1.8, 2.6]), score, side="right")
    stage = np.where(acc.trajectory == 2, np.minimum(stage, 2), stage)
    onboarding = (config.end - acc.created) < acc.onboarding_days
    stage = np.where(onboarding, 0, stage)
    acc.stage = np.where(acc.churned, 5, stage).astype(np.int64)

    employees = acc.seats_max * rng.lognormal(np.log(4.0), 0.6, n)
    bands = ("1-50", "51-200", "201-1000", "1001-5000", "5001+")
    band = np.searchsorted(np.array([50.0, 200.0, 1000.0, 5000.0]), employees, side="right")
    acc.employee_band = [bands[b] for b in band.tolist()]


def name_accounts(config: Config, acc: Accounts, rng: np.random.Generator) -> None:
    """Unique company names and domains, industries, and a few subsidiaries of enterprises."""
    n = config.accounts
    n_pre, n_core, n_suf = (
        len(names.COMPANY_PREFIXES),
        len(names.COMPANY_CORES),
        len(names.COMPANY_SUFFIXES),
    )
    combos = rng.choice(n_pre * n_core * n_suf, n, replace=False)
    pre, rest = np.divmod(combos, n_core * n_suf)
    core, suf = np.divmod(rest, n_suf)
    tld_index = np.zeros(n, np.int64)
    for r, tlds in enumerate(names.REGION_TLDS):
        mask = acc.region == r
        weights = np.array([w for _, w in tlds])
        tld_index[mask] = rng.choice(len(tlds), size=int(mask.sum()), p=weights / weights.sum())
    legal = rng.random(n) < 0.12
    industry = rng.choice(len(names.INDUSTRIES), n)
    suffix_industry = [
        names.INDUSTRIES.index(ind) if ind else -1 for _, ind in names.COMPANY_SUFFIXES
    ]
    from_suffix = np.array(suffix_industry)[suf]
    acc.industry = np.where(from_suffix >= 0, from_suffix, industry).astype(np.int64)

    company_names: list[str] = []
    domains: list[str] = []
    for p, c, s, r, t, lg in zip(
        pre.tolist(),
        core.tolist(),
        suf.tolist(),
        acc.region.tolist(),
        tld_index.tolist(),
        legal.tolist(),
        strict=True,
    ):
        prefix, word = names.COMPANY_PREFIXES[p], names.COMPANY_CORES[c]
        suffix = names.COMPANY_SUFFIXES[s][0]
        # Pairs whose letters flow read as one word ("Brightwave"), others as two.
        base = f"{prefix}{word.lower()}" if (p + c) % 3 else f"{prefix} {word}"
        tld = names.REGION_TLDS[r][t][0]
        form = names.LEGAL_FORMS.get(tld, "") if lg else ""
        company_names.append(f"{base} {suffix}{form}")
        domains.append(f"{base}{suffix}".replace(" ", "").lower() + tld)

    # Subsidiaries: about 3% of accounts belong to an enterprise parent of the same currency.
    parent = np.full(n, -1, np.int64)
    enterprises = np.flatnonzero(acc.tier == 2)
    if enterprises.size:
        parents = rng.choice(enterprises, size=max(1, round(enterprises.size * 0.3)), replace=False)
        candidates = np.flatnonzero(acc.tier < 2)
        count = min(round(0.03 * n), candidates.size, parents.size * 4)
        children = rng.choice(candidates, size=count, replace=False) if count else candidates[:0]
        owners = rng.choice(parents, size=children.size)
        per_parent: dict[int, int] = {}
        for child, owner in zip(children.tolist(), owners.tolist(), strict=True):
            parent[child] = owner
            rank = per_parent.get(owner, 0)
            per_parent[owner] = rank + 1
            region = int(acc.region[child])
            options = names.SUBSIDIARY_NAMES[region]
            label = options[rank % len(options)]
            if rank >= len(options):
                label = f"{label} {rank // len(options) + 1}"
            root = company_names[owner]
            for form in LEGAL_FORMS_LONGEST_FIRST:
                root = root.removesuffix(form)
            company_names[child] = f"{root} {label}"
            slug = "".join(ch for ch in label.lower() if ch.isalnum())
            domains[child] = f"{slug}.{domains[owner]}"
            acc.currency[child] = acc.currency[owner]
            acc.industry[child] = acc.industry[owner]
    acc.parent = parent
    acc.names = company_names
    acc.domains = domains


def build_contacts(config: Config, acc: Accounts, rng: np.random.Generator) -> Contacts:
    """3 to ``contact_cap`` people per account, scaling with seats, with roles and history."""
    n = config.accounts
    count = np.clip(np.round(1.4 * acc.seats_max**0.7), 3, config.contact_cap).astype(np.int64)
    total = int(count.sum())
    first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    account = np.repeat(np.arange(n, dtype=np.int64), count)
    position = np.arange(total, dtype=np.int64) - first[account]

    last_day = np.minimum(config.end, acc.churn_day - 1)
    last_day = np.maximum(last_day, acc.created)[account]
    created = acc.created[account]
    tau = acc.onboarding_tau[account]
    join = np.where(
        position == 0,
        created,
        np.where(
            position < 4,
            created + rng.integers(0, 6, total),
            created + np.floor(rng.exponential(1.3, total) * tau).astype(np.int64),
        ),
    )
    later_hire = (position >= 4) & (rng.random(total) < 0.15)
    hire_day = created + np.floor(rng.random(total) * (last_day - created + 1)).astype(np.int64)
    join = np.where(later_hire, hire_day, join)
    join = np.clip(join, created, last_day)
    second = business_second(rng, acc.tz_hours[account])
    join_us = join * US_PER_DAY + second * US_PER_SECOND
    # The account's creator joins with the account; others the same day join just after.
    creator_us = acc.created_us[account]
    join_us = np.where(position == 0, creator_us + US_PER_SECOND, join_us)
    same_day = (join == created) & (join_us <= creator_us + US_PER_SECOND)
    day_end = (join + 1) * US_PER_DAY - US_PER_SECOND
    join_us = np.where(
        same_day, np.minimum(creator_us + (position + 2) * US_PER_SECOND, day_end), join_us
    )

    # Champion departures (more likely for negative accounts), sometimes a replacement.
    leave = np.full(total, NEVER, np.int64)
    lo = np.maximum(config.start, acc.created + 90)
    hi = np.minimum(config.end, acc.churn_day - 1)
    window = np.maximum(hi - lo + 1, 0)
    p_leave = np.array([0.08, 0.15, 0.35])[acc.trajectory] * window / config.days
    leaves = (count >= 4) & (window > 0) & (rng.random(n) < p_leave)
    leave_day = lo + np.floor(rng.random(n) * np.maximum(window, 1)).astype(np.int64)
    leave[first[leaves]] = leave_day[leaves]
    replaced = leaves & (count >= 6) & (rng.random(n) < np.array([0.8, 0.6, 0.4])[acc.trajectory])
    replacement = np.where(replaced, first + 5, -1)

    factor = np.array([1.6, 0.35, 0.3, 1.2, 1.0])[np.minimum(position, 4)]
    propensity = np.clip(rng.beta(2.0, 2.5, total) * factor, 0.02, 1.6)

    n_first, n_last = len(names.FIRST_NAMES), len(names.LAST_NAMES)
    first_name = rng.integers(0, n_first, total)
    last_name = rng.integers(0, n_last, total)
    pattern = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])[account]
    key = (account * n_first + first_name) * n_last + last_name
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    group_start = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    run = np.repeat(group_start, np.diff(np.r_[group_start, total]))
    duplicate = np.empty(total, np.int64)
    duplicate[order] = np.arange(total) - run

    title_index = rng.integers(0, 1_000_000, total)
    title_lists = (
        names.CHAMPION_TITLES,
        names.SPONSOR_TITLES,
        names.DECISION_MAKER_TITLES,
        names.ADMIN_TITLES,
        names.USER_TITLES,
    )
    full_names: list[str] = []
    emails: list[str] = []
    titles: list[str] = []
    domains = acc.domains
    for a, pos, f, la, pat, dup, ti in zip(
        account.tolist(),
        position.tolist(),
        first_name.tolist(),
        last_name.tolist(),
        pattern.tolist(),
        duplicate.tolist(),
        title_index.tolist(),
        strict=True,
    ):
        given, family = names.FIRST_NAMES[f], names.LAST_NAMES[la]
        full_names.append(f"{given} {family}")
        g, fam = given.lower(), family.lower()
        local = f"{g}.{fam}" if pat == 0 else (f"{g[0]}{fam}" if pat == 1 else f"{g}_{fam}")
        if dup:
            local += str(dup + 1)
        emails.append(f"{local}@{domains[a]}")
        options = title_lists[min(pos, 4)]
        titles.append(options[ti % len(options)])

    return Contacts(
        ids=hex_ids(rng, "con", total),
        external_ids=[f"u-{i:06d}" for i in range(1, total + 1)],
        account=account,
        position=position,
        names=full_names,
        emails=emails,
        titles=titles,
        join_day=join,
        join_us=join_us,
        leave_day=leave,
        propensity=propensity,
        first=first,
        count=count,
        replacement=replacement,
    )


def build_world(config: Config, rng: np.random.Generator) -> World:
    """The whole latent company, deterministic for ``rng``'s seed."""
    streams = rng.spawn(7)  # spawned by index: adding a stream leaves the others as they were
    staff = build_staff(config, streams[0])
    acc = build_accounts(config, streams[1])
    lines, renewals = simulate_contracts(config, acc, streams[2])
    classify(config, acc, staff, streams[3])
    name_accounts(config, acc, streams[4])
    contacts = build_contacts(config, acc, streams[5])
    # Why each churned account left (index into CHURN_REASONS); low engagement makes
    # "low adoption" likelier.
    low = acc.engagement < np.median(acc.engagement)
    weights = np.where(low[:, None], [1, 1, 3, 0.5, 1, 1.5], [1.5, 1.5, 0.5, 1, 1, 1])
    draw = streams[6].random(len(acc.ids))[:, None]
    acc.churn_reason = (draw > np.cumsum(weights / weights.sum(1, keepdims=True), 1)).sum(1)
    return World(config, staff, acc, lines, renewals, contacts)
