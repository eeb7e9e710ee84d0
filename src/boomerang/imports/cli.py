"""``boomerang import KIND FILE``: load accounts, contacts, subscriptions, tickets, invoices or
events from CSV, JSON Lines or Parquet (gzip accepted), all or nothing."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from boomerang.cli_support import console, err_console, friendly_errors, runtime
from boomerang.errors import Invalid
from boomerang.imports.kinds import KINDS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from boomerang.imports.mapping import Mapping
    from boomerang.imports.models import ImportRun


def _fields(kind: str) -> list[tuple[str, str]]:
    from boomerang.imports import events as event_import
    from boomerang.imports import records

    if kind == "events":
        return [
            *event_import.FIELD_HELP.items(),
            ("properties.NAME", "a column that becomes one property"),
        ]
    spec = records.KINDS[kind]
    rows = [
        (
            f.name,
            ("required; " if f.required else "required for new records; " if f.on_insert else "")
            + f.help,
        )
        for f in spec.fields
    ]
    rows += [(p + "NAME", "a column kept as a custom value") for p in spec.prefixes]
    return rows


def _report(run: ImportRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind,
        "file": run.filename,
        "format": run.file_format,
        "status": run.status.value,
        "rows": run.rows_total,
        "inserted": run.inserted,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "error_count": run.error_count,
        "errors": run.errors,
        "columns": run.mapping.get("resolved", {}),
        "ignored_columns": run.mapping.get("ignored", []),
    }


def import_command(
    kind: Annotated[str, typer.Argument(help=f"What the file holds: {', '.join(KINDS)}.")],
    file: Annotated[
        Path | None, typer.Argument(help="CSV, JSON Lines or Parquet file (.gz accepted).")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="FIELD=COLUMN pairs, comma-separated or repeated (e.g. "
            "--map external_id=AccountID,name=Company).",
        ),
    ] = None,
    mapping_file: Annotated[
        Path | None,
        typer.Option("--mapping", help="A saved YAML mapping (columns, defaults, values)."),
    ] = None,
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="csv, jsonl or parquet (default: from the file name)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Validate and report what would change; write nothing."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Import an event file again even if it was before.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    fields: Annotated[
        bool, typer.Option("--fields", help="List the fields KIND takes, and exit.")
    ] = False,
) -> None:
    """Import a file: validate every row, then write all of it or (on any bad row) nothing."""
    _run(kind, file, map_ or [], mapping_file, file_format, dry_run, force, as_json, fields)


@friendly_errors
def _run(
    kind: str,
    file: Path | None,
    map_: list[str],
    mapping_file: Path | None,
    file_format: str | None,
    dry_run: bool,
    force: bool,
    as_json: bool,
    fields: bool,
) -> None:
    if kind not in KINDS:
        raise Invalid(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    if fields:
        _print_fields(kind)
        return
    if file is None:
        raise Invalid("FILE is required (or --fields)")
    from boomerang.imports import mapping as mappings
    from boomerang.imports.models import ImportStatus

    mapping = mappings.Mapping()
    if mapping_file is not None:
        mapping = mappings.load_file(mapping_file)
    mapping = mapping.merged(mappings.parse_flags(map_))
    runtime.require_schema()
    with runtime.transaction() as session:
        run = _import(
            session,
            kind=kind,
            file=file,
            mapping=mapping,
            file_format=file_format,
            dry_run=dry_run,
            force=force,
            show_progress=kind == "events" and not as_json,
        )
        report = _report(run)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print(report)
    if report["status"] == ImportStatus.rejected.value:
        raise typer.Exit(1)


def _print_fields(kind: str) -> None:
    from rich.table import Table

    table = Table("field", "meaning", title=f"{kind} fields")
    for name, meaning in _fields(kind):
        table.add_row(name, meaning)
    console.print(table)


def _import(
    session: Session,
    *,
    kind: str,
    file: Path,
    mapping: Mapping,
    file_format: str | None,
    dry_run: bool,
    force: bool,
    show_progress: bool,
) -> ImportRun:
    """The service's import of ``file``, with a progress bar when ``show_progress``."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from boomerang.imports.service import run_import

    start = functools.partial(
        run_import,
        session=session,
        store=runtime.event_store,
        kind=kind,
        path=file,
        mapping=mapping,
        file_format=file_format,
        dry_run=dry_run,
        force=force,
        actor="cli",
    )
    if not show_progress:
        return start()
    with Progress(
        TextColumn("[bold]importing events"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("import", total=100)
        return start(progress=lambda pct: bar.update(task, completed=pct))


def _print(report: dict[str, Any]) -> None:
    from rich.table import Table

    from boomerang.imports.models import ImportStatus

    status = report["status"]
    if report["ignored_columns"]:
        console.print(
            "columns not imported: " + ", ".join(report["ignored_columns"]), highlight=False
        )
    if status == ImportStatus.rejected.value:
        err_console.print(
            f"[red]rejected[/red] {report['file']}: {report['error_count']} problem(s) in "
            f"{report['rows']} row(s); nothing was changed",
            highlight=False,
        )
        table = Table("line", "column", "reason")
        for item in report["errors"]:
            table.add_row(str(item["line"]), item["column"] or "", item["reason"])
        err_console.print(table)
        shown = len(report["errors"])
        if report["error_count"] > shown:
            err_console.print(f"... and {report['error_count'] - shown} more", highlight=False)
        return
    verb = "would be" if status == ImportStatus.dry_run.value else ""
    console.print(
        f"{'dry run' if verb else 'imported'} {report['file']} ({report['kind']}, "
        f"{report['rows']} rows): {report['inserted']} {verb + ' ' if verb else ''}inserted, "
        f"{report['updated']} {verb + ' ' if verb else ''}updated, "
        f"{report['unchanged']} unchanged (run {report['id']})",
        highlight=False,
    )
