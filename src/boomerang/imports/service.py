"""File imports: one entry point for every kind, recording each run with its report."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.billing.models import Subscription
from boomerang.errors import Invalid
from boomerang.events.store import EventStore
from boomerang.imports import events as event_import
from boomerang.imports import records
from boomerang.imports.kinds import KINDS as KINDS  # re-exported
from boomerang.imports.mapping import Mapping
from boomerang.imports.models import ImportRun, ImportStatus
from boomerang.imports.readers import Source, detect
from boomerang.imports.records.rows import Counts, Errors, Resolved

if (*records.KINDS, "events") != KINDS:
    raise RuntimeError("boomerang.imports.kinds.KINDS does not match records.KINDS")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _subscription_accounts(*, session: Session) -> pa.Table:
    rows = session.execute(
        select(Subscription.external_id, Account.external_id)
        .join(Account, Account.id == Subscription.account_id)
        .where(Subscription.external_id.is_not(None))
    ).all()
    return pa.table(
        {
            "subscription": pa.array([r[0] for r in rows], pa.string()),
            "account": pa.array([r[1] for r in rows], pa.string()),
        }
    )


def run_import(
    *,
    session: Session,
    store: EventStore,
    kind: str,
    path: Path,
    mapping: Mapping,
    file_format: str | None = None,
    dry_run: bool = False,
    actor: str | None = None,
    today: date | None = None,
    force: bool = False,
    progress: event_import.Progress | None = None,
) -> ImportRun:
    """Import one file, all or nothing, and record the run (the caller commits).

    A file-level problem (unknown kind, unreadable file, a mapping naming a missing column)
    raises Invalid and records nothing; row-level problems give a ``rejected`` run whose
    ``errors`` list each bad row's line, column and reason.
    """
    if kind not in KINDS:
        raise Invalid(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    if mapping.kind and mapping.kind != kind:
        raise Invalid(f"the mapping is for {mapping.kind}, not {kind}")
    source = detect(path, file_format)
    today = today or datetime.now(UTC).date()
    run = ImportRun(
        kind=kind,
        filename=str(path),
        file_format=source.format.value + ("+gzip" if source.gzip else ""),
        mapping=mapping.as_dict(),
        actor=actor,
        started_at=datetime.now(UTC),
    )
    if kind == "events":
        run.sha256 = sha256_of(path)
        if not force and not dry_run:
            _refuse_a_second_time(session=session, path=path, sha256=run.sha256)
        counts, errors, resolved = event_import.import_events(
            store=store,
            source=source,
            mapping=mapping,
            dry_run=dry_run,
            subscriptions=_subscription_accounts(session=session),
            progress=progress,
        )
    else:
        counts, errors, resolved = _records(
            session=session,
            kind=kind,
            source=source,
            mapping=mapping,
            dry_run=dry_run,
            today=today,
        )
    _report(run, counts, errors, resolved, mapping=mapping, dry_run=dry_run)
    session.add(run)
    session.flush()
    return run


def _refuse_a_second_time(*, session: Session, path: Path, sha256: str) -> None:
    """Invalid when an event file with this digest was imported before."""
    earlier = session.scalar(
        select(ImportRun).where(
            ImportRun.sha256 == sha256,
            ImportRun.kind == "events",
            ImportRun.status == ImportStatus.succeeded,
        )
    )
    if earlier is not None:
        raise Invalid(
            f"{path}: this file was already imported on "
            f"{earlier.started_at:%Y-%m-%d %H:%M} UTC (run {earlier.id}); "
            "use --force to read it again (events already stored are skipped)"
        )


def _report(
    run: ImportRun,
    counts: Counts,
    errors: Errors,
    resolved: Resolved,
    *,
    mapping: Mapping,
    dry_run: bool,
) -> None:
    """Record on ``run`` what the import did (or found wrong) and its status."""
    run.rows_total = counts.rows
    run.inserted, run.updated, run.unchanged = counts.inserted, counts.updated, counts.unchanged
    run.error_count = errors.count
    run.errors = errors.items
    run.mapping = {**mapping.as_dict(), "resolved": resolved.columns, "ignored": resolved.ignored}
    if errors.count:
        run.status = ImportStatus.rejected
    elif dry_run:
        run.status = ImportStatus.dry_run
    else:
        run.status = ImportStatus.succeeded
    run.finished_at = datetime.now(UTC)


def _records(
    *,
    session: Session,
    kind: str,
    source: Source,
    mapping: Mapping,
    dry_run: bool,
    today: date,
) -> tuple[Counts, Errors, Resolved]:
    savepoint = session.begin_nested()
    try:
        result = records.run(
            session=session,
            kind=records.KINDS[kind],
            source=source,
            mapping=mapping,
            dry_run=dry_run,
            today=today,
        )
    except SQLAlchemyError as exc:
        savepoint.rollback()
        errors = Errors()
        reason = str(getattr(exc, "orig", exc)).splitlines()[0][:500]
        errors.add(0, None, f"the database refused the rows: {reason}")
        return Counts(), errors, Resolved(columns={}, ignored=[])
    except BaseException:
        savepoint.rollback()
        raise
    errors = result[1]
    if errors.count or dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return result


def recent_runs(*, session: Session, limit: int = 20) -> list[ImportRun]:
    """The latest import runs, newest first."""
    return list(
        session.scalars(select(ImportRun).order_by(ImportRun.started_at.desc()).limit(limit))
    )
