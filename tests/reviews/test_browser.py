"""A CSM in a real browser (headless Chromium) generates an enterprise account's quarterly
deck as PDF from the account page, downloads it, and finds the review among the overdue."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import uvicorn
from pypdf import PdfReader

from boomerang.accounts.models import ContactRole, Stage
from boomerang.app import create_app
from boomerang.billing import service as billing_service
from boomerang.config import Settings
from boomerang.db import engine_from_settings, session_factory
from boomerang.reviews import periods
from boomerang.schema import migrate
from boomerang.users.models import Role
from tests.factories import PASSWORD, add_contact, add_line, make_account, make_user
from tests.web.test_browser import CHROMIUM, CHROMIUM_FLAGS, _free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    settings = Settings(
        data_dir=tmp_path / "var",
        secret_key="r" * 16 + "eviews" * 4,
        health_schedule=False,
        worker_in_server=False,
        company_name="Northwind Analytics",
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
            created_at=datetime(2024, 1, 1, tzinfo=UTC),
        )
        add_line(session, acme, 125000, date(2024, 2, 1), renewal=date(2099, 2, 1), seats=120)
        add_contact(session, acme, "Wile E. Coyote", ContactRole.champion)
        billing_service.refresh_rollups(session=session, today=datetime.now(UTC).date())
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


def test_csm_generates_the_quarterly_deck(live_server: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: `make test` installs it with apt-get when run as root")
    from playwright.sync_api import expect, sync_playwright

    quarter = periods.previous(datetime.now(UTC).date(), months=3)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(accept_downloads=True)
            page.goto(f"{live_server}/login")
            page.fill("input[name=email]", "casey@example.com")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.get_by_role("link", name="Acme Rockets").click()
            expect(page.locator("h1")).to_have_text("Acme Rockets")

            card = page.locator("#business-reviews")
            card.locator("select[name=format]").select_option("pdf")
            card.get_by_role("button", name=f"Generate the {quarter.label} review deck").click()
            expect(page.locator("h1")).to_have_text(
                f"Acme Rockets: {quarter.title} business review"
            )
            expect(page.locator("#section-numbers h2")).to_have_text(f"{quarter.title} in numbers")
            link = page.locator("a.deck-link[data-format=pdf]")
            expect(link).to_have_count(1)
            with page.expect_download() as info:
                link.click()
            download = info.value
            assert download.suggested_filename == f"Acme-Rockets-{quarter.label}-review.pdf"
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
            text = "".join(p.extract_text() or "" for p in PdfReader(saved).pages)
            assert "Northwind Analytics" in text and "Acme Rockets" in text
            assert "$125,000" in text and f"{quarter.title} in numbers" in text

            # The team's internal notes, then the portfolio's overdue reviews.
            page.fill("textarea[name=product_notes]", "SSO arrives next quarter")
            page.get_by_role("button", name="Save notes").click()
            expect(page.locator("textarea[name=product_notes]")).to_have_value(
                "SSO arrives next quarter"
            )
            page.goto(f"{live_server}/accounts")
            page.click("#overdue-reviews")
            rows = page.locator("#reviews tbody tr")
            if quarter.end.toordinal() + 30 < datetime.now(UTC).date().toordinal():
                expect(rows).to_have_count(1)
                expect(rows.first).to_contain_text("Acme Rockets")
                expect(rows.first).to_contain_text("overdue")
            else:  # early in a quarter the last one's meeting is not due yet
                expect(rows.first).to_contain_text("No business reviews")
        finally:
            browser.close()
