"""What every CLI command shares: settings, the stores, one-line errors.

Importing this module is cheap (Typer and the standard library only): the settings, the
database, the event store and Rich are opened on first use, so that ``boomerang --help``
and a domain's ``--help`` never pay for SQLAlchemy, pydantic, DuckDB or Ibis.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property, wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

import typer

from boomerang.errors import BoomerangError, Busy

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from boomerang.analytics.source import EventSource
    from boomerang.config import Settings
    from boomerang.events.store import EventStore

NOT_INITIALISED = "the database is not initialised or not up to date: run `boomerang init`"

P = ParamSpec("P")
R = TypeVar("R")


class _LazyConsole:
    """A Rich console made on first use (importing Rich costs more than a ``--version``)."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def _get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    # Special methods are looked up on the type, not through __getattr__ (Rich's progress
    # bars and live displays enter the console as a context manager).
    def __enter__(self) -> Console:
        return self._get().__enter__()

    def __exit__(self, *exc_info: Any) -> None:
        self._get().__exit__(*exc_info)


console = cast("Console", _LazyConsole(stderr=False))
err_console = cast("Console", _LazyConsole(stderr=True))


def reset_consoles() -> None:
    """Make the consoles anew on next use (they read the terminal's width and colour
    support from the environment when made): for running commands in-process, as tests do."""
    for lazy in (console, err_console):
        cast(_LazyConsole, lazy)._console = None


def domain_app(help: str, **kwargs: Any) -> typer.Typer:
    """A domain's sub-command group, formatted like the root one (plain Click help: Rich's
    help formatting costs more than the rest of a ``--help``)."""
    kwargs.setdefault("no_args_is_help", True)
    kwargs.setdefault("add_completion", False)  # the root command installs completion
    return typer.Typer(help=help, rich_markup_mode=None, pretty_exceptions_enable=False, **kwargs)


class Runtime:
    """Lazily opened stores for one CLI invocation."""

    @cached_property
    def settings(self) -> Settings:
        from boomerang.config import get_settings

        return get_settings()

    @cached_property
    def core_engine(self) -> Engine:
        """The engine, for SQLAlchemy Core work alone (no mapped class is imported: what
        ``status`` and the schema check need)."""
        from boomerang.db import engine_from_settings

        return engine_from_settings(self.settings)

    @property
    def engine(self) -> Engine:
        """The engine, with every mapped class imported so that ORM relationships resolve."""
        import boomerang.models  # noqa: F401

        return self.core_engine

    @cached_property
    def event_store(self) -> EventStore:
        from boomerang.events.store import EventStore

        return EventStore(self.settings.events_dir)

    @cached_property
    def event_source(self) -> EventSource:
        from boomerang.analytics.source import EventSource

        return EventSource.from_settings(self.settings, self.event_store)

    def reset(self) -> None:
        """Forget the opened stores (and re-read settings on next use)."""
        from boomerang.config import get_settings

        if "core_engine" in self.__dict__:
            self.core_engine.dispose()
        for name in ("settings", "core_engine", "event_store", "event_source"):
            self.__dict__.pop(name, None)
        get_settings.cache_clear()

    def require_schema(self) -> None:
        """Refuse to work on a database that ``boomerang init`` has not prepared."""
        from boomerang.db import current_revision
        from boomerang.schema_head import SCHEMA_HEAD

        if current_revision(self.core_engine) != SCHEMA_HEAD:
            raise BoomerangError(NOT_INITIALISED)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on error."""
        from boomerang.db import session_factory

        self.require_schema()
        with session_factory(self.engine)() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (``list``, ``show``, reports): it never waits for a writer
        and refuses to write (see :func:`boomerang.db.read_session_factory`)."""
        from boomerang.db import read_session_factory

        self.require_schema()
        with read_session_factory(self.engine)() as session, session.begin():
            yield session


runtime = Runtime()


EXIT_BUSY = 75
"""Exit code when the store was busy and nothing was changed (``EX_TEMPFAIL``: try again)."""


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=code)


def _database_failure(exc: Exception) -> str | None:
    """The one line for a SQLAlchemy error, or None when ``exc`` is not one. SQLAlchemy is
    only looked at when it has been imported: otherwise no database error can have happened."""
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    if isinstance(exc, OperationalError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return f"cannot use the database: {reason}"
    if isinstance(exc, SQLAlchemyError):
        return f"database error: {str(exc).splitlines()[0]}"
    return None


BUSY_LINE = (
    "the database is busy with other work and could not take this change in time; "
    "nothing was changed: run the command again"
)


def _busy(exc: Exception) -> bool:
    if "sqlalchemy" not in sys.modules:
        return False
    from boomerang.db import is_busy

    return is_busy(exc)


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into one clear line and exit code 1 (75 when the store was busy:
    try again), never a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except Busy as exc:
            raise fail(exc.message, code=EXIT_BUSY) from None
        except BoomerangError as exc:
            raise fail(exc.message) from None
        except KeyboardInterrupt:
            raise fail("interrupted") from None
        except Exception as exc:
            if _busy(exc):
                raise fail(BUSY_LINE, code=EXIT_BUSY) from None
            line = _database_failure(exc)
            if line is None:
                raise
            raise fail(line) from None

    return wrapper


def read_secret_from_stdin() -> str | None:
    """The first line of stdin when it is piped in, else None."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    line = sys.stdin.readline().rstrip("\r\n")
    return line or None
