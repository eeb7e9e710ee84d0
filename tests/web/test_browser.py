"""A real browser flow: headless Chromium (Playwright) against a real HTTP server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import uvicorn

from boomerang.accounts.models import ContactRole, Stage
from boomerang.app import create_app
from boomerang.billing import service as billing_service
from boomerang.config import Settings
from boomerang.db import engine_from_settings, session_factory
from boomerang.schema import migrate
from boomerang.tasks import service as tasks_service
from boomerang.tasks.models import TaskType
from boomerang.timeline import events as timeline_events
from boomerang.timeline.models import EntryKind
from boomerang.users.models import Role
from tests.factories import PASSWORD, add_contact, add_line, make_account, make_user

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    # No background jobs: what the pages show is only what the test put there.
    settings = Settings(
        data_dir=tmp_path / "var",
        secret_key="b" * 16 + "rowser" * 4,
        health_schedule=False,
        worker_in_server=False,
    )
    engine = engine_from_settings(settings)
    migrate(engine)
    with session_factory(engine)() as session, session.begin():
        csm = make_user(session, Role.csm, email="casey@example.com")
        acme = make_account(
            session,
            name="Acme Rockets",
            owner=csm,
            tier="enterprise",
            stage=Stage.performance,
            domain="acme.example",
        )
        add_line(session, acme, 125000, date(2025, 2, 1), renewal=date(2099, 2, 1), seats=120)
        add_contact(session, acme, "Wile E. Coyote", ContactRole.champion)
        timeline_events.note_logged(
            session=session,
            account_id=acme.id,
            kind=EntryKind.meeting,
            body="Quarterly business review",
            author=csm,
        )
        for i in range(3):
            make_account(session, name=f"Smaller Co {i}", owner=csm, tier="smb")
        tasks_service.create(
            session=session,
            account=acme,
            title="Call Wile about the renewal",
            type=TaskType.lifecycle,
            due_on=date.today() - timedelta(days=1),
        )
        billing_service.refresh_rollups(session=session, today=date(2026, 1, 1))
    port = _free_port()
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


def test_login_list_and_open_an_account(live_server: str) -> None:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: `make test` installs it with apt-get when run as root")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(f"{live_server}/accounts")
            expect(page).to_have_url(f"{live_server}/login?next=%2Faccounts")
            page.fill("input[name=email]", "casey@example.com")
            page.fill("input[name=password]", "not the password")
            page.click("button[type=submit]")
            expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")

            expect(page).to_have_url(f"{live_server}/accounts")
            expect(page.locator("#total")).to_have_text("4 accounts")
            first_row = page.locator("#accounts tbody tr").first
            expect(first_row).to_contain_text("Acme Rockets")
            expect(first_row).to_contain_text("$125,000")

            page.fill("input[name=q]", "smaller co 1")
            page.click("form.filters button[type=submit]")
            expect(page.locator("#accounts tbody tr")).to_have_count(1)
            page.fill("input[name=q]", "")
            page.select_option("select[name=tier]", "enterprise")
            page.click("form.filters button[type=submit]")
            page.click("text=Acme Rockets")

            expect(page.locator("h1")).to_have_text("Acme Rockets")
            expect(page.locator("#arr")).to_have_text("$125,000")
            expect(page.locator("#renewal")).to_have_text("2099-02-01")
            expect(page.locator("#contacts")).to_contain_text("Wile E. Coyote")
            expect(page.locator("#timeline")).to_contain_text("Quarterly business review")

            page.fill("#note-body", "Called about the renewal")
            page.click("#timeline button[type=submit]")
            expect(page.locator("#timeline ol")).to_contain_text("Called about the renewal")

            page.click("text=Log out")
            expect(page).to_have_url(f"{live_server}/login")
        finally:
            browser.close()


def test_a_csm_works_the_task_inbox_and_dry_runs_a_playbook(live_server: str) -> None:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: `make test` installs it with apt-get when run as root")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(f"{live_server}/login?next=/tasks")
            page.fill("input[name=email]", "casey@example.com")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{live_server}/tasks")
            expect(page.locator("#my-counts")).to_contain_text("1 overdue")
            row = page.locator("#tasks tbody tr.overdue")
            expect(row).to_contain_text("Call Wile about the renewal")
            row.locator("input[name=outcome]").fill("Renewal agreed for two years")
            row.locator("text=Done").click()
            expect(page.locator("#tasks tbody")).to_contain_text("Nothing here.")
            page.goto(f"{live_server}/accounts")
            page.click("text=Acme Rockets")
            expect(page.locator("#timeline")).to_contain_text(
                "Task done: Call Wile about the renewal"
            )
            expect(page.locator("#timeline")).to_contain_text("Renewal agreed for two years")

            page.goto(f"{live_server}/playbooks")
            page.click("text=Health turned red")
            page.click("#dry-run button[type=submit]")
            expect(page.locator("#fired-count")).to_contain_text("0 firings")
        finally:
            browser.close()
