"""The expansion signals, in one place: what each one looks at and what it estimates.

Each signal but ``new_teams`` is a condition of the segment language over the account facts
(one DuckDB query per signal over every account, see :mod:`boomerang.segments.facts`);
``new_teams`` is one SQL query over contacts. Every signal leaves out churned accounts and
accounts without ARR. The estimated ARR of an opportunity is the account's ARR times the
signal's share.
"""

from __future__ import annotations

from dataclasses import dataclass

from boomerang.expansion.models import Signal

FEATURE_DEPTH = 1.0  # share of the scorecard's key features used in 30 days
NEW_USERS = 3  # contacts first seen in the last NEW_USERS_DAYS days and active since
NEW_USERS_DAYS = 30
REOPEN_AFTER_DAYS = 90  # a closed opportunity is not detected again for this long
BASE = "stage != 'churned' and arr > 0"


@dataclass(frozen=True)
class Rule:
    signal: Signal
    title: str
    share: float  # estimated ARR = account ARR x share
    evidence: tuple[str, ...]  # fact columns kept as evidence


RULES: dict[Signal, Rule] = {
    Signal.seat_utilisation: Rule(
        Signal.seat_utilisation,
        "More seats: {adoption_breadth:.0%} of seats active",
        0.20,
        ("measure.adoption_breadth",),
    ),
    Signal.positive_vector: Rule(
        Signal.positive_vector,
        "Cross-sell: positive success vector (health {health:.0f})",
        0.10,
        ("vector", "health"),
    ),
    Signal.feature_limits: Rule(
        Signal.feature_limits,
        "Plan upgrade: {feature_depth:.0%} of key features in use, health green",
        0.25,
        ("measure.feature_depth", "colour"),
    ),
    Signal.new_teams: Rule(
        Signal.new_teams,
        "New teams: {new_users} new users active in {days} days",
        0.15,
        (),
    ),
}


def condition(signal: Signal, seat_utilisation: float) -> str | None:
    """The facts condition of ``signal`` (None: not a facts signal)."""
    if signal is Signal.seat_utilisation:
        return f"{BASE} and measure.adoption_breadth >= {float(seat_utilisation)!r}"
    if signal is Signal.positive_vector:
        return f"{BASE} and vector = 'positive'"
    if signal is Signal.feature_limits:
        return f"{BASE} and colour = 'green' and measure.feature_depth >= {FEATURE_DEPTH!r}"
    return None
