"""Scorecards edited in the web app: the same YAML as the files, validated the same way,
previewed against today's accounts before saving, and saved as a new version.

Which text is in force for a scorecard name: the newest edit, whether made in its file
(by the file's modification time) or in the app (by the saved version's time).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.analytics.source import EventSource
from boomerang.health import measures, scorecard, scoring
from boomerang.health.models import HealthScore, ScorecardVersion
from boomerang.health.scorecard import LoadedScorecard
from boomerang.health.service import PRIMARY, ensure_version
from boomerang.users.models import User

UI_ORIGIN = "web app"


def in_force(*, session: Session, cards: list[LoadedScorecard]) -> list[LoadedScorecard]:
    """``cards`` (from files), each replaced by its newest app edit when that is newer."""
    out = []
    for card in cards:
        edited = session.scalar(
            select(ScorecardVersion)
            .where(
                ScorecardVersion.name == card.scorecard.name,
                ScorecardVersion.origin.startswith(UI_ORIGIN),
            )
            .order_by(ScorecardVersion.version.desc())
            .limit(1)
        )
        if edited is not None and edited.created_at > _modified(card.origin):
            out.append(scorecard.parse(edited.source, origin=edited.origin))
        else:
            out.append(card)
    return out


def cards_in_force(*, session: Session, directory: Path | None) -> list[LoadedScorecard]:
    """The scorecards of ``directory`` (or the shipped one), each at its newest edit."""
    return in_force(session=session, cards=scorecard.load_set(directory))


def catch_all(cards: list[LoadedScorecard]) -> LoadedScorecard:
    """The primary scorecard without ``applies_to`` (``load_set`` ensures there is one)."""
    return next(c for c in cards if c.scorecard.primary and not c.scorecard.applies_to)


def _modified(origin: str) -> datetime:
    path = Path(origin)
    if path.is_file():
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return datetime.min.replace(tzinfo=UTC)  # the shipped default: any app edit is newer


@dataclass(frozen=True)
class Preview:
    accounts: int
    changes: dict[tuple[str, str], int]  # (colour now, colour with the edit) -> accounts
    colours: dict[str, int]  # with the edit

    @property
    def changed(self) -> int:
        return sum(n for (a, b), n in self.changes.items() if a != b)


def preview(
    *, session: Session, source: EventSource, loaded: LoadedScorecard, as_of: datetime
) -> Preview:
    """Score today's accounts with ``loaded`` in memory (nothing is stored) and compare the
    colours with their latest snapshot."""
    day = as_of.date()
    accounts = measures.population(session=session, as_of=day)
    if not len(accounts):
        return Preview(0, {}, {})
    rule = loaded.scorecard.applies_to
    ids = accounts.ids
    if rule:
        from boomerang.segments.service import evaluator

        with evaluator(session=session, today=day, for_conditions=[rule]) as ev:
            chosen = set(ev.members(rule))
        ids = [a for a in ids if a in chosen]
        accounts = measures.population(session=session, as_of=day, account_ids=ids)
    with source.open() as events:
        raw = measures.compute(
            session=session, measures=loaded.scorecard.measures, events=events, accounts=accounts
        )
    totals = scoring.rollup(loaded.scorecard, raw).total
    new = [loaded.scorecard.colours.of(None if np.isnan(t) else float(t)) for t in totals]
    latest_day = session.scalar(
        select(HealthScore.as_of)
        .where(HealthScore.scorecard == PRIMARY)
        .order_by(HealthScore.as_of.desc())
        .limit(1)
    )
    now_colour: dict[str, str] = {}
    if latest_day is not None:
        now_colour = {
            a: c
            for a, c in session.execute(
                select(HealthScore.account_id, HealthScore.colour).where(
                    HealthScore.scorecard == PRIMARY, HealthScore.as_of == latest_day
                )
            )
        }
    changes = Counter(
        (now_colour.get(a, "none"), c) for a, c in zip(accounts.ids, new, strict=True)
    )
    return Preview(len(accounts), dict(changes), dict(Counter(new)))


def save(*, session: Session, text: str, author: User) -> ScorecardVersion:
    """Validate and store ``text`` as the newest version of its scorecard."""
    loaded = scorecard.parse(text, origin=f"{UI_ORIGIN} ({author.email})")
    return ensure_version(session=session, loaded=loaded)
