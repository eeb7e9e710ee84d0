"""The ``boomerang`` command: one Typer app, one sub-app per domain, each imported only
when it runs (see :mod:`boomerang.cli_lazy`); heavy libraries are imported inside the
commands that use them, so ``--version`` and ``--help`` answer at once."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from boomerang import __version__
from boomerang.cli_lazy import LazyCommand, LazyGroup
from boomerang.cli_support import NOT_INITIALISED, console, friendly_errors, runtime
from boomerang.domains import commands
from boomerang.errors import BoomerangError


def _lazy() -> dict[str, LazyCommand]:
    declared = commands()
    children: dict[str, dict[str, LazyCommand]] = {}
    for name, command in declared.items():
        parent, _, child = name.partition(" ")
        if child:
            children.setdefault(parent, {})[child] = LazyCommand(
                command.target, command.help, command.options
            )
    return {
        name: LazyCommand(command.target, command.help, command.options, children.get(name, {}))
        for name, command in declared.items()
        if " " not in name
    }


COMMANDS: dict[str, LazyCommand] = _lazy()
"""Every sub-command the root does not define itself (declared by each domain in
:mod:`boomerang.domains`), by import path, with its one-line help
(``boomerang --help`` shows these without importing the modules; a test checks that each
matches the help of the command it names)."""


class BoomerangGroup(LazyGroup):
    lazy = COMMANDS


app = typer.Typer(
    cls=BoomerangGroup,
    help="Boomerang: an open-source customer success platform.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"boomerang {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Boomerang: keep customers, grow them, turn them into advocates."""


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
@friendly_errors
def init() -> None:
    """Create the data dir and apply database migrations (safe to run again)."""
    from boomerang.db import current_revision
    from boomerang.schema import migrate

    settings = runtime.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.events_dir.mkdir(parents=True, exist_ok=True)
    settings.resolved_secret_key()
    migrate(runtime.engine)
    console.print(
        f"operational store: {_safe_url(settings.sqlalchemy_url)} "
        f"(schema {current_revision(runtime.engine)})"
    )
    console.print(f"event store: {settings.events_dir.resolve()}")


SHUTDOWN_GRACE_SECONDS = 10
"""On SIGTERM or Ctrl+C, how long ``serve`` lets requests in flight finish before it cancels
them (then the background work stops: the event mover within its own bound)."""


@app.command()
@friendly_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default BOOMERANG_HOST).")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default BOOMERANG_PORT).")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=64, help="Server processes sharing the port (each a full app; see README)."
        ),
    ] = 1,
) -> None:
    """Apply migrations, then serve the web app and the REST API."""
    import uvicorn

    from boomerang.app import create_app
    from boomerang.schema import migrate

    settings = runtime.settings
    if host:
        settings = settings.model_copy(update={"host": host})
    if port:
        settings = settings.model_copy(update={"port": port})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(runtime.engine)
    console.print(
        f"Boomerang {__version__} on http://{settings.host}:{settings.port}/"
        f"{f' ({workers} processes)' if workers > 1 else ''} (Ctrl+C to stop)"
    )
    _print_login()
    # The tracking API's writer and mover threads release the GIL around I/O; a shorter
    # switch interval stops them from holding up the event loop for 5 ms at a time.
    sys.setswitchinterval(0.001)
    if workers > 1:  # each process builds its app from the same settings (the environment)
        os.environ["BOOMERANG_HOST"], os.environ["BOOMERANG_PORT"] = (
            settings.host,
            str(settings.port),
        )
        uvicorn.run(
            "boomerang.app:app_from_environment",
            factory=True,
            workers=workers,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
        return
    application = create_app(settings, engine=runtime.engine)
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )


def _print_login() -> None:
    """Where the demo's login is kept: its password was printed once, by ``boomerang demo``."""
    from boomerang.demo.cli import login_location

    location = login_location()
    if location:
        console.print(location, highlight=False, soft_wrap=True)


STATUS_TABLES = (
    ("staff users", "users"),
    ("accounts", "accounts"),
    ("contacts", "contacts"),
    ("subscriptions", "subscriptions"),
    ("tickets", "tickets"),
    ("timeline entries", "timeline_entries"),
)
"""What ``status`` counts: label and table (read with SQLAlchemy Core: no model import)."""


@app.command()
@friendly_errors
def status() -> None:
    """What the stores hold, and where they are."""
    from rich.table import Table

    from boomerang.schema_head import SCHEMA_HEAD
    from boomerang.store_probe import read_sqlite, sqlite_file

    settings = runtime.settings
    tables = [table for _, table in STATUS_TABLES]
    database = sqlite_file(settings.sqlalchemy_url)
    if database is not None:  # the embedded store: the standard library alone, no SQLAlchemy
        found = read_sqlite(database, tables, SCHEMA_HEAD)
        if found.revision != SCHEMA_HEAD:
            raise BoomerangError(NOT_INITIALISED)
        rows, where_db = found.rows, settings.sqlalchemy_url
    else:
        from boomerang.db import count_rows

        runtime.require_schema()  # the database is at SCHEMA_HEAD past this line
        with runtime.core_engine.connect() as connection:
            rows = count_rows(connection, tables)
        where_db = _safe_url(settings.sqlalchemy_url)
    counts = {label: rows[table] for label, table in STATUS_TABLES}
    if settings.events_source is None:  # the embedded store: DuckDB alone, no Ibis
        from boomerang.analytics import engine as embedded

        counts["events"], first, last = embedded.event_span(runtime.event_store)
        where = embedded.describe(runtime.event_store)
    else:
        from boomerang.analytics import queries

        source = runtime.event_source
        with source.open() as events:
            totals = queries.event_totals(events)
        counts["events"], first, last = totals.events, totals.first, totals.last
        where = source.describe()
    table = Table("what", "count")
    for label, value in counts.items():
        table.add_row(label, f"{value:,}")
    console.print(table)
    console.print(f"operational store: {where_db} (schema {SCHEMA_HEAD})")
    span = f", {first:%Y-%m-%d} to {last:%Y-%m-%d}" if first and last else ""
    console.print(f"events: {where}{span}")


def main() -> None:
    """Console-script entry point."""
    app()
