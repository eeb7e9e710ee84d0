"""Security headers on every kind of response (through the real app), inline styles allowed
only by the request's nonce, and documents built from customer data served sandboxed."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx2 as httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.users import service as users_service
from boomerang.web.headers import SANDBOX_POLICY
from tests.factories import make_account, make_user
from tests.web.test_ui import csrf, login, soup

SAME_ORIGIN = (
    "default-src 'self'",
    "script-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)


def _directives(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.split()[0]: d for d in (part.strip() for part in policy.split(";")) if d}


def _assert_secured(response: httpx.Response) -> dict[str, str]:
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    directives = _directives(response)
    for directive in SAME_ORIGIN:
        assert directives[directive.split()[0]] == directive
    assert re.fullmatch(r"style-src 'self' 'nonce-[A-Za-z0-9_-]{24}'", directives["style-src"])
    assert directives["style-src-attr"] == "style-src-attr 'unsafe-inline'"
    return directives


def test_headers_on_a_page_json_a_404_and_a_static_file(
    client: TestClient, session: Session
) -> None:
    page = client.get("/login")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    first = _assert_secured(page)
    assert _assert_secured(client.get("/login"))["style-src"] != first["style-src"]  # per request

    user = make_user(session)
    token = users_service.create_token(session=session, user=user, name="t")[1]
    api = client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.headers["content-type"] == "application/json"
    _assert_secured(api)
    _assert_secured(client.get("/healthz"))
    unauthorised = client.get("/api/v1/accounts")
    assert unauthorised.status_code == 401
    _assert_secured(unauthorised)

    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    _assert_secured(missing)
    static = client.get("/static/boomerang.css")
    assert static.status_code == 200 and static.headers["content-type"].startswith("text/css")
    _assert_secured(static)
    static_missing = client.get("/static/nope.css")
    assert static_missing.status_code == 404
    _assert_secured(static_missing)


def test_inline_styles_carry_the_nonce_of_their_response(client: TestClient) -> None:
    """The public survey page (one self-contained page) keeps its inline style under the
    policy: the style element's nonce is the one the header allows."""
    forged = client.get("/s/not-a-real-token")
    assert forged.status_code == 400
    style = soup(forged.text).find("style")
    assert style is not None and style.get("nonce")
    assert f"'nonce-{style['nonce']}'" in _directives(forged)["style-src"]
    assert forged.headers["referrer-policy"] == "no-referrer"  # the page's own, kept


def test_review_page_style_and_html_deck_sandboxed(client: TestClient, session: Session) -> None:
    csm = make_user(session)
    make_account(session, name="Initech", owner=csm, external_id="initech", tier="enterprise")
    login(client, csm)
    made = client.post(
        "/reviews/deck",
        data={
            "account": "initech",
            "period": "2026-Q2",
            "format": "html",
            "csrf_token": csrf(client, "/reviews"),
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    review = client.get(made.headers["location"])
    style = soup(review.text).find("style")
    assert style is not None
    assert f"'nonce-{style['nonce']}'" in _assert_secured(review)["style-src"]

    link = soup(review.text).select_one("a.deck-link")
    assert link is not None and link["data-format"] == "html"
    deck = client.get(str(link["href"]))
    assert deck.status_code == 200 and deck.text.lstrip().startswith("<!doctype html>")
    assert deck.headers["content-security-policy"] == SANDBOX_POLICY
    assert SANDBOX_POLICY.startswith("sandbox;") and "script-src" not in SANDBOX_POLICY
    assert deck.headers["content-disposition"].startswith("inline;")
    assert deck.headers["x-content-type-options"] == "nosniff"
    download = client.get(str(link["href"]), params={"download": "1"})
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["content-security-policy"] == SANDBOX_POLICY


def test_api_docs_allow_their_own_inline_script_by_hash(client: TestClient) -> None:
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    scripts = [s.string for s in soup(docs.text).find_all("script") if not s.get("src")]
    assert scripts and all(scripts)
    hashes = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts
    }
    script_src = _directives(docs)["script-src"].split()
    assert set(script_src) == {"script-src", "'self'", *hashes}  # no CDN: Boomerang is offline
    for tag, attr in (("script", "src"), ("link", "href")):
        for element in soup(docs.text).find_all(tag):
            if element.get(attr):
                asset = client.get(str(element[attr]))
                assert asset.status_code == 200 and len(asset.content) > 100, element[attr]
    assert docs.headers["x-frame-options"] == "DENY"
