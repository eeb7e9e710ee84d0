"""What one evaluation (or dry run, or replay day) works with: the session, the time, the
account facts and their evaluator, and the accounts and managers it has looked up."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.segments.service import Evaluator
from boomerang.users.models import User

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class Context:
    session: Session
    source: EventSource | None
    now: datetime
    facts: pa.Table
    evaluator: Evaluator
    dry_run: bool = False
    settings: Settings | None = None
    _rows: dict[str, dict[str, Any]] | None = None
    accounts: dict[str, Account] = field(default_factory=dict)
    managers: dict[str | None, User | None] = field(default_factory=dict)

    def load_accounts(self, ids: Iterable[str]) -> None:
        """Accounts (with their owners) in a few queries rather than one per firing."""
        wanted = sorted(set(ids) - set(self.accounts))
        for start in range(0, len(wanted), 5000):
            chunk = wanted[start : start + 5000]
            for account in self.session.scalars(
                select(Account).options(selectinload(Account.owner)).where(Account.id.in_(chunk))
            ):
                self.accounts[account.id] = account

    def account(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id) or self.session.get(Account, account_id)

    @property
    def today(self) -> date:
        return self.now.date()

    def row(self, account_id: str) -> dict[str, Any]:
        if self._rows is None:
            self._rows = {r["account_id"]: r for r in self.facts.to_pylist()}
        return self._rows.get(account_id, {})

    def values(self, account: Account, reason: dict[str, Any]) -> dict[str, Any]:
        """What a step's templates see: the account, its owner, its facts and the reason."""
        owner = account.owner
        return {
            "account": {
                "id": account.id,
                "name": account.name,
                "external_id": account.external_id,
                "tier": account.tier,
                "stage": account.stage.value,
                "arr": float(account.arr),
                "currency": account.currency,
                "renewal_date": account.renewal_date,
            },
            "owner": {"name": owner.name, "email": owner.email} if owner else None,
            "facts": self.row(account.id),
            "reason": reason,
        }
