"""``boomerang playbooks``: list, validate, dry-run (or replay), run, pause."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime

if TYPE_CHECKING:
    from boomerang.playbooks import engine

app = domain_app(help="Playbooks: triggers, conditions and steps that act.")
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _firings(fired: list[engine.Firing]) -> list[dict[str, Any]]:
    return [
        {
            "playbook": f.playbook,
            "account_id": f.account_id,
            "account": f.account,
            "reason": f.reason_key,
            "why": f.why,
            "control": f.control,
            "actions": f.actions,
        }
        for f in fired
    ]


def _sync() -> None:
    from boomerang.playbooks import engine

    with runtime.transaction() as session:
        engine.sync_files(session=session, directory=runtime.settings.playbooks_dir)


@app.command("list")
@friendly_errors
def list_playbooks(as_json: JsonOption = False) -> None:
    """Every playbook in force: version, trigger, enabled or paused, runs."""
    from rich.table import Table

    from boomerang.playbooks import engine

    _sync()
    with runtime.transaction() as session:
        items = engine.in_force(session=session)
        counts = engine.run_counts(session=session)
        rows = [
            {
                "name": i.name,
                "title": i.loaded.playbook.title,
                "version": i.version,
                "trigger": i.loaded.playbook.trigger.kind,
                "enabled": i.loaded.playbook.enabled,
                "paused": engine.paused(session=session, name=i.name),
                "runs": counts.get(i.name, 0),
            }
            for i in items
        ]
        everything_paused = engine.paused(session=session)
    if as_json:
        print(json.dumps({"paused": everything_paused, "playbooks": rows}, indent=2))
        return
    if everything_paused:
        console.print("[bold red]all playbooks are paused[/]")
    table = Table("name", "title", "version", "trigger", "state", "runs")
    for r in rows:
        state = "paused" if r["paused"] else ("on" if r["enabled"] else "off")
        table.add_row(
            str(r["name"]),
            str(r["title"]),
            str(r["version"]),
            str(r["trigger"]),
            state,
            str(r["runs"]),
        )
    console.print(table)


@app.command("validate")
@friendly_errors
def validate(file: Annotated[Path, typer.Argument(help="A playbook YAML file.")]) -> None:
    """Check a playbook file: its YAML, fields, templates and every condition."""
    from boomerang.playbooks import definition, engine
    from boomerang.segments.facts import known_fields

    loaded = definition.load_file(file)
    runtime.require_schema()
    with runtime.transaction() as session:
        engine.check_fields(loaded, known_fields(session=session))
    console.print(
        f"{file}: valid ({loaded.playbook.name}, {loaded.playbook.trigger.kind} trigger, "
        f"{len(loaded.program)} steps)",
        highlight=False,
    )


@app.command("dry-run")
@friendly_errors
def dry_run(
    name: Annotated[str, typer.Argument(help="The playbook's name.")],
    since: Annotated[
        datetime | None,
        typer.Option("--since", formats=["%Y-%m-%d"], help="Replay day by day from this day."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Which accounts would fire now and what each would get; with --since, what it would
    have done day by day since then. Nothing is written."""
    from rich.table import Table

    from boomerang.playbooks import engine

    _sync()
    with runtime.transaction() as session:
        if since is not None:
            fired = engine.replay(
                session=session,
                source=runtime.event_source,
                name=name,
                since=since.date(),
                until=datetime.now(UTC).date(),
            )
        else:
            fired = engine.evaluate(
                session=session, source=runtime.event_source, names=[name], dry_run=True
            ).fired
        session.rollback()
    if as_json:
        print(json.dumps(_firings(fired), indent=2))
        return
    table = Table("account", "reason", "why", "control", "would do")
    for f in fired:
        table.add_row(
            f.account, f.reason_key, f.why, "yes" if f.control else "", "\n".join(f.actions)
        )
    console.print(table)
    console.print(f"{len(fired):,} firings", highlight=False)


@app.command("run")
@friendly_errors
def run(
    names: Annotated[list[str] | None, typer.Argument(help="Only these playbooks.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate the playbooks now: fire, execute steps, resume waits."""
    from boomerang.playbooks import engine

    _sync()
    with runtime.transaction() as session:
        result = engine.evaluate(
            session=session,
            source=runtime.event_source,
            names=names or None,
            settings=runtime.settings,
        )
    if as_json:
        print(
            json.dumps(
                {
                    "paused": result.paused,
                    "fired": _firings(result.fired),
                    "resumed": result.resumed,
                    "errors": result.errors,
                },
                indent=2,
            )
        )
        return
    if result.paused:
        console.print("all playbooks are paused: nothing done")
        return
    for name, n in sorted(result.counts().items()):
        console.print(f"{name}: fired for {n:,} accounts", highlight=False)
    console.print(f"{result.resumed:,} waiting runs resumed", highlight=False)
    for name, error in result.errors.items():
        console.print(f"[red]{name}[/]: {error}", highlight=False)


@app.command("pause")
@friendly_errors
def pause(
    name: Annotated[str | None, typer.Argument(help="One playbook (default: all).")] = None,
) -> None:
    """Stop firing and executing (all playbooks, or one)."""
    from boomerang.playbooks import engine

    with runtime.transaction() as session:
        if name is not None:
            engine.get(session=session, name=name)
        engine.set_paused(session=session, name=name or engine.ALL, paused=True, by="cli")
    console.print(f"paused: {name or 'all playbooks'}", highlight=False)


@app.command("resume")
@friendly_errors
def resume(
    name: Annotated[str | None, typer.Argument(help="One playbook (default: all).")] = None,
) -> None:
    """Undo a pause."""
    from boomerang.playbooks import engine

    with runtime.transaction() as session:
        engine.set_paused(session=session, name=name or engine.ALL, paused=False, by="cli")
    console.print(f"resumed: {name or 'all playbooks'}", highlight=False)
