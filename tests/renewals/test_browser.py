"""The renewals flow in a real browser: headless Chromium (Playwright) against a real server.

A CSM opens the forecast, overrides an at-risk renewal with a reason, records an expansion
at renewal, then finds the won expansion opportunity and the account's timeline entry."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn

from boomerang.app import create_app
from boomerang.billing import service as billing_service
from boomerang.config import Settings
from boomerang.db import engine_from_settings, session_factory
from boomerang.schema import migrate
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import PASSWORD, add_line, make_account
from tests.renewals.helpers import predict
from tests.web.test_browser import CHROMIUM, CHROMIUM_FLAGS, _free_port

pytestmark = pytest.mark.browser
TODAY = datetime.now(UTC).date()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    settings = Settings(
        data_dir=tmp_path / "var",
        secret_key="r" * 16 + "enewal" * 4,
        health_schedule=False,
        worker_in_server=False,
    )
    engine = engine_from_settings(settings)
    migrate(engine)
    with session_factory(engine)() as session, session.begin():
        csm = users_service.create(
            session=session, email="casey@example.com", role=Role.csm, team="Enterprise",
            password=PASSWORD,
        )  # fmt: skip
        acme = make_account(session, name="Acme Rockets", owner=csm, tier="enterprise")
        wayne = make_account(session, name="Wayne Enterprises", owner=csm)
        core = add_line(
            session, acme, 120000, TODAY - timedelta(days=340), renewal=TODAY + timedelta(days=25)
        )
        risky = add_line(
            session, wayne, 60000, TODAY - timedelta(days=300), renewal=TODAY + timedelta(days=65)
        )
        predict(session, acme, TODAY, 0.05)
        predict(session, wayne, TODAY, 0.55)
        billing_service.refresh_rollups(session=session, today=TODAY)
        ids = {"core": core.id, "risky": risky.id, "acme": acme.id}
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
    yield f"http://127.0.0.1:{port}", ids
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def test_a_csm_forecasts_overrides_and_records_a_renewal(
    live_server: tuple[str, dict[str, str]],
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: `make test` installs it with apt-get when run as root")
    from playwright.sync_api import expect, sync_playwright

    url, ids = live_server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(f"{url}/login?next=/renewals")
            page.fill("input[name=email]", "casey@example.com")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{url}/renewals")
            expect(page.locator("#forecast tbody tr")).to_have_count(2)
            expect(page.locator("#rollups h2")).to_contain_text("$180.0k up, $141.0k expected")

            risky = page.locator(f'#pipeline tr[data-id="{ids["risky"]}"]')
            expect(risky.locator('[data-col="category"]')).to_contain_text("At risk")
            risky.locator("summary", has_text="Override").click()
            risky.locator("form.override input[name=probability]").fill("0.9")
            risky.locator("form.override input[name=reason]").fill("CFO signed the order form")
            risky.locator("form.override button[type=submit]").click()
            expect(page.locator("#done")).to_contain_text("overridden")
            risky = page.locator(f'#pipeline tr[data-id="{ids["risky"]}"]')
            expect(risky.locator('[data-col="category"]')).to_contain_text("Commit")
            expect(risky.locator('[data-col="category"]')).to_contain_text("CFO signed")
            expect(page.locator("#rollups h2")).to_contain_text("$168.0k expected")

            core = page.locator(f'#pipeline tr[data-id="{ids["core"]}"]')
            core.locator("summary", has_text="Outcome").click()
            core.locator("form.outcome select[name=outcome]").select_option("expanded")
            core.locator("form.outcome input[name=new_arr]").fill("100")
            core.locator("form.outcome button[type=submit]").click()
            expect(page.locator("main")).to_contain_text("an expansion needs an ARR above")
            page.go_back()
            core = page.locator(f'#pipeline tr[data-id="{ids["core"]}"]')
            core.locator("summary", has_text="Outcome").click()
            core.locator("form.outcome select[name=outcome]").select_option("expanded")
            core.locator("form.outcome input[name=new_arr]").fill("150000")
            core.locator("form.outcome button[type=submit]").click()
            expect(page.locator("#done")).to_contain_text("recorded: expanded")
            expect(page.locator(f'#pipeline tr[data-id="{ids["core"]}"]')).to_have_count(0)

            page.goto(f"{url}/accounts/{ids['acme']}")
            expect(page.locator("#timeline")).to_contain_text(
                "expanded from 120,000.00 to 150,000.00 USD"
            )
        finally:
            browser.close()
