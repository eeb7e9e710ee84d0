"""A manager approves a playbook's email on the Outbox page, in a real browser, and an
admin sees the queued delivery job on the Jobs page."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from boomerang.accounts.models import ContactRole
from boomerang.app import create_app
from boomerang.config import Settings
from boomerang.db import engine_from_settings, session_factory
from boomerang.jobs import service as jobs_service
from boomerang.mail import service as mail_service
from boomerang.mail.models import MessageStatus, OutboxMessage
from boomerang.schema import migrate
from boomerang.users.models import Role
from tests.factories import PASSWORD, add_contact, make_account, make_user
from tests.web.test_browser import CHROMIUM, CHROMIUM_FLAGS, _free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    settings = Settings(
        data_dir=tmp_path / "var",
        secret_key="o" * 16 + "utbox!" * 4,
        health_schedule=False,
        worker_in_server=False,
        email_from="cs@boomerang.example",
    )
    engine = engine_from_settings(settings)
    migrate(engine)
    with session_factory(engine)() as session, session.begin():
        make_user(session, Role.manager, email="morgan@example.com")
        make_user(session, Role.admin, email="ada@example.com")
        csm = make_user(session, Role.csm, email="casey@example.com")
        acme = make_account(session, name="Acme Rockets", owner=csm, tier="enterprise")
        wile = add_contact(session, acme, "Wile E. Coyote", ContactRole.champion)
        wile.email = "wile@acme.example"
        mail_service.enqueue(
            session=session,
            settings=settings,
            account=acme,
            to_contact=wile,
            subject="Your renewal",
            text="Hello Wile, shall we talk about the renewal?",
            source="playbook:renewal-120-days",
            require_approval=True,
        )
        jobs_service.enqueue(
            session=session, kind="webhook.deliver", payload={"endpoint_id": "x", "event": {}}
        )
    port = _free_port()
    app = create_app(settings, engine=engine)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", settings
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def _login(page: object, base: str, email: str, then: str) -> None:
    page.goto(f"{base}/login?next={then}")  # type: ignore[attr-defined]
    page.fill("input[name=email]", email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def test_a_manager_approves_an_email_and_an_admin_sees_the_jobs(
    server: tuple[str, Settings],
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: `make test` installs it with apt-get when run as root")
    from playwright.sync_api import expect, sync_playwright

    base, settings = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            _login(page, base, "morgan@example.com", "/outbox")
            expect(page).to_have_url(f"{base}/outbox")
            pending = page.locator("#pending tbody tr")
            expect(pending).to_have_count(1)
            expect(pending).to_contain_text("Your renewal")
            pending.locator("button", has_text="Approve").click()
            expect(page.locator("#pending")).not_to_contain_text("Your renewal")

            other = browser.new_page()
            _login(other, base, "ada@example.com", "/admin/jobs")
            expect(other).to_have_url(f"{base}/admin/jobs")
            expect(other.locator("body")).to_contain_text("webhook.deliver")
        finally:
            browser.close()
    engine = engine_from_settings(settings)
    try:
        with session_factory(engine)() as session:
            message = session.scalars(select(OutboxMessage)).one()
            assert message.status is MessageStatus.queued and message.approved_by_id is not None
    finally:
        engine.dispose()
