"""The key flow in a real browser (headless Chromium, Playwright) against a real HTTP
server: from the account page a CSM starts a success plan, adds a milestone and a KPI,
marks progress, shares the plan, then opens the account's value page, adds a stakeholder
to the digest and previews it (the chart image loads)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn

from boomerang.accounts.models import ContactRole, Stage
from boomerang.app import create_app
from boomerang.config import Settings
from boomerang.db import engine_from_settings, session_factory
from boomerang.events.store import EventStore
from boomerang.schema import migrate
from boomerang.users.models import Role
from boomerang.value.models import ValueKind, ValueMetric
from tests.factories import PASSWORD, add_contact, make_account, make_user
from tests.value.helpers import write_events
from tests.web.test_browser import CHROMIUM, CHROMIUM_FLAGS, _free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    settings = Settings(
        data_dir=tmp_path / "var",
        public_url=f"http://127.0.0.1:{port}",  # shared links point at this server
        secret_key="s" * 16 + "uccess" * 4,
        health_schedule=False,
        worker_in_server=False,
    )
    engine = engine_from_settings(settings)
    migrate(engine)
    with session_factory(engine)() as session, session.begin():
        csm = make_user(session, Role.csm, email="casey@example.com")
        acme = make_account(
            session, name="Acme Rockets", external_id="acme", owner=csm, stage=Stage.adoption
        )
        contact = add_contact(session, acme, "Wile E. Coyote", ContactRole.champion)
        contact.email = "wile@acme.example"
        session.add(
            ValueMetric(
                key="hours_saved",
                name="Hours saved",
                unit="hours",
                kind=ValueKind.counted,
                event="Workflow Automated",
                factor=0.5,
            )
        )
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    write_events(
        EventStore(settings.events_dir),
        [("acme", "Workflow Automated", f"{yesterday} 10:00", None)] * 4,
    )
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
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def test_a_csm_builds_a_success_plan_and_sets_up_the_value_digest(live_server: str) -> None:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: `make test` installs it with apt-get when run as root")
    from playwright.sync_api import expect, sync_playwright

    today = datetime.now(UTC).date()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(f"{live_server}/login")
            page.fill("input[name=email]", "casey@example.com")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.click("text=Acme Rockets")
            page.click("#success-plan-link")
            expect(page.locator("#no-plan")).to_be_visible()
            page.fill("#new-plan input[name=title]", "Acme success plan")
            page.click("#new-plan button[type=submit]")
            expect(page.locator("#plan-title")).to_contain_text("Acme success plan")

            page.fill("#add-outcome input[name=text]", "Catch the road runner by spring")
            page.click("#add-outcome button[type=submit]")
            expect(page.locator("#outcomes")).to_contain_text("Catch the road runner by spring")
            page.fill("#add-milestone input[name=title]", "Rockets delivered")
            page.fill("#add-milestone input[name=target_on]", str(today + timedelta(days=7)))
            page.click("#add-milestone button[type=submit]")
            page.fill("#add-kpi input[name=name]", "Rockets fired")
            page.fill("#add-kpi input[name=baseline]", "0")
            page.fill("#add-kpi input[name=target]", "10")
            page.click("#add-kpi button[type=submit]")
            expect(page.locator("#plan-progress")).to_have_text("0%")

            page.click("#milestones button:has-text('Mark met')")
            page.fill("#kpis input[name=value]", "3")
            page.click("#kpis button:has-text('Record')")
            expect(page.locator("#milestones-met")).to_have_text("1 of 1")
            expect(page.locator("#kpis-on-track")).to_have_text("1 of 1")
            expect(page.locator("#plan-progress")).to_have_text("100%")

            page.click("#make-link")
            shared_url = page.locator("#share-url").input_value()
            customer = browser.new_page()  # no login: the signed link is the key
            customer.goto(shared_url)
            expect(customer.locator("#plan-title")).to_have_text("Acme Rockets: Acme success plan")
            expect(customer.locator("#outcomes")).to_contain_text("Catch the road runner")
            expect(customer.locator("form")).to_have_count(0)
            customer.close()

            page.goto(f"{live_server}/accounts")
            page.click("text=Acme Rockets")
            page.click("#value-link")
            row = page.locator('#value-metrics tr[data-key="hours_saved"]')
            expect(row.locator(".value-total")).to_have_text("2.0 hours")
            loaded = row.locator("img").evaluate("img => img.decode().then(() => img.naturalWidth)")
            assert loaded == 560
            page.select_option("#add-stakeholder select[name=frequency]", "weekly")
            page.click("#add-stakeholder button[type=submit]")
            expect(page.locator("#digests tbody")).to_contain_text("Wile E. Coyote")
            expect(page.locator("#digests tbody")).to_contain_text("weekly")
            page.click("#test-send button[type=submit]")
            expect(page.locator("#test-sent")).to_contain_text("casey@example.com")
            with page.expect_popup() as popup:
                page.click("#preview-monthly")
            preview = popup.value
            expect(preview.locator("img")).to_have_count(1)
            width = preview.locator("img").evaluate(
                "img => img.decode().then(() => img.naturalWidth)"
            )
            assert width == 560
        finally:
            browser.close()
