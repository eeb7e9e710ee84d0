"""The other places where data becomes HTML for a person, held to the same rule as playbook
emails (tests/mail/test_escaping.py): an account, a contact, a custom field or a survey
comment carrying markup arrives escaped in HTML and as written in plain text.

These paths escaped already when the playbook email did not (Jinja file templates with
autoescape, ``html.escape`` in the survey invitation, the derived HTML part); these tests
keep them so."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Account, Contact, ContactRole
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.escalations import notify
from boomerang.escalations import service as escalations_service
from boomerang.events.store import EventStore
from boomerang.mail import service as mail_service
from boomerang.mail import templates as mail_templates
from boomerang.playbooks import definition, engine
from boomerang.reviews import content, periods, render
from boomerang.surveys import service as surveys_service
from boomerang.surveys.models import SurveyKind, SurveyResponse
from boomerang.users.models import Role, User
from boomerang.value import digests, subscriptions
from tests.factories import make_account, make_user
from tests.mail.conftest import SMTPServer, Transaction
from tests.mail.test_escaping import EMAIL_PLAYBOOK, ingest
from tests.value.helpers import standard_metrics, write_events

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = '"><script>alert(2)</script>'
ACCOUNT = f"GrpX{IMG}"
CONTACT = f"Pat{SCRIPT}"  # one word: it is also the first name
ESCAPED_IMG = "&lt;img src=x onerror=alert(1)&gt;"
ESCAPED_SCRIPT = "&gt;&lt;script&gt;alert(2)&lt;/script&gt;"  # the quote: &#34; or &quot;


def _world(session: Session) -> tuple[User, Account, Contact]:
    owner = make_user(session, Role.csm, email="ana@boomerang.example")
    owner.name = f"Ana {IMG}"
    account = make_account(session, name=ACCOUNT, external_id="grp-x", owner=owner)
    account.attributes = {"plan": f"Pro {SCRIPT}"}
    contact = accounts_service.create_contact(
        session=session,
        account=account,
        name=CONTACT,
        email="pat@x.example",
        roles=[ContactRole.champion],
    )
    session.flush()
    return owner, account, contact


def _no_markup(html: str) -> None:
    assert "<img src=x" not in html and "<script" not in html


def test_templated_email_with_custom_fields(
    session: Session, tx: Transaction, mail_settings: Settings, smtp_server: SMTPServer
) -> None:
    owner, account, contact = _world(session)
    template = mail_templates.EmailTemplate(
        subject="For {{ account.name }}",
        text="Hi {{ contact.first_name }}, {{ account.name }} is on {{ account.attributes.plan }}",
        html="<p>Hi {{ contact.first_name }}, <b>{{ account.name }}</b> is on "
        "{{ account.attributes.plan }}</p><p>{{ owner.name }}</p>",
    )
    context = mail_templates.context_for(
        account=account, contact=contact, owner=owner, unsubscribe_url=None
    )
    mail_service.enqueue(
        session=session,
        settings=mail_settings,
        account=account,
        to_contact=contact,
        rendered=mail_templates.render(template, context),
        source="test",
    )
    assert mail_service.deliver_due(tx, mail_settings).sent == 1
    [got] = smtp_server.received
    html = got.part("html")
    assert f"<b>GrpX{ESCAPED_IMG}</b>" in html and ESCAPED_SCRIPT in html
    assert f"<p>Ana {ESCAPED_IMG}</p>" in html
    _no_markup(html)
    assert got.part("plain").startswith(f"Hi {CONTACT}, {ACCOUNT} is on Pro {SCRIPT}")
    assert got.message["Subject"] == f"For {ACCOUNT}"


def test_escalation_status_update(
    session: Session, tx: Transaction, mail_settings: Settings, smtp_server: SMTPServer
) -> None:
    owner, account, contact = _world(session)
    escalation = escalations_service.open_escalation(
        session=session,
        account=account,
        problem=f"Exports fail {IMG}",
        severity=2,
        mission_critical=False,
        opened_by=owner,
        contacts=[contact],
    )
    notify.send_status_update(
        session=session, escalation=escalation, settings=mail_settings, text=SCRIPT, by=owner
    )
    assert mail_service.deliver_due(tx, mail_settings).sent == 1
    [got] = smtp_server.received
    html = got.part("html")
    assert f"Exports fail {ESCAPED_IMG}" in html and ESCAPED_SCRIPT in html
    _no_markup(html)
    text = got.part("plain")
    assert f"Hello {CONTACT}," in text and f"Exports fail {IMG}" in text and SCRIPT in text


def test_survey_invitation(
    session: Session, tx: Transaction, mail_settings: Settings, smtp_server: SMTPServer
) -> None:
    _, _, contact = _world(session)
    program = surveys_service.create_program(session=session, name="NPS", kind="nps")
    result = surveys_service.send(
        session=session, settings=mail_settings, program=program, contacts=[contact]
    )
    assert len(result.invited) == 1
    assert mail_service.deliver_due(tx, mail_settings).sent == 1
    [got] = smtp_server.received
    html = got.part("html")
    assert ESCAPED_SCRIPT in html
    _no_markup(html)
    assert got.part("plain").startswith(f"Hello {CONTACT},")


def test_value_digest(
    session: Session,
    event_store: EventStore,
    tx: Transaction,
    mail_settings: Settings,
    smtp_server: SMTPServer,
) -> None:
    _, _, contact = _world(session)
    standard_metrics(session)
    write_events(event_store, [("grp-x", "Workflow Automated", "2026-10-02 10:00", None)])
    subscriptions.subscribe(session=session, contact=contact)
    run = digests.send_due(
        session=session,
        source=EventSource(store=event_store),
        settings=mail_settings,
        today=date(2026, 11, 3),
    )
    assert run.queued == 1
    assert mail_service.deliver_due(tx, mail_settings).sent == 1
    [got] = smtp_server.received
    html = got.part("html")
    assert f"GrpX{ESCAPED_IMG}" in html and ESCAPED_SCRIPT in html
    _no_markup(html)
    assert f"Hi {CONTACT}," in got.part("plain")
    assert got.message["Subject"].startswith(f"{ACCOUNT}: ")


def test_review_deck(session: Session, event_store: EventStore) -> None:
    owner, account, contact = _world(session)
    account.created_at = datetime(2026, 1, 1, tzinfo=UTC)
    session.add(
        SurveyResponse(
            account_id=account.id,
            contact_id=contact.id,
            survey=SurveyKind.nps,
            score=3,
            comment=f"Slow {SCRIPT}",
            responded_at=datetime(2026, 8, 10, tzinfo=UTC),
        )
    )
    session.flush()
    review = content.assemble(
        session=session,
        source=EventSource(store=event_store),
        account=account,
        period=periods.parse("2026-Q3"),
        currency="USD",
        today=date(2026, 11, 15),
    )
    html = render.deck_html(review, company=f"Co {IMG}", owner=owner)
    assert f"<h1>GrpX{ESCAPED_IMG}</h1>" in html
    assert f"Slow &#34;{ESCAPED_SCRIPT}" in html or f"Slow &quot;{ESCAPED_SCRIPT}" in html
    assert f"Co {ESCAPED_IMG}" in html and f"Ana {ESCAPED_IMG}" in html
    _no_markup(html)


def test_a_text_only_playbook_email_gets_an_escaped_html_part(
    client: TestClient,
    session: Session,
    tx: Transaction,
    mail_settings: Settings,
    smtp_server: SMTPServer,
) -> None:
    ingest(client, session)
    text_only = "\n".join(line for line in EMAIL_PLAYBOOK.splitlines() if "html:" not in line)
    engine.save_version(session=session, loaded=definition.parse(text_only, origin="t"))
    engine.evaluate(
        session=session,
        source=None,
        now=datetime(2026, 3, 2, 9, tzinfo=UTC),
        settings=mail_settings,
    )
    assert mail_service.deliver_due(tx, mail_settings).sent == 1
    [got] = smtp_server.received
    html = got.part("html")
    assert "GrpX&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html and "<script" not in html
    assert got.part("plain").startswith(f"Hi Pat {SCRIPT} at {ACCOUNT} (Soft & {IMG})")
