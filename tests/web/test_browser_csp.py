"""Every page of the menu in a real browser (headless Chromium) under the Content Security
Policy: styles apply, inline styles with their nonce, and the browser reports no violation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import PASSWORD
from tests.web.test_browser import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    live_server,  # noqa: F401  (the fixture)
)

pytestmark = pytest.mark.browser


def test_pages_render_under_the_policy_without_violations(live_server: str) -> None:  # noqa: F811
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: `make test` installs it with apt-get when run as root")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            refused: list[str] = []
            page.on(
                "console",
                lambda m: (
                    refused.append(f"{page.url}: {m.text}")
                    if "Content Security Policy" in m.text
                    else None
                ),
            )
            page.goto(f"{live_server}/login")
            page.fill("input[name=email]", "casey@example.com")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{live_server}/accounts")
            menu = [
                str(a) for a in page.eval_on_selector_all(".mainnav a", "as => as.map(a => a.href)")
            ]
            assert len(menu) >= 8
            page.click("text=Acme Rockets")
            pages = [*menu, page.url]
            for url in pages:
                answer = page.goto(url)
                assert answer is not None and answer.status == 200, url
                assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
                assert _style(page, ".topbar", "display") == "flex", url  # the stylesheet

            # The public survey page: its only styles are inline, allowed by their nonce.
            answer = page.goto(f"{live_server}/s/forged")
            assert answer is not None and answer.status == 400
            assert _style(page, "body", "background-color") == "rgb(245, 245, 244)"
            assert refused == []

            # The policy is enforced: a style injected without the nonce is refused.
            page.evaluate(
                "() => { const s = document.createElement('style');"
                " s.textContent = 'body { background-color: red }';"
                " document.head.appendChild(s); }"
            )
            page.wait_for_timeout(200)
            assert _style(page, "body", "background-color") == "rgb(245, 245, 244)"
            assert len(refused) == 1 and "style-src" in refused[0]
        finally:
            browser.close()


def _style(page: Any, selector: str, prop: str) -> str:
    return str(
        page.eval_on_selector(selector, f"e => getComputedStyle(e).getPropertyValue('{prop}')")
    )
