"""The review cadence: how often each account is reviewed (by tier and segment) and the
reviews it calls for now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account, Stage
from boomerang.config import Settings, parse_review_cadence
from boomerang.reviews import periods
from boomerang.reviews.checks import today_or
from boomerang.reviews.models import BusinessReview
from boomerang.reviews.scheduling import new_review
from boomerang.segments.models import Segment, SegmentMembership


def cadence(
    *, session: Session, settings: Settings, account_ids: Sequence[str] | None = None
) -> dict[str, int]:
    """Review cadence in months of every live account (or of ``account_ids``), from its tier
    and its current segments; accounts that no cadence entry covers are left out."""
    rules = parse_review_cadence(settings.review_cadence)
    default = rules.get("*")
    accounts = select(Account.id, Account.tier).where(Account.stage != Stage.churned)
    if account_ids is not None:
        accounts = accounts.where(Account.id.in_(account_ids))
    months: dict[str, int] = {}
    for account_id, tier in session.execute(accounts):
        found = [m for m in (rules.get(tier or ""), default) if m is not None]
        if found:
            months[account_id] = min(found)
    names = [key for key in rules if key != "*"]
    if names:
        members = (
            select(SegmentMembership.account_id, Segment.name)
            .join(Segment, Segment.id == SegmentMembership.segment_id)
            .join(Account, Account.id == SegmentMembership.account_id)
            .where(
                Segment.name.in_(names),
                SegmentMembership.left_at.is_(None),
                Account.stage != Stage.churned,
            )
        )
        if account_ids is not None:
            members = members.where(SegmentMembership.account_id.in_(account_ids))
        for account_id, name in session.execute(members):
            wanted = rules[name]
            months[account_id] = min(months.get(account_id, wanted), wanted)
    return months


@dataclass(frozen=True)
class CadenceRun:
    scheduled: list[BusinessReview]
    accounts_with_cadence: int


def run_cadence(*, session: Session, settings: Settings, today: date | None = None) -> CadenceRun:
    """Schedule the review of the last whole period for every account whose cadence calls
    for one and that has none yet (accounts that were customers for less than half of the
    period are left for the next one). Safe to run any number of times."""
    today = today_or(today)
    months = cadence(session=session, settings=settings)
    wanted = {a: periods.previous(today, months=m) for a, m in months.items()}
    if not wanted:
        return CadenceRun([], 0)
    labels = {p.label for p in wanted.values()}
    have = set(
        session.execute(
            select(BusinessReview.account_id, BusinessReview.period).where(
                BusinessReview.period.in_(labels)
            )
        ).all()
    )
    candidates = [a for a, p in wanted.items() if (a, p.label) not in have]
    accounts = {
        a.id: a
        for chunk in _chunks(candidates, 500)
        for a in session.scalars(
            select(Account).options(selectinload(Account.owner)).where(Account.id.in_(chunk))
        )
    }
    created = []
    for account_id in sorted(candidates):
        account, period = accounts[account_id], wanted[account_id]
        if account.created_at.date() > period.start + (period.end - period.start) / 2:
            continue  # under half a period as a customer: its first review is next period's
        review = new_review(
            session=session,
            account=account,
            period=period,
            due=period.end + timedelta(days=settings.review_due_days),
            owner=None,
            source="cadence",
            by=None,
            today=today,
        )
        session.add(review)
        created.append(review)
    session.flush()
    return CadenceRun(created, len(months))


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
