"""Error pages on a real server: the request's transaction is rolled back before the page
is drawn, and the page must still show (with the signed-in user's menu)."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

from tests.factories import PASSWORD
from tests.web.test_browser import live_server  # noqa: F401  (the fixture)


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )


def _get(opener: urllib.request.OpenerDirector, url: str) -> tuple[int, str]:
    try:
        with opener.open(url, timeout=20) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_a_not_found_page_after_login_is_a_page_not_a_crash(live_server: str) -> None:  # noqa: F811
    opener = _opener()
    status, page = _get(opener, f"{live_server}/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert status == 200 and token is not None
    form = urllib.parse.urlencode(
        {"email": "casey@example.com", "password": PASSWORD, "csrf_token": token.group(1)}
    ).encode()
    with opener.open(f"{live_server}/login", data=form, timeout=20) as answer:
        assert answer.status == 200
    status, page = _get(opener, f"{live_server}/accounts/acc_does_not_exist")
    assert status == 404, page[:500]
    assert "casey" in page.lower() or "Casey" in page  # the menu shows who is signed in
    assert "Log out" in page
