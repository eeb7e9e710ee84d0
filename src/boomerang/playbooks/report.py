"""What the playbooks did: treated against control runs, a playbook's recent runs, the
runs per playbook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.playbooks.models import PlaybookRun
from boomerang.segments.facts import account_facts


@dataclass(frozen=True)
class Arm:
    runs: int
    health_change: float | None  # mean of (health now - health at the start)
    churned: int
    expanded: int

    @property
    def churn_rate(self) -> float | None:
        return self.churned / self.runs if self.runs else None

    @property
    def expansion_rate(self) -> float | None:
        return self.expanded / self.runs if self.runs else None


def effectiveness(*, session: Session, name: str) -> dict[str, Arm]:
    """Treated against control runs: health change since the start, churn and expansion
    after it."""
    runs = session.execute(
        select(
            PlaybookRun.control,
            PlaybookRun.reason,
            PlaybookRun.started_at,
            Account.churned_at,
            Account.arr,
            Account.id,
        )
        .join(Account, Account.id == PlaybookRun.account_id)
        .where(PlaybookRun.playbook == name)
    ).all()
    now_health: dict[str, float | None] = {}
    if runs:
        facts = account_facts(session=session, only={"health"})
        now_health = dict(
            zip(facts["account_id"].to_pylist(), facts["health"].to_pylist(), strict=True)
        )
    arms: dict[str, Arm] = {}
    for arm_name, is_control in (("treated", False), ("control", True)):
        mine = [r for r in runs if bool(r[0]) == is_control]
        changes = []
        churned = expanded = 0
        for _, reason, started, churned_at, arr, account_id in mine:
            then, now = reason.get("health"), now_health.get(account_id)
            if then is not None and now is not None:
                changes.append(float(now) - float(then))
            start = started if started.tzinfo else started.replace(tzinfo=UTC)
            if (
                churned_at is not None
                and (churned_at if churned_at.tzinfo else churned_at.replace(tzinfo=UTC)) >= start
            ):
                churned += 1
            elif reason.get("arr") is not None and float(arr) > float(reason["arr"]) + 0.005:
                expanded += 1
        arms[arm_name] = Arm(
            runs=len(mine),
            health_change=(sum(changes) / len(changes)) if changes else None,
            churned=churned,
            expanded=expanded,
        )
    return arms


def runs_for(*, session: Session, name: str, limit: int = 100) -> list[PlaybookRun]:
    """The playbook's latest runs, newest first."""
    return list(
        session.scalars(
            select(PlaybookRun)
            .where(PlaybookRun.playbook == name)
            .order_by(PlaybookRun.started_at.desc(), PlaybookRun.id)
            .limit(limit)
        )
    )


def run_counts(*, session: Session) -> dict[str, int]:
    """Runs per playbook (treated and control)."""
    rows = session.execute(
        select(PlaybookRun.playbook, func.count()).group_by(PlaybookRun.playbook)
    ).all()
    return {name: int(n) for name, n in rows}
