"""Segments: create, preview, evaluate (recording who entered and left). The caller owns
the transaction."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from boomerang.accounts.models import Account
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.segments import conditions
from boomerang.segments.facts import account_facts, field_kinds, known_fields
from boomerang.segments.models import Segment, SegmentMembership, TouchModel

_CHUNK = 500  # ids per IN (...): well under every database's limit on parameters
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _\-]{0,99}$")


class Evaluator:
    """Account facts loaded once, any number of conditions run over them (one DuckDB query
    each, compiled by Ibis)."""

    def __init__(self, facts: pa.Table) -> None:
        self.facts = facts
        self.kinds = field_kinds(facts)
        self._backend = ibis.duckdb.connect()
        self._table: ir.Table = self._backend.create_table("facts", facts)

    def check(self, condition: str) -> conditions.Node:
        return conditions.parse(condition, self.kinds)

    def members(self, condition: str) -> list[str]:
        """Ids of the accounts for which ``condition`` holds."""
        node = self.check(condition)
        t = self._table
        result = t.filter(conditions.to_ibis(node, t)).select("account_id").to_pyarrow()
        return [str(a) for a in result.column("account_id").to_pylist()]

    def close(self) -> None:
        self._backend.disconnect()


@contextmanager
def evaluator(
    *,
    session: Session,
    today: date | None = None,
    for_conditions: list[str] | None = None,
    account_ids: list[str] | None = None,
) -> Iterator[Evaluator]:
    """An :class:`Evaluator` over every account; with ``for_conditions``, only the fields
    they use are gathered (conditions that do not parse are left for ``members`` to refuse)."""
    only: set[str] | None = None
    if for_conditions is not None:
        kinds = known_fields(session=session)
        only = set()
        for condition in for_conditions:
            try:
                only |= conditions.fields_used(conditions.parse(condition, kinds))
            except conditions.ConditionError:
                continue
    ev = Evaluator(account_facts(session=session, today=today, only=only, account_ids=account_ids))
    try:
        yield ev
    finally:
        ev.close()


def check(*, session: Session, condition: str) -> conditions.Node:
    """Parse and type-check ``condition`` against every known field; ConditionError else."""
    return conditions.parse(condition, known_fields(session=session))


def _valid_name(name: str) -> str:
    name = name.strip()
    if not NAME.match(name):
        raise Invalid(
            "name: 1-100 letters, digits, spaces, '-' or '_', starting with a letter or digit"
        )
    return name


def create(
    *,
    session: Session,
    name: str,
    condition: str | None,
    description: str = "",
    touch_model: TouchModel | None = None,
) -> Segment:
    """Save a segment; Invalid naming the problem in its condition, Conflict on its name.
    Without a condition it is a list segment: members are added and removed by hand or by
    playbooks (:func:`add_member`)."""
    name = _valid_name(name)
    if session.scalar(select(Segment).where(Segment.name == name)):
        raise Conflict(f"a segment named {name!r} already exists")
    manual = not (condition or "").strip()
    if not manual:
        check(session=session, condition=condition or "")
    segment = Segment(
        name=name,
        condition=(condition or "").strip(),
        description=description,
        touch_model=touch_model,
        manual=manual,
    )
    session.add(segment)
    session.flush()
    return segment


def update_condition(*, session: Session, segment: Segment, condition: str) -> Segment:
    if segment.manual:
        raise Invalid(f"segment {segment.name!r} is a list segment: it has no condition")
    check(session=session, condition=condition)
    segment.condition = condition.strip()
    session.flush()
    return segment


def get(*, session: Session, ref: str) -> Segment:
    segment = session.get(Segment, ref) if ref.startswith("seg_") else None
    segment = segment or session.scalar(select(Segment).where(Segment.name == ref))
    if segment is None:
        raise NotFound(f"no segment named {ref!r}")
    return segment


def list_segments(*, session: Session) -> list[Segment]:
    return list(session.scalars(select(Segment).order_by(Segment.name)))


def delete(*, session: Session, segment: Segment) -> None:
    session.delete(segment)
    session.flush()


def current_members(*, session: Session, segment: Segment) -> list[str]:
    """Account ids in the segment at its last evaluation."""
    return list(
        session.scalars(
            select(SegmentMembership.account_id).where(
                SegmentMembership.segment_id == segment.id, SegmentMembership.left_at.is_(None)
            )
        )
    )


@dataclass(frozen=True)
class Evaluation:
    segment: str
    members: int
    entered: int
    left: int
    error: str | None = None  # the condition no longer holds up (a measure was removed)


def evaluate(
    *, session: Session, segments: list[Segment] | None = None, now: datetime | None = None
) -> list[Evaluation]:
    """Run every segment's condition over all accounts; record who entered and who left."""
    now = now or datetime.now(UTC)
    segments = segments if segments is not None else list_segments(session=session)
    results = [
        Evaluation(s.name, len(current_members(session=session, segment=s)), 0, 0)
        for s in segments
        if s.manual
    ]
    segments = [s for s in segments if not s.manual]
    wanted = [s.condition for s in segments]
    with evaluator(session=session, today=now.date(), for_conditions=wanted) as ev:
        for segment in segments:
            try:
                members = set(ev.members(segment.condition))
            except conditions.ConditionError as exc:
                results.append(Evaluation(segment.name, 0, 0, 0, error=exc.message))
                continue
            current = set(current_members(session=session, segment=segment))
            entered = members - current
            left = current - members
            connection = session.connection()
            gone = sorted(left)
            for start in range(0, len(gone), _CHUNK):
                connection.execute(
                    update(SegmentMembership)
                    .where(
                        SegmentMembership.segment_id == segment.id,
                        SegmentMembership.left_at.is_(None),
                        SegmentMembership.account_id.in_(gone[start : start + _CHUNK]),
                    )
                    .values(left_at=now)
                )
            if entered:
                connection.execute(
                    insert(SegmentMembership),
                    [
                        {"segment_id": segment.id, "account_id": a, "entered_at": now}
                        for a in sorted(entered)
                    ],
                )
            segment.evaluated_at = now
            results.append(Evaluation(segment.name, len(members), len(entered), len(left)))
    session.flush()
    return results


