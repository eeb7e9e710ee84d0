"""Product usage events for the demo company, generated with numpy one day at a time.

Each day, every contact who could use the product is active with a probability that follows
the account's latent engagement, onboarding ramp, trend, the run-up to its next renewal (usage
fades before a churn), the user's own propensity and the weekday. Active users produce a
session: "Signed In", feature events among the features the account has adopted, and pages.
Lifecycle events (Segment B2B spec) mark account creation, trials, invites and deletion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from boomerang.demo import names
from boomerang.demo.days import NEVER, US_PER_DAY, US_PER_SECOND, FloatArray, IntArray, weekday
from boomerang.demo.world import (
    CHURNED,
    CONTRACTED,
    EXPANDED,
    RENEWED,
    SIGNUP_SOURCES,
    TRIAL_DAYS,
    World,
)
from boomerang.events.schema import EVENT_SCHEMA
from boomerang.events.store import EventStore

TRACK_EVENTS = (
    "Signed In",
    *names.FEATURE_EVENTS,
    "Account Created",
    "Trial Started",
    "Trial Ended",
    "Invite Sent",
    "Account Deleted",
)
SIGNED_IN = 0
FEATURE0 = 1
ACCOUNT_CREATED, TRIAL_STARTED, TRIAL_ENDED, INVITE_SENT, ACCOUNT_DELETED = range(
    1 + len(names.FEATURE_EVENTS), len(TRACK_EVENTS)
)
TYPES = ("identify", "group", "track", "page")
IDENTIFY, GROUP, TRACK, PAGE = range(4)
FEATURE_POPULARITY = np.array([0.37, 0.21, 0.17, 0.12, 0.10, 0.02])
# Adoption odds (logit at average engagement) of each feature; Dashboard Viewed is universal.
FEATURE_ODDS = np.array([np.inf, 1.5, 1.0, 0.4, -0.4, -0.9])
WEEKDAY_FACTOR = np.array([1.0, 1.0, 0.97, 0.93, 0.82, 0.08, 0.05])
BROWSER_CONTEXTS = tuple(
    '{"library":{"name":"analytics.js","version":"5.2.1"},'
    f'"locale":"{locale}","userAgent":"{agent}"}}'
    for locale in ("en-US", "en-GB", "de-DE", "ja-JP", "pt-BR")
    for agent in ("Chrome/131.0", "Safari/18.1", "Edge/131.0", "Firefox/133.0")
)
SERVER_CONTEXT = '{"library":{"name":"analytics-python","version":"2.3.3"}}'
REGION_LOCALES = ((0,), (0, 1, 2), (0, 3), (4, 0))
FLUSH_ROWS = 400_000


def _json_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


@dataclass
class _Prepared:
    """Per-account and per-user arrays, relative to the first day of the history."""

    created: IntArray
    live_to: IntArray
    coverage: FloatArray
    intensity: FloatArray
    slope: FloatArray
    tau: FloatArray
    renewals: IntArray
    outcomes: IntArray
    trajectory: IntArray
    feature_day: IntArray
    feature_rate: FloatArray
    login: IntArray
    tz_hours: FloatArray
    user_account: IntArray
    user_join: IntArray
    user_leave: IntArray
    user_weight: FloatArray
    user_threshold: FloatArray
    user_context: IntArray


class _Dictionaries:
    """Every constant string column value, as Arrow arrays to ``take`` from."""

    def __init__(self, world: World) -> None:
        acc = world.accounts
        con = world.contacts
        self.types = pa.array(TYPES)
        self.events = pa.array(TRACK_EVENTS)
        self.pages = pa.array(names.PAGES)
        props = list(names.LOGIN_METHODS)
        self.feature_offset = []
        self.feature_variants = []
        for variants in names.FEATURE_PROPERTIES:
            self.feature_offset.append(len(props))
            self.feature_variants.append(len(variants))
            props += variants
        self.page_offset = len(props)
        props += [f'{{"path":"/{page.lower()}","title":"{page}"}}' for page in names.PAGES]
        self.created_offset = len(props)
        props += [
            f'{{"plan":"{plan}","signup_source":"{source}"}}'
            for plan in names.PLANS
            for source in SIGNUP_SOURCES
        ]
        self.trial_started = len(props)
        props.append('{"trial_days":14}')
        self.trial_ended = len(props)
        props.append('{"trial_days":14,"converted":true}')
        self.deleted = len(props)
        props.append('{"reason":"contract not renewed"}')
        self.props = pa.array(props)
        self.contexts = pa.array([*BROWSER_CONTEXTS, SERVER_CONTEXT])
        self.server_context = len(BROWSER_CONTEXTS)
        self.accounts = pa.array(acc.external_ids)
        self.users = pa.array(con.external_ids)
        bands = acc.employee_band
        self.group_traits = pa.array(
            [
                f'{{"name":"{_json_escape(n)}","industry":"{names.INDUSTRIES[i]}",'
                f'"employees":"{b}","plan":"{names.PLANS[p]}"}}'
                for n, i, b, p in zip(
                    acc.names, acc.industry.tolist(), bands, acc.final_plan.tolist(), strict=True
                )
            ]
        )
        self.emails = con.emails
        self.names = con.names
        self.titles = con.titles


def _prepare(world: World, rng: np.random.Generator) -> _Prepared:
    config = world.config
    acc = world.accounts
    con = world.contacts
    n = config.accounts
    start = config.start
    e = acc.engagement
    # Coverage: the share of the account's people who use the product at all; intensity:
    # how often such a user comes back.
    coverage = (0.25 + 0.7 * e) * rng.lognormal(0.0, 0.15, n)
    intensity = (0.25 + 0.6 * e) * rng.lognormal(0.0, 0.1, n)
    slope = np.array([0.12, 0.0, -0.2])[acc.trajectory] + rng.normal(0.0, 0.08, n)
    odds = FEATURE_ODDS[None, :] + 4.0 * (e[:, None] - 0.5)
    odds[:, 1] += 1.0 * acc.has_addon[:, 0]
    odds[:, 4] += 1.5 * acc.has_addon[:, 1]
    adopt = rng.random((n, 6)) < 1.0 / (1.0 + np.exp(-odds))
    delay = rng.exponential(1.0, (n, 6)) * acc.onboarding_tau[:, None] * (1 + np.arange(6))
    feature_day = np.where(adopt, acc.created[:, None] + delay.astype(np.int64), NEVER)
    feature_day[:, 0] = acc.created
    locale = np.zeros(con.account.size, np.int64)
    region = acc.region[con.account]
    for r, options in enumerate(REGION_LOCALES):
        mask = region == r
        locale[mask] = np.array(options)[rng.integers(0, len(options), int(mask.sum()))]
    agent = rng.choice(4, size=con.account.size, p=[0.62, 0.18, 0.12, 0.08])
    churn = np.minimum(acc.churn_day, NEVER)
    return _Prepared(
        created=acc.created - start,
        live_to=churn - start,
        coverage=coverage,
        intensity=intensity,
        slope=slope,
        tau=acc.onboarding_tau,
        renewals=acc.renewal_days - start,
        outcomes=acc.outcomes,
        trajectory=acc.trajectory,
        feature_day=feature_day - start,
        feature_rate=2.0 + 6.0 * e,
        login=rng.choice(3, size=n, p=[0.5, 0.35, 0.15]),
        tz_hours=acc.tz_hours,
        user_account=con.account,
        user_join=con.join_day - start,
        user_leave=np.minimum(con.leave_day, churn[con.account]) - start,
        user_weight=con.propensity,
        # Champions and admins are the first to use the product and the last to stop.
        user_threshold=rng.random(con.account.size)
        * np.where((con.position == 0) | (con.position == 3), 0.1, 1.0),
        user_context=locale * 4 + agent,
    )


def _renewal_factor(days_left: IntArray, outcome: IntArray, trajectory: IntArray) -> FloatArray:
    """Usage relative to normal in the run-up to a renewal with this (latent) outcome."""

    def near(span: float) -> FloatArray:
        """1 far from the renewal, falling to 0 over the last ``span`` days (bar 15)."""
        return np.clip((days_left - 15) / span, 0.0, 1.0)

    return np.select(
        [
            outcome == CHURNED,
            outcome == CONTRACTED,
            (outcome == RENEWED) & (trajectory == 2),
            outcome == EXPANDED,
        ],
        [
            0.2 + 0.8 * near(165.0),
            0.55 + 0.45 * near(135.0),
            0.8 + 0.2 * near(120.0),
            1.0 + 0.25 * (1.0 - near(150.0)),
        ],
        1.0,
    )


def _season(day: int) -> float:
    month_day = np.datetime64(day, "D").astype(object)
    if (month_day.month == 12 and month_day.day >= 23) or (
        month_day.month == 1 and month_day.day <= 2
    ):
        return 0.45
    return 0.9 if month_day.month == 8 else 1.0


class _Chunk:
    """Column pieces of the events generated since the last flush."""

    def __init__(self) -> None:
        self.pieces: list[dict[str, pa.Array]] = []
        self.rows = 0

    def add(self, **columns: pa.Array) -> None:
        size = len(columns["timestamp"])
        if size:
            self.pieces.append(columns)
            self.rows += size


def generate_events(
    world: World,
    store: EventStore,
    rng: np.random.Generator,
    *,
    on_day: Callable[[int], None] | None = None,
) -> int:
    """Append the whole history's events to ``store``, one append per chunk of days."""
    config = world.config
    acc = world.accounts
    con = world.contacts
    prep = _prepare(world, rng)
    dic = _Dictionaries(world)
    n = config.accounts
    everyone = np.arange(n)
    next_renewal = (prep.renewals < 0).sum(axis=1)
    popularity = np.cumsum(FEATURE_POPULARITY)
    prefix = f"demo-{config.seed}-"
    counter = 0
    written = 0
    chunk = _Chunk()

    # Lifecycle moments, sorted by day so that each day takes a slice.
    created_rel = prep.created
    new_accounts = np.flatnonzero((created_rel >= 0) & (created_rel < config.days))
    new_accounts = new_accounts[np.argsort(created_rel[new_accounts], kind="stable")]
    trial_end_rel = acc.paid_start - config.start
    trials = np.flatnonzero(acc.trial & (trial_end_rel >= 0) & (trial_end_rel < config.days))
    trials = trials[np.argsort(trial_end_rel[trials], kind="stable")]
    churn_rel = prep.live_to
    churns = np.flatnonzero((churn_rel >= 0) & (churn_rel < config.days))
    churns = churns[np.argsort(churn_rel[churns], kind="stable")]
    joins = np.flatnonzero((prep.user_join >= 0) & (prep.user_join < config.days))
    joins = joins[np.argsort(prep.user_join[joins], kind="stable")]
    join_traits = pc.binary_join_element_wise(
        '{"email":"',
        pa.array([_json_escape(con.emails[u]) for u in joins.tolist()], pa.string()),
        '","name":"',
        pa.array([_json_escape(con.names[u]) for u in joins.tolist()], pa.string()),
        '","title":"',
        pa.array([_json_escape(con.titles[u]) for u in joins.tolist()], pa.string()),
        '"}',
        "",
    )
    invite_props = pc.binary_join_element_wise(
        '{"invitee_email":"',
        pa.array([_json_escape(con.emails[u]) for u in joins.tolist()], pa.string()),
        '","invitee_role":"user"}',
        "",
    )
    bounds = {
        "new": np.searchsorted(created_rel[new_accounts], np.arange(config.days + 1)),
        "trial": np.searchsorted(trial_end_rel[trials], np.arange(config.days + 1)),
        "churn": np.searchsorted(churn_rel[churns], np.arange(config.days + 1)),
        "join": np.searchsorted(prep.user_join[joins], np.arange(config.days + 1)),
    }
    first_plan = np.searchsorted(np.array([20_000_00, 100_000_00]), acc.first_cents, side="right")

    def flush() -> None:
        nonlocal counter, written, chunk
        if not chunk.rows:
            return
        columns = {
            key: pa.concat_arrays([piece[key] for piece in chunk.pieces]) for key in chunk.pieces[0]
        }
        ids = pa.array(np.arange(counter, counter + chunk.rows, dtype=np.int64))
        counter += chunk.rows
        message_id = pc.binary_join_element_wise(
            prefix, pc.utf8_lpad(pc.cast(ids, pa.string()), 10, "0"), ""
        )
        table = pa.Table.from_arrays(
            [
                message_id,
                columns["type"],
                columns["event"],
                columns["name"],
                columns["user_id"],
                pa.nulls(chunk.rows, pa.string()),
                columns["group_id"],
                columns["timestamp"],
                columns["received_at"],
                columns["properties"],
                columns["context"],
                pa.nulls(chunk.rows, pa.string()),
                pa.nulls(chunk.rows, pa.string()),
                pa.nulls(chunk.rows, pa.string()),
                pa.nulls(chunk.rows, pa.timestamp("us", tz="UTC")),
                pa.nulls(chunk.rows, pa.timestamp("us", tz="UTC")),
            ],
            schema=EVENT_SCHEMA,
        )
        written += store.append(table)
        chunk = _Chunk()

    def add(
        *,
        kind: IntArray,
        event: IntArray,
        page: IntArray,
        user: IntArray,
        account: IntArray,
        ts: IntArray,
        props: pa.Array,
        context: IntArray,
    ) -> None:
        size = ts.size
        if not size:
            return
        latency = rng.integers(20_000, 1_500_000, size)
        chunk.add(
            type=dic.types.take(pa.array(kind)),
            event=dic.events.take(pa.array(event, mask=event < 0)),
            name=dic.pages.take(pa.array(page, mask=page < 0)),
            user_id=dic.users.take(pa.array(user)),
            group_id=dic.accounts.take(pa.array(account)),
            timestamp=pa.array(ts, pa.timestamp("us", tz="UTC")),
            received_at=pa.array(ts + latency, pa.timestamp("us", tz="UTC")),
            properties=props,
            context=dic.contexts.take(pa.array(context)),
        )

    for t in range(config.days):
        day = config.start + t
        day_us = day * US_PER_DAY

        # Account-level activity factor.
        advance = prep.renewals[everyone, next_renewal] <= t
        next_renewal += advance
        days_left = prep.renewals[everyone, next_renewal] - t
        outcome = prep.outcomes[everyone, next_renewal]
        age = t - prep.created
        live = (age >= 0) & (t < prep.live_to)
        ramp = 1.0 - np.exp(-(np.maximum(age, 0) + 1) / prep.tau)
        trend = np.clip(1.0 + prep.slope * (t - config.days / 2) / 365.0, 0.3, 1.6)
        coverage = np.where(
            live,
            prep.coverage * ramp * trend * _renewal_factor(days_left, outcome, prep.trajectory),
            0.0,
        )
        intensity = prep.intensity * config.activity * WEEKDAY_FACTOR[weekday(day)] * _season(day)

        # Active users and their sessions.
        user_account = prep.user_account
        p = intensity[user_account] * prep.user_weight
        p[
            (prep.user_threshold >= coverage[user_account])
            | (t <= prep.user_join)
            | (t >= prep.user_leave)
        ] = 0.0
        users = np.flatnonzero(rng.random(p.size) < p)
        account = prep.user_account[users]
        weight = prep.user_weight[users]
        n_features = rng.poisson(prep.feature_rate[account] * weight * config.volume)
        n_pages = rng.poisson(1.2 * config.volume, users.size)
        per_user = 1 + n_features + n_pages
        total = int(per_user.sum())
        owner = np.repeat(np.arange(users.size), per_user)
        first = np.cumsum(per_user) - per_user
        position = np.arange(total) - first[owner]
        event_account = account[owner]
        is_feature = (position >= 1) & (position <= n_features[owner])
        is_page = position > n_features[owner]
        feature = np.searchsorted(popularity, rng.random(total) * popularity[-1], side="right")
        feature = np.minimum(feature, 5)
        adopted = prep.feature_day[event_account, feature] <= t
        feature = np.where(adopted, feature, 0)
        variant = rng.integers(0, 1_000, total)
        page = rng.integers(0, len(names.PAGES), total)
        event = np.where(is_page, -1, np.where(is_feature, FEATURE0 + feature, SIGNED_IN))
        offsets = np.array(dic.feature_offset)[feature]
        counts = np.array(dic.feature_variants)[feature]
        prop = np.where(
            is_page,
            dic.page_offset + page,
            np.where(is_feature, offsets + variant % counts, prep.login[event_account]),
        )
        local_start = np.clip(rng.normal(11.0, 2.5, users.size), 6.5, 21.0)
        start_second = ((local_start - prep.tz_hours[account]) % 24.0) * 3600.0
        gaps = rng.exponential(150.0, total)
        gaps[position == 0] = 0.0
        elapsed = np.cumsum(gaps)
        elapsed -= elapsed[first][owner]
        second = np.minimum(start_second[owner] + elapsed, 86_399.999)
        ts = day_us + (second * US_PER_SECOND).astype(np.int64)
        add(
            kind=np.where(is_page, PAGE, TRACK),
            event=event,
            page=np.where(is_page, page, -1),
            user=users[owner],
            account=event_account,
            ts=ts,
            props=dic.props.take(pa.array(prop)),
            context=prep.user_context[users][owner],
        )

        # Lifecycle: new accounts (created, group, trial started), joins, trial ends, churn.
        new = new_accounts[bounds["new"][t] : bounds["new"][t + 1]]
        if new.size:
            creator = con.first[new]
            created_us = acc.created_us[new]
            server = np.full(new.size, dic.server_context)
            none = np.full(new.size, -1)
            add(
                kind=np.full(new.size, TRACK),
                event=np.full(new.size, ACCOUNT_CREATED),
                page=none,
                user=creator,
                account=new,
                ts=created_us,
                props=dic.props.take(
                    pa.array(
                        dic.created_offset
                        + first_plan[new] * len(SIGNUP_SOURCES)
                        + acc.signup_source[new]
                    )
                ),
                context=server,
            )
            add(
                kind=np.full(new.size, GROUP),
                event=none,
                page=none,
                user=creator,
                account=new,
                ts=created_us + 2 * US_PER_SECOND,
                props=dic.group_traits.take(pa.array(new)),
                context=server,
            )
            trial = new[acc.trial[new]]
            add(
                kind=np.full(trial.size, TRACK),
                event=np.full(trial.size, TRIAL_STARTED),
                page=np.full(trial.size, -1),
                user=con.first[trial],
                account=trial,
                ts=acc.created_us[trial] + 3 * US_PER_SECOND,
                props=dic.props.take(pa.array(np.full(trial.size, dic.trial_started))),
                context=np.full(trial.size, dic.server_context),
            )
        lo, hi = bounds["join"][t], bounds["join"][t + 1]
        if hi > lo:
            joined = joins[lo:hi]
            account = con.account[joined]
            add(
                kind=np.full(joined.size, IDENTIFY),
                event=np.full(joined.size, -1),
                page=np.full(joined.size, -1),
                user=joined,
                account=account,
                ts=con.join_us[joined],
                props=join_traits.slice(lo, hi - lo),
                context=prep.user_context[joined],
            )
            invited = con.position[joined] > 0
            champion = con.first[account]
            champion_gone = con.leave_day[champion] <= day
            inviter = np.where(champion_gone, con.admin[account], champion)
            lag = rng.integers(60 * US_PER_SECOND, 2 * 3600 * US_PER_SECOND, joined.size)
            # Sent earlier the same day (never before the inviter joined), or at the join.
            invite_ts = np.maximum(
                con.join_us[joined] - lag, con.join_us[inviter] + US_PER_SECOND // 2
            )
            invite_ts = np.minimum(np.maximum(invite_ts, day_us), con.join_us[joined])
            add(
                kind=np.full(int(invited.sum()), TRACK),
                event=np.full(int(invited.sum()), INVITE_SENT),
                page=np.full(int(invited.sum()), -1),
                user=inviter[invited],
                account=account[invited],
                ts=invite_ts[invited],
                props=invite_props.slice(lo, hi - lo).filter(pa.array(invited)),
                context=prep.user_context[inviter[invited]],
            )
        ended = trials[bounds["trial"][t] : bounds["trial"][t + 1]]
        add(
            kind=np.full(ended.size, TRACK),
            event=np.full(ended.size, TRIAL_ENDED),
            page=np.full(ended.size, -1),
            user=con.first[ended],
            account=ended,
            ts=acc.created_us[ended] + TRIAL_DAYS * US_PER_DAY,
            props=dic.props.take(pa.array(np.full(ended.size, dic.trial_ended))),
            context=np.full(ended.size, dic.server_context),
        )
        gone = churns[bounds["churn"][t] : bounds["churn"][t + 1]]
        add(
            kind=np.full(gone.size, TRACK),
            event=np.full(gone.size, ACCOUNT_DELETED),
            page=np.full(gone.size, -1),
            user=con.admin[gone],
            account=gone,
            ts=acc.churned_us[gone],
            props=dic.props.take(pa.array(np.full(gone.size, dic.deleted))),
            context=np.full(gone.size, dic.server_context),
        )

        if chunk.rows >= FLUSH_ROWS:
            flush()
        if on_day is not None:
            on_day(1)
    flush()
    return written
