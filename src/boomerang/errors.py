"""Domain exceptions; each carries the HTTP status the web layer answers with."""

from __future__ import annotations

from collections.abc import Callable


class BoomerangError(Exception):
    """Base of every error Boomerang reports to a user."""

    status_code = 500
    after: Callable[[], object] | None = None
    """Work to run once the error is answered (the web layer runs it after the response),
    outside the request's transaction, which is rolled back: e.g. counting a failed attempt."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(BoomerangError):
    """The request cannot be read at all (bad JSON, wrong encoding)."""

    status_code = 400


class Invalid(BoomerangError):
    """The input is wrong; the message says what and where."""

    status_code = 422


class NotFound(BoomerangError):
    status_code = 404


class Conflict(BoomerangError):
    status_code = 409


class Unauthorized(BoomerangError):
    status_code = 401


class Forbidden(BoomerangError):
    status_code = 403


class TooManyRequests(BoomerangError):
    """Too many attempts (failed logins, wrong API tokens): try again in ``retry_after``
    seconds (the Retry-After header)."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Busy(BoomerangError):
    """The store could not take the write in time (another writer holds it): nothing was
    changed, and the same request may be sent again (``retry_after`` seconds is a fair wait)."""

    status_code = 503
    retry_after = 2


class ConfigError(BoomerangError):
    """Configuration is missing or unsafe."""

    status_code = 500
