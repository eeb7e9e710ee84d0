"""Keeps the secrets of links out of the server's access log.

The links we email or share carry a signed token in their path (survey answers ``/s/...``,
unsubscribe ``/u/...``, digest opt-outs, shared success plans, the survey API's
``respond/...``); whoever reads the log could use them. :func:`install` finds every route
whose path has a ``{...token...}`` parameter and adds a filter to uvicorn's access logger
that writes ``…`` in place of those segments, and of the values of query parameters such as
``?token=``: ``"GET /s/…?score=9 HTTP/1.1" 200``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator

from fastapi import FastAPI

REDACTED = "…"
ACCESS_LOGGER = "uvicorn.access"
SECRET_PARAMS = (
    "token",
    "access_token",
    "api_key",
    "key",
    "write_key",
    "writekey",
    "secret",
    "signature",
    "sig",
    "password",
)
"""Query parameters whose values are never logged (case-insensitive)."""

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}")
_QUERY = re.compile(
    r"(?i)(^|&)((?:" + "|".join(SECRET_PARAMS) + r")(?:%5B%5D|\[\])?)=[^&]*",
)


def token_pattern(path: str) -> re.Pattern[str] | None:
    """A regex matching ``path`` (a route template) with its token parameters as groups;
    None when the route has no token parameter."""
    parts: list[str] = []
    tokens = 0
    last = 0
    for match in _PARAM.finditer(path):
        parts.append(re.escape(path[last : match.start()]))
        is_token = "token" in match.group(1).lower()
        tokens += is_token
        parts.append("([^/]+)" if is_token else "[^/]+")
        last = match.end()
    parts.append(re.escape(path[last:]))
    return re.compile("".join(parts)) if tokens else None


class RedactTokens(logging.Filter):
    """Rewrites the path of uvicorn's access records (``args[2]``): token segments of the
    known routes and secret query values become ``…``. Never drops a record."""

    def __init__(self) -> None:
        super().__init__()
        self.patterns: dict[str, re.Pattern[str]] = {}

    def add(self, paths: Iterable[str]) -> None:
        """Redact the token parameters of these route templates too."""
        for path in paths:
            pattern = token_pattern(path)
            if pattern is not None:
                self.patterns.setdefault(path, pattern)

    def redact(self, target: str) -> str:
        """``/s/eyJh...?score=9&token=x`` -> ``/s/…?score=9&token=…``."""
        path, sep, query = target.partition("?")
        for pattern in self.patterns.values():
            match = pattern.fullmatch(path)
            if match:
                for group in range(len(match.groups()), 0, -1):
                    start, end = match.span(group)
                    path = path[:start] + REDACTED + path[end:]
                break
        return path + sep + _QUERY.sub(lambda m: f"{m.group(1)}{m.group(2)}={REDACTED}", query)

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (*args[:2], self.redact(args[2]), *args[3:])
        return True


def install(app: FastAPI) -> RedactTokens:
    """Add ``app``'s token routes to the access logger's filter (one per process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    found = [f for f in logger.filters if isinstance(f, RedactTokens)]
    redactor = found[0] if found else RedactTokens()
    if not found:
        logger.addFilter(redactor)
    redactor.add(_route_paths(app))
    return redactor


def _route_paths(app: FastAPI) -> Iterator[str]:
    """Every route's path template, those of included routers with their prefix."""
    try:  # FastAPI 0.16x includes routers lazily: app.routes holds the routers, not routes
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is flat
        routes: Iterable[object] = app.routes
    else:
        routes = iter_route_contexts(app.routes)
    for route in routes:
        path = getattr(route, "path", None)
        if isinstance(path, str):
            yield path
