"""What every CLI command shares: settings, the stores, one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property, wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from boomerang.analytics.source import EventSource
from boomerang.config import Settings, get_settings
from boomerang.db import current_revision, engine_from_settings, session_factory
from boomerang.errors import BoomerangError
from boomerang.events.store import EventStore

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


class Runtime:
    """Lazily opened stores for one CLI invocation."""

    @cached_property
    def settings(self) -> Settings:
        return get_settings()

    @cached_property
    def engine(self) -> Engine:
        return engine_from_settings(self.settings)

    @cached_property
    def event_store(self) -> EventStore:
        return EventStore(self.settings.events_dir)

    @cached_property
    def event_source(self) -> EventSource:
        return EventSource.from_settings(self.settings, self.event_store)

    def reset(self) -> None:
        """Forget the opened stores (and re-read settings on next use)."""
        if "engine" in self.__dict__:
            self.engine.dispose()
        for name in ("settings", "engine", "event_store", "event_source"):
            self.__dict__.pop(name, None)
        get_settings.cache_clear()

    def require_schema(self) -> None:
        """Refuse to work on a database that ``boomerang init`` has not prepared."""
        from boomerang.db import migrations_head

        if current_revision(self.engine) != migrations_head(self.engine):
            raise BoomerangError(
                "the database is not initialised or not up to date: run `boomerang init`"
            )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on error."""
        self.require_schema()
        with session_factory(self.engine)() as session, session.begin():
            yield session


runtime = Runtime()


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into one clear line and exit code 1, never a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except BoomerangError as exc:
            raise fail(exc.message) from None
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise fail(f"cannot use the database: {reason}") from None
        except SQLAlchemyError as exc:
            raise fail(f"database error: {str(exc).splitlines()[0]}") from None
        except KeyboardInterrupt:
            raise fail("interrupted") from None

    return wrapper


def read_secret_from_stdin() -> str | None:
    """The first line of stdin when it is piped in, else None."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    line = sys.stdin.readline().rstrip("\r\n")
    return line or None
