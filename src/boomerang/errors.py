"""Domain exceptions; each carries the HTTP status the web layer answers with."""

from __future__ import annotations


class BoomerangError(Exception):
    """Base of every error Boomerang reports to a user."""

    status_code = 500

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


class Busy(BoomerangError):
    """The store could not take the write in time (another writer holds it): nothing was
    changed, and the same request may be sent again (``retry_after`` seconds is a fair wait)."""

    status_code = 503
    retry_after = 2


class ConfigError(BoomerangError):
    """Configuration is missing or unsafe."""

    status_code = 500
