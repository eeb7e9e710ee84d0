"""Value for the demo company: three value metrics over the events the demo generates
(hours saved by automated workflows, reports created, rows exported), the champions and
sponsors of live mid-market and enterprise accounts as monthly digest stakeholders (the
admins of enterprise accounts weekly), and the digests of the last complete period queued
in the outbox (``boomerang outbox deliver`` sends them to the configured SMTP server).

Deterministic: metrics and stakeholders follow the generated company, ordered by external
id; digests are deduplicated per contact and period.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact, ContactRole, ContactRoleLink
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.value import digests, subscriptions
from boomerang.value import service as value_service
from boomerang.value.models import DigestFrequency, DigestSubscription
from boomerang.value.schemas import ValueMetricsFile

METRICS = ValueMetricsFile.model_validate(
    {
        "metrics": [
            {
                "key": "hours_saved",
                "name": "Hours saved",
                "unit": "hours",
                "kind": "count",
                "event": "Workflow Automated",
                "factor": 0.5,
                "description": "Each automated workflow run saves about 30 minutes of work.",
            },
            {
                "key": "reports_created",
                "name": "Reports created",
                "unit": "reports",
                "kind": "count",
                "event": "Report Created",
            },
            {
                "key": "rows_exported",
                "name": "Rows exported",
                "unit": "rows",
                "kind": "sum",
                "event": "Export Generated",
                "property": "rows",
            },
        ]
    }
)


def seed(*, session: Session, settings: Settings, source: EventSource, today: date) -> str:
    """Value metrics, digest stakeholders and the digests due; one-line summary."""
    created, _ = value_service.load(session=session, definitions=METRICS)
    rows = session.execute(
        select(Contact, ContactRoleLink.role, Account.tier)
        .join(ContactRoleLink, ContactRoleLink.contact_id == Contact.id)
        .join(Account, Account.id == Contact.account_id)
        .where(
            Account.churned_at.is_(None),
            Account.tier.in_(["mid_market", "enterprise"]),
            Contact.active.is_(True),
            Contact.email.is_not(None),
            Contact.unsubscribed_at.is_(None),
            ContactRoleLink.role.in_(
                [ContactRole.champion, ContactRole.sponsor, ContactRole.admin]
            ),
        )
        .order_by(Account.external_id, Contact.email, ContactRoleLink.role)
    ).all()
    existing = set(session.scalars(select(DigestSubscription.contact_id)))
    added = 0
    for contact, role, tier in rows:
        if contact.id in existing:
            continue
        if role is ContactRole.admin and tier != "enterprise":
            continue
        frequency = DigestFrequency.weekly if role is ContactRole.admin else DigestFrequency.monthly
        subscriptions.subscribe(session=session, contact=contact, frequency=frequency)
        existing.add(contact.id)
        added += 1
    run = digests.send_due(session=session, source=source, settings=settings, today=today)
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(run.skipped.items())) or "none"
    return (
        f"{created} value metrics, {added} digest stakeholders, {run.queued} digests queued "
        f"(month from {run.period_starts['monthly']}, week from {run.period_starts['weekly']}; "
        f"skipped: {skipped})"
    )
