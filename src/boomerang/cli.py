"""The ``boomerang`` command: one Typer app, one sub-app per domain, each imported only
when it runs (see :mod:`boomerang.cli_lazy`); heavy libraries are imported inside the
commands that use them, so ``--version`` and ``--help`` answer at once."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from boomerang import __version__
from boomerang.cli_lazy import LazyCommand, LazyGroup
from boomerang.cli_support import console, friendly_errors, runtime
from boomerang.domains import commands
from boomerang.errors import Conflict, Invalid

if TYPE_CHECKING:
    from rich.progress import Progress

COMMANDS: dict[str, LazyCommand] = {
    name: LazyCommand(command.target, command.help, command.options)
    for name, command in commands().items()
}
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

DEMO_LOGIN_FILE = "demo-login.txt"


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
    from boomerang.db import current_revision, migrate

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


def _login_hint() -> str | None:
    path = runtime.settings.data_dir / DEMO_LOGIN_FILE
    return path.read_text().strip() if path.exists() else None


def _write_login(email: str, password: str) -> None:
    s = runtime.settings
    text = (
        f"Log in at http://{s.host}:{s.port}/login\n  email:    {email}\n  password: {password}\n"
    )
    path = s.data_dir / DEMO_LOGIN_FILE
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _wipe_operational_store() -> None:
    from boomerang.db import Base

    with runtime.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())


@app.command()
@friendly_errors
def demo(
    accounts: Annotated[
        int, typer.Option(min=10, max=100_000, help="Number of customer accounts.")
    ] = 500,
    months: Annotated[int, typer.Option(min=3, max=60, help="Months of history.")] = 18,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same company.")
    ] = 42,
    end: Annotated[
        str | None, typer.Option(help="Last day of history, YYYY-MM-DD (default today, UTC).")
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Replace existing data with the demo.")
    ] = False,
    if_empty: Annotated[
        bool,
        typer.Option("--if-empty", help="Load only into empty stores; otherwise keep the data."),
    ] = False,
) -> None:
    """Load a realistic demo B2B SaaS company (accounts, contracts, usage events, tickets ...)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from boomerang.accounts import service as accounts_service
    from boomerang.db import migrate
    from boomerang.demo.generator import generate
    from boomerang.security import generate_password
    from boomerang.users import service as users_service

    try:
        end_day = date.fromisoformat(end) if end else datetime.now(UTC).date()
    except ValueError:
        raise Invalid(f"--end: {end!r} is not a date like 2026-11-22") from None
    settings = runtime.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(runtime.engine)
    store = runtime.event_store
    with runtime.transaction() as session:
        existing = accounts_service.count(session=session) + users_service.count(session=session)
    has_data = existing > 0 or not store.is_empty()
    if has_data and if_empty:
        console.print("The stores already hold data: keeping it (use --reset to replace it).")
        hint = _login_hint()
        if hint:
            console.print(hint, highlight=False)
        return
    if has_data and not reset:
        raise Conflict(
            "the stores already hold data; refusing to overwrite it. "
            "Pass --reset to replace everything with the demo company."
        )

    backup: Path | None = None
    if has_data:
        if store.root.exists():
            backup = store.root.with_name(store.root.name + ".replaced")
            shutil.rmtree(backup, ignore_errors=True)
            store.root.rename(backup)
        _wipe_operational_store()
    password = generate_password()
    columns = (
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with (
            Progress(*columns, console=console, transient=False) as progress,
            runtime.transaction() as session,
        ):
            summary = generate(
                session=session,
                store=store,
                end=end_day,
                password=password,
                accounts=accounts,
                months=months,
                seed=seed,
                progress=progress,
            )
    except BaseException:
        shutil.rmtree(store.root, ignore_errors=True)
        if backup is not None:
            backup.rename(store.root)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
    _write_login(summary.admin_email, password)
    with Progress(*columns, console=console, transient=False) as progress:
        _demo_health(end_day, progress)

    table = Table(
        "loaded", "rows", title=f"Demo company, {summary.start} to {summary.end}, seed {seed}"
    )
    for label, value in (
        ("staff users", summary.users),
        ("accounts", summary.accounts),
        ("contacts", summary.contacts),
        ("subscriptions", summary.subscriptions),
        ("invoices", summary.invoices),
        ("tickets", summary.tickets),
        ("timeline entries", summary.timeline_entries),
        ("events", summary.events),
    ):
        table.add_row(label, f"{value:,}")
    console.print(table)
    console.print(_login_hint() or "", highlight=False)


DEMO_SEGMENTS = (
    (
        "Enterprise at risk",
        "tier = 'enterprise' and (colour != 'green' or vector = 'negative')",
        "high_touch",
    ),
    ("Renewing in 90 days", "renewal_in_days >= 0 and renewal_in_days <= 90", None),
    ("Ready to expand", "vector = 'positive' and score.adoption_breadth >= 80", None),
    ("Low adoption", "measure.adoption_breadth < 0.15 and stage != 'churned'", None),
)


def _demo_health(end_day: date, progress: Progress) -> None:
    """Five weekly health snapshots up to ``end_day`` (so trends show) and a few segments."""
    from boomerang.health import scorecard, vectors
    from boomerang.health import service as health_service
    from boomerang.journey import service as journey_service
    from boomerang.segments import service as segments_service
    from boomerang.segments.models import TouchModel

    days = [end_day - timedelta(days=7 * weeks) for weeks in range(4, -1, -1)]
    task = progress.add_task("health", total=len(days) + 1)
    with runtime.transaction() as session:
        rules = vectors.load(session=session)
        for day in days:
            health_service.compute(
                session=session,
                source=runtime.event_source,
                loaded=scorecard.default(),
                as_of=day,
                vector_rules=rules,
            )
            progress.advance(task)
        for name, condition, touch in DEMO_SEGMENTS:
            segments_service.create(
                session=session,
                name=name,
                condition=condition,
                touch_model=TouchModel(touch) if touch else None,
            )
        at = datetime.combine(end_day, datetime.min.time(), tzinfo=UTC)
        segments_service.evaluate(session=session, now=at)
        journey_service.evaluate(
            session=session, journey=journey_service.load(session=session), now=at
        )
        progress.advance(task)
    _demo_churn(end_day)
    _demo_programs(end_day)
    _demo_playbooks(end_day)


DEMO_PROGRAMS = (
    "boomerang.surveys.demo",
    "boomerang.feedback.demo",
    "boomerang.success.demo",
    "boomerang.value.demo",
    "boomerang.renewals.demo",
    "boomerang.expansion.demo",
    "boomerang.advocacy.demo",
    "boomerang.reviews.demo",
)
"""The customer programmes the demo fills, in order: surveys before the value digests
(both count towards each contact's email cap, and the NPS programme matters more), reviews
last (their decks read the success plans, value, surveys and opportunities before them)."""


def _demo_programs(end_day: date) -> None:
    """Success plans, value, surveys, feedback, renewals, expansion, advocacy and reviews."""
    import importlib

    for name in DEMO_PROGRAMS:
        module = importlib.import_module(name)
        with runtime.transaction() as session:
            line = module.seed(
                session=session,
                settings=runtime.settings,
                source=runtime.event_source,
                today=end_day,
            )
        label = name.split(".")[1]
        line = line.removeprefix(f"{label}: ")
        console.print(f"{label}: {line}", highlight=False)


def _demo_playbooks(end_day: date) -> None:
    """Load the shipped playbooks and evaluate them once at the end of the demo's last day,
    so the task inbox starts with what they find."""
    from boomerang.playbooks import engine as playbooks

    settings = runtime.settings
    at = datetime.combine(end_day, datetime.max.time(), tzinfo=UTC).replace(microsecond=0)
    with runtime.transaction() as session:
        playbooks.sync_files(session=session, directory=settings.playbooks_dir)
        result = playbooks.evaluate(
            session=session, source=runtime.event_source, now=at, settings=settings
        )
    fired = ", ".join(f"{n} {name}" for name, n in sorted(result.counts().items())) or "none"
    console.print(f"playbooks fired: {fired}", highlight=False)
    for name, error in result.errors.items():
        console.print(f"playbook {name}: {error}", highlight=False)


def _demo_churn(end_day: date) -> None:
    """Train the churn model on the demo's history and score every account as of its end."""
    from boomerang.churn import service as churn_service
    from boomerang.clv import valuation

    settings = runtime.settings
    try:
        with runtime.transaction() as session:
            trained = churn_service.train(
                session=session,
                source=runtime.event_source,
                currency=settings.reporting_currency,
                horizon_days=settings.churn_horizon_days,
                today=end_day,
            )
            churn_service.score(
                session=session,
                source=runtime.event_source,
                currency=settings.reporting_currency,
                model_row=trained.model,
                today=end_day,
            )
            valuation.value_accounts(
                session=session,
                currency=settings.reporting_currency,
                discount_rate=settings.clv_discount_rate,
                today=end_day,
            )
    except Invalid as exc:  # a short demo history: everything else is still there
        console.print(f"churn model: not trained ({exc.message})", highlight=False)
        return
    report = trained.report
    console.print(
        f"churn model v{trained.model.version}: ROC-AUC {report['model']['roc_auc']:.3f} out of "
        f"time, against {report['health_score_alone']['roc_auc']:.3f} for the health score alone",
        highlight=False,
    )


@app.command()
@friendly_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default BOOMERANG_HOST).")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default BOOMERANG_PORT).")
    ] = None,
) -> None:
    """Apply migrations, then serve the web app and the REST API."""
    import uvicorn

    from boomerang.app import create_app
    from boomerang.db import migrate

    settings = runtime.settings
    if host:
        settings = settings.model_copy(update={"host": host})
    if port:
        settings = settings.model_copy(update={"port": port})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(runtime.engine)
    application = create_app(settings, engine=runtime.engine)
    console.print(
        f"Boomerang {__version__} on http://{settings.host}:{settings.port}/ (Ctrl+C to stop)"
    )
    hint = _login_hint()
    if hint:
        console.print(
            hint.replace(
                f"{runtime.settings.host}:{runtime.settings.port}",
                f"{settings.host}:{settings.port}",
            ),
            highlight=False,
        )
    # The tracking API's writer and mover threads release the GIL around I/O; a shorter
    # switch interval stops them from holding up the event loop for 5 ms at a time.
    sys.setswitchinterval(0.001)
    uvicorn.run(application, host=settings.host, port=settings.port, log_level=settings.log_level)


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

    from boomerang.db import count_rows, current_revision

    settings = runtime.settings
    runtime.require_schema()
    with runtime.core_engine.connect() as connection:
        rows = count_rows(connection, [table for _, table in STATUS_TABLES])
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
    console.print(
        f"operational store: {_safe_url(settings.sqlalchemy_url)} "
        f"(schema {current_revision(runtime.core_engine)})"
    )
    span = f", {first:%Y-%m-%d} to {last:%Y-%m-%d}" if first and last else ""
    console.print(f"events: {where}{span}")


def main() -> None:
    """Console-script entry point."""
    app()
