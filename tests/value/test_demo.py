"""The success plan and value demo seeds on a small generated company: plans follow
health, value metrics read the generated events, a monthly digest reaches a real SMTP
server; running the seeds again adds nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.demo import success as success_demo
from boomerang.demo.generator import generate
from boomerang.events.store import EventStore
from boomerang.mail import service as mail_service
from boomerang.mail.models import OutboxMessage
from boomerang.success import service as success_service
from boomerang.success.models import SuccessPlan
from boomerang.value import demo as value_demo
from boomerang.value import digests
from boomerang.value import service as value_service
from tests.mail.conftest import (  # noqa: F401  (fixtures)
    SMTPServer,
    Transaction,
    mail_settings,
    smtp_server,
    tx,
)

END = date(2026, 11, 15)


def test_demo_seeds_plans_value_and_digests(
    session: Session,
    event_store: EventStore,
    mail_settings: Settings,  # noqa: F811
    smtp_server: SMTPServer,  # noqa: F811
    tx: Transaction,  # noqa: F811
) -> None:
    generate(
        session=session, store=event_store, end=END, password="pw-12345678", accounts=60, months=6
    )
    source = EventSource(store=event_store)
    line = success_demo.seed(session=session, settings=mail_settings, source=source, today=END)
    eligible = session.scalar(
        select(func.count())
        .select_from(Account)
        .where(Account.churned_at.is_(None), Account.tier.in_(["mid_market", "enterprise"]))
    )
    plans = session.scalar(select(func.count()).select_from(SuccessPlan))
    assert eligible and plans == eligible
    assert line.startswith(f"{plans} success plans from 3 templates")
    some = session.scalars(select(SuccessPlan).order_by(SuccessPlan.id)).first()
    assert some is not None
    summary = success_service.plan_summary(session=session, account_id=some.account_id, as_of=END)
    assert summary is not None and summary.milestones_total >= 3 and summary.kpis_total == 2
    assert all(k.history for k in summary.kpis if k.source.value == "manual")

    line = value_demo.seed(session=session, settings=mail_settings, source=source, today=END)
    assert line.startswith("3 value metrics,")
    values = value_service.values_for(
        session=session,
        source=source,
        accounts=list(session.scalars(select(Account))),
        start=date(2026, 10, 1),
        end=date(2026, 10, 31),
    )
    hours = [v.metric("hours_saved") for v in values.values()]
    assert sum(1 for h in hours if h is not None and h.total > 0) >= 5
    queued = session.scalars(
        select(OutboxMessage).where(OutboxMessage.source == digests.SOURCE)
    ).all()
    assert queued and all(m.dedupe_key for m in queued)

    result = mail_service.deliver_due(tx, mail_settings)
    assert result.sent == len(queued)
    monthly = [r for r in smtp_server.received if "October 2026" in str(r.message["Subject"])]
    assert monthly
    first = monthly[0]
    assert "Hours saved:" in first.part("plain") and "Rows exported:" in first.part("plain")
    assert '<img src="cid:value-chart"' in first.part("html")
    assert any(p.get_content_type() == "image/png" for p in first.message.walk())

    again = success_demo.seed(session=session, settings=mail_settings, source=source, today=END)
    assert again.startswith("0 success plans")
    again = value_demo.seed(session=session, settings=mail_settings, source=source, today=END)
    assert again.startswith("0 value metrics, 0 digest stakeholders, 0 digests queued")
