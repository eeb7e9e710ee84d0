"""Replaying a playbook: what it would have fired day by day over past days, the facts as
of each day (from the health snapshots then), nothing written."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.analytics.source import EventSource
from boomerang.errors import Invalid
from boomerang.playbooks.context import Context
from boomerang.playbooks.evaluation import Firing, held_out, load_facts
from boomerang.playbooks.triggers import Candidate, day_start, triggered
from boomerang.playbooks.versions import InForce, get

MAX_DAYS = 400


def replay(
    *, session: Session, source: EventSource | None, name: str, since: date, until: date
) -> list[Firing]:
    """What the playbook would have fired day by day over ``[since, until]``: the facts as
    of each day, its own cooldown and de-duplication applied in memory, nothing written.
    Data triggers need health snapshots on those days (the facts come from them)."""
    if until < since:
        raise Invalid("until: before since")
    if (until - since).days > MAX_DAYS:
        raise Invalid(f"a replay covers at most {MAX_DAYS} days")
    item = get(session=session, name=name)
    pb = item.loaded.playbook
    out: list[Firing] = []
    last_start: dict[str, date] = {}
    seen: set[tuple[str, str]] = set()
    matching: set[str] | None = None
    names_of = dict(session.execute(select(Account.id, Account.name)).all())
    day = since
    while day <= until:
        found, matching = _found_on(
            session=session, source=source, item=item, day=day, matching=matching
        )
        for c in found:
            key = (c.account_id, c.reason_key)
            last = last_start.get(c.account_id)
            if key in seen or (last is not None and (day - last).days < max(pb.cooldown_days, 1)):
                continue
            seen.add(key)
            last_start[c.account_id] = day
            out.append(
                Firing(
                    name,
                    c.account_id,
                    names_of.get(c.account_id, ""),
                    c.reason_key,
                    str(c.reason.get("why", "")),
                    held_out(name, c.account_id, c.reason_key, pb.control_group),
                )
            )
        day += timedelta(days=1)
    return out


def _found_on(
    *,
    session: Session,
    source: EventSource | None,
    item: InForce,
    day: date,
    matching: set[str] | None,
) -> tuple[list[Candidate], set[str] | None]:
    """The candidates of ``day`` its conditions allow, and the accounts matching a data
    trigger that day (``matching``: those of the day before, None on the first day)."""
    pb = item.loaded.playbook
    now = day_start(day) + timedelta(hours=23, minutes=59)
    facts, ev = load_facts(session=session, items=[item], today=day)
    try:
        ctx = Context(session, source, now, facts, ev, dry_run=True)
        if pb.trigger.condition is not None:
            current = set(ev.members(pb.trigger.condition))
            new = current - (matching or set()) if matching is not None else current
            matching = current
            found = [
                Candidate(a, f"entered:{day}", {"why": f"now matches {pb.trigger.condition}"})
                for a in sorted(new)
            ]
        else:
            found = triggered(ctx, pb.trigger, now - timedelta(days=1))
        if pb.conditions and found:
            keep = set(ev.members(pb.conditions))
            found = [c for c in found if c.account_id in keep]
    finally:
        ev.close()
    return found, matching