def _list_segment(segment: Segment) -> None:
    if not segment.manual:
        raise Invalid(
            f"segment {segment.name!r} is computed from its condition; only list segments "
            "(created without a condition) take members by hand"
        )


def add_member(
    *, session: Session, segment: Segment, account_id: str, now: datetime | None = None
) -> bool:
    """Put the account in a list segment; False when it is in already."""
    _list_segment(segment)
    if session.get(Account, account_id) is None:
        raise NotFound(f"no account {account_id!r}")
    if account_id in set(current_members(session=session, segment=segment)):
        return False
    session.add(
        SegmentMembership(
            segment_id=segment.id, account_id=account_id, entered_at=now or datetime.now(UTC)
        )
    )
    session.flush()
    return True


def remove_member(
    *, session: Session, segment: Segment, account_id: str, now: datetime | None = None
) -> bool:
    """Take the account out of a list segment; False when it was not in it."""
    _list_segment(segment)
    result = session.execute(
        update(SegmentMembership)
        .where(
            SegmentMembership.segment_id == segment.id,
            SegmentMembership.account_id == account_id,
            SegmentMembership.left_at.is_(None),
        )
        .values(left_at=now or datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return bool(getattr(result, "rowcount", 0))


def _unknown_accounts(*, session: Session, account_ids: Sequence[str]) -> list[str]:
    """The ids naming no account (those the session holds already are not read again)."""
    held = session.identity_map
    ask = sorted({a for a in account_ids if held.get(identity_key(Account, a)) is None})
    found: set[str] = set()
    for start in range(0, len(ask), _CHUNK):
        chunk = ask[start : start + _CHUNK]
        found.update(session.scalars(select(Account.id).where(Account.id.in_(chunk))))
    return [a for a in ask if a not in found]


def add_members(
    *, session: Session, segment: Segment, account_ids: Sequence[str], now: datetime | None = None
) -> list[bool]:
    """``add_member`` for each of ``account_ids`` in turn, in a few statements: for each,
    False when it was in already."""
    _list_segment(segment)
    unknown = _unknown_accounts(session=session, account_ids=account_ids)
    if unknown:
        raise NotFound(f"no account {unknown[0]!r}")
    members = set(current_members(session=session, segment=segment))
    when = now or datetime.now(UTC)
    out = []
    for account_id in account_ids:
        out.append(account_id not in members)
        if account_id not in members:
            members.add(account_id)
            session.add(
                SegmentMembership(segment_id=segment.id, account_id=account_id, entered_at=when)
            )
    session.flush()
    return out


def remove_members(
    *, session: Session, segment: Segment, account_ids: Sequence[str], now: datetime | None = None
) -> list[bool]:
    """``remove_member`` for each of ``account_ids`` in turn, in a few statements: for each,
    False when it was not in it."""
    _list_segment(segment)
    members = set(current_members(session=session, segment=segment))
    leaving = sorted(members.intersection(account_ids))
    when = now or datetime.now(UTC)
    for start in range(0, len(leaving), _CHUNK):
        session.execute(
            update(SegmentMembership)
            .where(
                SegmentMembership.segment_id == segment.id,
                SegmentMembership.account_id.in_(leaving[start : start + _CHUNK]),
                SegmentMembership.left_at.is_(None),
            )
            .values(left_at=when)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    out = []
    for account_id in account_ids:
        out.append(account_id in members)
        members.discard(account_id)
    return out
