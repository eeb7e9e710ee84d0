"""Value digests end to end: queued through the outbox, delivered to a real SMTP server
(aiosmtpd, in-process), with text, HTML and an inline PNG chart; once per contact and
period; opt-out, unsubscribe and the frequency cap respected."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Contact
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.db import utcnow
from boomerang.errors import Conflict
from boomerang.events.store import EventStore
from boomerang.jobs.registry import PERIODIC, Context, Daily, load
from boomerang.mail import service as mail_service
from boomerang.mail.models import OutboxMessage
from boomerang.value import digests, subscriptions
from boomerang.value.chart import decode_png
from boomerang.value.models import DigestFrequency
from tests.factories import make_account, make_user
from tests.mail.conftest import (  # noqa: F401  (fixtures)
    SMTPServer,
    Transaction,
    mail_settings,
    smtp_server,
    tx,
)
from tests.value.helpers import standard_metrics, write_events

TODAY = date(2026, 11, 3)  # a Tuesday: last month is October, last week Oct 26 - Nov 1


@pytest.fixture
def world(session: Session, event_store: EventStore) -> dict[str, Contact]:
    owner = make_user(session, email="ana.lopez@boomerang.example")
    owner.name = "Ana López"
    account = make_account(session, name="Initech", external_id="initech", owner=owner)
    people = {}
    for key, name in (("peter", "Peter Gibbons"), ("joanna", "Joanna"), ("milton", "Milton")):
        people[key] = Contact(account=account, name=name, email=f"{key}@initech.example")
        session.add(people[key])
    session.flush()
    standard_metrics(session)
    write_events(
        event_store,
        [
            ("initech", "Workflow Automated", "2026-10-02 10:00", None),
            ("initech", "Workflow Automated", "2026-10-20 10:00", None),
            ("initech", "Workflow Automated", "2026-10-27 10:00", None),
            ("initech", "Money Saved", "2026-10-28 10:00", {"value": 250}),
            ("initech", "Money Saved", "2026-09-15 10:00", {"value": 100}),
            ("initech", "Signed In", "2026-10-28 09:00", None),
            ("other", "Workflow Automated", "2026-10-02 10:00", None),
        ],
    )
    subscriptions.subscribe(session=session, contact=people["peter"])
    subscriptions.subscribe(
        session=session, contact=people["joanna"], frequency=DigestFrequency.weekly
    )
    subscriptions.subscribe(session=session, contact=people["milton"])
    return people


def _source(store: EventStore) -> EventSource:
    return EventSource(store=store)


def test_monthly_digest_reaches_smtp_with_text_html_and_inline_png(
    session: Session,
    event_store: EventStore,
    world: dict[str, Contact],
    mail_settings: Settings,  # noqa: F811
    smtp_server: SMTPServer,  # noqa: F811
    tx: Transaction,  # noqa: F811
) -> None:
    sub = subscriptions.list_for(session=session, account_id=str(world["milton"].account_id))[2]
    assert subscriptions.opt_out(session=session, subscription=sub)
    run = digests.send_due(
        session=session, source=_source(event_store), settings=mail_settings, today=TODAY
    )
    assert (run.queued, run.skipped) == (2, {"opted_out": 1})
    assert run.period_starts == {"weekly": "2026-10-26", "monthly": "2026-10-01"}

    result = mail_service.deliver_due(tx, mail_settings)
    assert result.sent == 2, result
    got = {r.rcpt_tos[0]: r for r in smtp_server.received}
    assert set(got) == {"peter@initech.example", "joanna@initech.example"}

    monthly = got["peter@initech.example"]
    msg = monthly.message
    assert msg["Subject"] == "Initech: your value report for October 2026"
    assert msg.get_content_type() == "multipart/alternative"
    text = monthly.part("plain")
    assert "Hi Peter," in text
    assert "- Hours saved: 1.5 hours" in text  # 3 workflows x 0.5 in October
    assert "- Money saved: 250 $ (+150% on the month before)" in text
    assert "Usage: 5 actions by 1 active user on 4 days." in text
    html = monthly.part("html")
    assert '<img src="cid:value-chart"' in html
    assert "<strong>250</strong> $" in html
    [related] = [p for p in msg.walk() if p.get_content_type() == "multipart/related"]
    [image] = [p for p in related.walk() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<value-chart>"
    assert image.get_content_disposition() == "inline"
    png = image.get_payload(decode=True)
    assert isinstance(png, bytes)
    assert decode_png(png).shape == (220, 560, 3)
    # The digest's own opt-out link, and the global unsubscribe link, are both there.
    opt_out = re.search(r"Stop receiving these reports: (\S+)", text)
    assert opt_out is not None and "/digests/opt-out/" in opt_out.group(1)
    assert msg["List-Unsubscribe"].startswith("<http://testserver/u/")

    weekly = got["joanna@initech.example"]
    assert weekly.message["Subject"] == "Initech: your value report for the week of 26 October 2026"
    assert "- Hours saved: 0.5 hours" in weekly.part("plain")
    assert "- Money saved: 250 $" in weekly.part("plain")

    # Again (the job runs every day): nothing new for the same periods.
    again = digests.send_due(
        session=session, source=_source(event_store), settings=mail_settings, today=TODAY
    )
    assert (again.queued, again.already_sent) == (0, 2)


def test_unsubscribed_and_capped_contacts_are_skipped(
    session: Session,
    event_store: EventStore,
    world: dict[str, Contact],
    mail_settings: Settings,  # noqa: F811
) -> None:
    world["peter"].unsubscribed_at = utcnow()
    capped = mail_settings.model_copy(update={"email_cap_per_contact": 1})
    mail_service.enqueue(
        session=session,
        settings=capped,
        account=world["joanna"].account,
        to_contact=world["joanna"],
        subject="Earlier",
        text="An earlier email",
        source="test",
    )
    run = digests.send_due(
        session=session, source=_source(event_store), settings=capped, today=TODAY
    )
    assert run.queued == 1  # Milton only
    assert run.skipped == {"unsubscribed": 1, "frequency_cap": 1}
    [digest] = session.scalars(
        select(OutboxMessage).where(OutboxMessage.source == digests.SOURCE)
    ).all()
    assert digest.to_address == "milton@initech.example"
    assert digest.dedupe_key == f"digest:{world['milton'].id}:monthly:2026-10-01"


def test_opt_out_link_page_and_subscribing_again_is_refused(
    session: Session,
    client: TestClient,
    settings: Settings,
    world: dict[str, Contact],
) -> None:
    sub = subscriptions.list_for(session=session, account_id=str(world["peter"].account_id))[0]
    url = subscriptions.opt_out_url(settings, sub)
    path = url.removeprefix(settings.public_base_url)
    page = client.get(path)
    assert page.status_code == 200 and "Stop value reports" in page.text
    assert sub.opted_out_at is None  # GET changes nothing (mail scanners follow links)
    done = client.post(path)
    assert done.status_code == 200 and "No more value reports" in done.text
    session.refresh(sub)
    assert sub.opted_out_at is not None
    assert world["peter"].unsubscribed_at is None  # other email still allowed
    with pytest.raises(Conflict, match="opted out of value digests"):
        subscriptions.subscribe(session=session, contact=world["peter"])
    assert client.get(path[:-5] + ("A" if path[-5] != "A" else "B") + path[-4:]).status_code == 400


def test_preview_and_test_send(
    session: Session,
    event_store: EventStore,
    world: dict[str, Contact],
    mail_settings: Settings,  # noqa: F811
    smtp_server: SMTPServer,  # noqa: F811
    tx: Transaction,  # noqa: F811
) -> None:
    account = world["peter"].account
    assert account is not None
    preview = digests.preview(
        session=session,
        source=_source(event_store),
        settings=mail_settings,
        account=account,
        today=TODAY,
    )
    assert preview.subject == "Initech: your value report for October 2026"
    assert "Hi there," in preview.text
    assert "data:image/png;base64," in preview.html_with_inline_chart()
    digests.send_test(
        session=session,
        source=_source(event_store),
        settings=mail_settings,
        account=account,
        to_address="ana.lopez@boomerang.example",
        today=TODAY,
    )
    assert mail_service.deliver_due(tx, mail_settings).sent == 1
    [got] = smtp_server.received
    assert got.message["Subject"] == "[Test] Initech: your value report for October 2026"
    assert any(p.get_content_type() == "image/png" for p in got.message.walk())


def test_last_period() -> None:
    assert digests.last_period(DigestFrequency.monthly, date(2026, 1, 1)) == digests.Period(
        DigestFrequency.monthly, date(2025, 12, 1), date(2025, 12, 31)
    )
    week = digests.last_period(DigestFrequency.weekly, date(2026, 11, 2))  # a Monday
    assert (week.start, week.end) == (date(2026, 10, 26), date(2026, 11, 1))
    assert week.chart_start == date(2026, 9, 21)
    month = digests.last_period(DigestFrequency.monthly, date(2026, 3, 15))
    assert month.chart_start == date(2025, 9, 1)  # Sep..Feb: six months


def test_daily_job_refreshes_kpis_and_queues_digests_once(
    session: Session,
    event_store: EventStore,
    world: dict[str, Contact],
    mail_settings: Settings,  # noqa: F811
    tx: Transaction,  # noqa: F811
) -> None:
    handlers = load()
    [daily] = [p for p in PERIODIC if p.kind == "value.daily"]
    assert isinstance(daily.every, Daily) and daily.every.at(mail_settings) == 7
    context = Context(
        transaction=tx,
        settings=mail_settings,
        source=_source(event_store),
        now=datetime(2026, 11, 3, 8, tzinfo=UTC),
    )
    first = handlers["value.daily"](context, {})
    assert first is not None
    assert (first["digests_queued"], first["kpis_refreshed"]) == (3, 0)
    second = handlers["value.daily"](context, {})
    assert second is not None
    assert (second["digests_queued"], second["digests_already_sent"]) == (0, 3)
