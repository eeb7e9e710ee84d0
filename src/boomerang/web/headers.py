"""Security headers on every response: a Content-Security-Policy that lets a page load only
this origin's scripts, styles, images and fonts (the few inline ``<style>`` blocks carry the
request's nonce), refuses framing, plugins, foreign form targets and ``<base>``; plus
``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy:
same-origin``.

A response that sets one of these headers itself keeps its own: documents made from
customer data (review decks, digest previews) answer with :data:`SANDBOX_POLICY`, the
public survey page with ``Referrer-Policy: no-referrer``. The API docs page (Swagger UI,
served from this origin) gets the hashes of its inline scripts.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NONCE_KEY = "csp_nonce"
"""The request's nonce, as ``request.state.csp_nonce``: templates put it on inline styles."""

COMMON = (
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)

SANDBOX_POLICY = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""For a document built from customer data, shown on this origin: the browser gives it a
unique origin of its own (no cookies, no script, no form), with its inline styles and
``data:`` images."""

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def page_policy(nonce: str) -> str:
    """The policy of every page: this origin only; inline ``<style>`` with ``nonce``."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            f"style-src 'self' 'nonce-{nonce}'",
            "style-src-attr 'unsafe-inline'",  # a few computed widths and colours
            "img-src 'self'",
            "font-src 'self'",
            "connect-src 'self'",
            *COMMON,
        )
    )


def docs_policy(body: bytes) -> str:
    """The API docs page's policy: this origin, and its inline scripts by their SHA-256."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()}'"
        for m in _INLINE_SCRIPT.finditer(body)
    )
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' {hashes}".rstrip(),
            "style-src 'self'",
            "style-src-attr 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            *COMMON,
        )
    )


def secure(headers: MutableHeaders, policy: str) -> None:
    """Add the security headers the response does not set itself."""
    headers.setdefault("Content-Security-Policy", policy)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")


class SecurityHeaders:
    """ASGI middleware: the headers above on every HTTP response (pages, API, static files,
    error pages). ``docs_path`` is the Swagger UI page, whose inline scripts are hashed."""

    def __init__(self, app: ASGIApp, docs_path: str | None = None) -> None:
        self.app = app
        self.docs_path = docs_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})[NONCE_KEY] = nonce
        if self.docs_path is not None and scope["path"] == self.docs_path:
            await self._docs(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                secure(MutableHeaders(scope=message), page_policy(nonce))
            await send(message)

        await self.app(scope, receive, send_secured)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hold the docs page (a few KB) until complete, then send it with its policy."""
        start: Message = {}
        body = bytearray()

        async def send_held(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    secure(MutableHeaders(scope=start), docs_policy(bytes(body)))
                    await send(start)
                    await send({"type": "http.response.body", "body": bytes(body)})
            else:
                await send(message)

        await self.app(scope, receive, send_held)
