"""The key flow in a real browser: the NPS email arrives over SMTP, the customer opens its
score link in headless Chromium, answers, sees the thank-you; the CSM sees it."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import ContactRole
from boomerang.app import create_app
from boomerang.config import Settings
from boomerang.db import engine_from_settings, session_factory
from boomerang.mail.service import deliver_due
from boomerang.schema import migrate
from boomerang.surveys import service
from boomerang.surveys.models import SurveyResponse
from boomerang.users.models import Role
from tests.factories import PASSWORD, make_account, make_user
from tests.mail.conftest import SMTPServer
from tests.web.test_browser import CHROMIUM, CHROMIUM_FLAGS, _free_port

pytestmark = pytest.mark.browser


@dataclass
class Live:
    url: str
    engine: Engine
    settings: Settings


@pytest.fixture
def live(tmp_path: Path, smtp_server: SMTPServer) -> Iterator[Live]:
    port = _free_port()
    settings = Settings(
        data_dir=tmp_path / "var",
        secret_key="s" * 16 + "urveys" * 4,
        health_schedule=False,
        worker_in_server=False,
        public_url=f"http://127.0.0.1:{port}",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        email_from="cs@boomerang.example",
    )
    engine = engine_from_settings(settings)
    migrate(engine)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, engine=engine), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield Live(f"http://127.0.0.1:{port}", engine, settings)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def test_a_customer_answers_from_the_email_and_the_csm_sees_it(
    live: Live, smtp_server: SMTPServer
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: `make test` installs it with apt-get when run as root")
    from playwright.sync_api import expect, sync_playwright

    factory = session_factory(live.engine)
    with factory() as session, session.begin():
        csm = make_user(session, Role.csm, email="casey@example.com")
        acme = make_account(session, name="Acme Rockets", owner=csm, tier="enterprise")
        accounts_service.create_contact(
            session=session,
            account=acme,
            name="Wile Coyote",
            email="wile@acme.example",
            roles=[ContactRole.champion],
        )
        program = service.create_program(
            session=session, name="NPS", kind="nps", roles=["champion"]
        )
        service.send(session=session, settings=live.settings, program=program)
        account_id = acme.id

    @contextmanager
    def transaction() -> Iterator[Session]:
        with factory() as s, s.begin():
            yield s

    assert deliver_due(transaction, live.settings).sent == 1
    (email,) = smtp_server.received
    links = re.findall(r'href="([^"]+\?score=(\d+))"', email.part("html"))
    link = next(url for url, n in links if n == "8")
    assert link.startswith(live.url)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            phone = browser.new_page(viewport={"width": 375, "height": 700})
            requests: list[str] = []
            phone.on("request", lambda r: requests.append(r.url))
            phone.goto(link)
            expect(phone.locator("#question")).to_have_text(program.question)
            expect(phone.locator('input[name="score"][value="8"]')).to_be_checked()
            phone.locator('label:has(input[value="9"]) span').click()  # changes their mind
            phone.fill("#comment", "Great onboarding, pricey add-ons")
            phone.click("button[type=submit]")
            expect(phone.locator("#thanks")).to_contain_text("Your answer was recorded")
            assert all(u.startswith(live.url) for u in requests), requests  # nothing external
            phone.goto(link)
            expect(phone.locator("#already")).to_contain_text("already answered")

            page = browser.new_page()
            page.goto(f"{live.url}/login")
            page.fill("input[name=email]", "casey@example.com")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"{live.url}/accounts/{account_id}")
            expect(page.locator("#account-surveys")).to_contain_text("Wile Coyote")
            expect(page.locator("#account-surveys .score")).to_contain_text("9")
            page.goto(f"{live.url}/surveys?by=tier")
            expect(page.locator('tr[data-group="enterprise"] .nps')).to_have_text("+100")
        finally:
            browser.close()

    with factory() as session:
        answer = session.scalars(select(SurveyResponse)).one()
        assert (answer.score, answer.comment) == (9, "Great onboarding, pricey add-ons")
