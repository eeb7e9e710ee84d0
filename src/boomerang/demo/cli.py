"""``boomerang demo``: load a realistic demo company into the stores, then score it, segment
it and run its programmes, as a new user would see it after a few months of use."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from boomerang.cli_support import console, friendly_errors, runtime
from boomerang.errors import Conflict, Invalid

if TYPE_CHECKING:
    from rich.progress import Progress

DEMO_LOGIN_FILE = "demo-login.txt"


def login_hint() -> str | None:
    """The demo admin's login, password included: printed once, by the ``demo`` that made it."""
    path = runtime.settings.data_dir / DEMO_LOGIN_FILE
    return path.read_text().strip() if path.exists() else None


def login_location() -> str | None:
    """Where the demo admin's login is kept (never the password), if there is a demo."""
    path = runtime.settings.data_dir / DEMO_LOGIN_FILE
    return f"demo login: see {path}" if path.exists() else None


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


def _columns() -> tuple[Any, ...]:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    return (
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )


def _has_data() -> bool:
    from boomerang.accounts import service as accounts_service
    from boomerang.users import service as users_service

    with runtime.read() as session:
        existing = accounts_service.count(session=session) + users_service.count(session=session)
    return existing > 0 or not runtime.event_store.is_empty()


def _set_aside() -> Path | None:
    """Move the event store aside and empty the operational store; the moved folder, if any."""
    store = runtime.event_store
    backup: Path | None = None
    if store.root.exists():
        backup = store.root.with_name(store.root.name + ".replaced")
        shutil.rmtree(backup, ignore_errors=True)
        store.root.rename(backup)
    _wipe_operational_store()
    return backup


def _generate(*, end_day: date, password: str, backup: Path | None, **sizes: int) -> Any:
    """Generate the company in one transaction; on failure put the old event store back."""
    from rich.progress import Progress

    from boomerang.demo.generator import generate

    store = runtime.event_store
    try:
        with (
            Progress(*_columns(), console=console, transient=False) as progress,
            runtime.transaction() as session,
        ):
            summary = generate(
                session=session,
                store=store,
                end=end_day,
                password=password,
                progress=progress,
                **sizes,
            )
    except BaseException:
        shutil.rmtree(store.root, ignore_errors=True)
        if backup is not None:
            backup.rename(store.root)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)
    return summary


def _print_summary(summary: Any, seed: int) -> None:
    from rich.table import Table

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
    console.print(login_hint() or "", highlight=False)


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
    from rich.progress import Progress

    from boomerang.schema import migrate
    from boomerang.security import generate_password

    try:
        end_day = date.fromisoformat(end) if end else datetime.now(UTC).date()
    except ValueError:
        raise Invalid(f"--end: {end!r} is not a date like 2026-11-22") from None
    runtime.settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(runtime.engine)
    has_data = _has_data()
    if has_data and if_empty:
        console.print("The stores already hold data: keeping it (use --reset to replace it).")
        location = login_location()
        if location:
            console.print(location, highlight=False, soft_wrap=True)
        return
    if has_data and not reset:
        raise Conflict(
            "the stores already hold data; refusing to overwrite it. "
            "Pass --reset to replace everything with the demo company."
        )
    backup = _set_aside() if has_data else None
    password = generate_password()
    summary = _generate(
        end_day=end_day,
        password=password,
        backup=backup,
        accounts=accounts,
        months=months,
        seed=seed,
    )
    _write_login(summary.admin_email, password)
    with Progress(*_columns(), console=console, transient=False) as progress:
        _demo_health(end_day, progress)
    _print_summary(summary, seed)


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
    ("surveys", "boomerang.demo.surveys"),
    ("feedback", "boomerang.feedback.demo"),
    ("success", "boomerang.demo.success"),
    ("value", "boomerang.value.demo"),
    ("renewals", "boomerang.renewals.demo"),
    ("expansion", "boomerang.expansion.demo"),
    ("advocacy", "boomerang.advocacy.demo"),
    ("reviews", "boomerang.flows.review_deck"),  # the reviews and a stored deck
)
"""The customer programmes the demo fills, in order: surveys before the value digests
(both count towards each contact's email cap, and the NPS programme matters more), reviews
last (their decks read the success plans, value, surveys and opportunities before them)."""


def _demo_programs(end_day: date) -> None:
    """Success plans, value, surveys, feedback, renewals, expansion, advocacy and reviews."""
    import importlib

    for label, name in DEMO_PROGRAMS:
        module = importlib.import_module(name)
        with runtime.transaction() as session:
            line = module.seed(
                session=session,
                settings=runtime.settings,
                source=runtime.event_source,
                today=end_day,
            )
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
