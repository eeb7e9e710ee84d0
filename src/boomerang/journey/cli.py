"""``boomerang journey``: stages, success milestones and time to value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime

# The services and Rich are imported by the commands that use them, so that
# `boomerang journey --help` starts without SQLAlchemy, YAML or Rich.

app = domain_app(help="The customer journey: stages, milestones, time to value.")

RulesOption = Annotated[
    Path | None, typer.Option("--rules", help="Journey YAML (default: the shipped one).")
]


@app.command("evaluate")
@friendly_errors
def evaluate(rules: RulesOption = None) -> None:
    """Advance stages whose entry rules hold and record newly met milestones."""
    from boomerang.journey import service

    runtime.require_schema()
    with runtime.transaction() as session:
        journey = service.load(session=session, path=rules)
        result = service.evaluate(session=session, journey=journey)
    stages = ", ".join(f"{result.stages.get(s.value, 0):,} {s.value}" for s in service.ORDER)
    console.print(f"stages: {stages}; {result.advanced:,} advanced", highlight=False)
    for name, n in result.milestones_met.items():
        console.print(f"  {n:,} newly met: {name}", highlight=False)


@app.command("show")
@friendly_errors
def show(
    account: Annotated[str, typer.Argument(help="Account id (acc_...) or external id.")],
    rules: RulesOption = None,
) -> None:
    """An account's stage and its milestones: met, late or due."""
    from rich.table import Table

    from boomerang.accounts import service as accounts_service
    from boomerang.journey import service

    runtime.require_schema()
    with runtime.read() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        journey = service.load(session=session, path=rules)
        lines = service.account_milestones(session=session, journey=journey, account=acc)
        name, stage = acc.name, acc.stage.value
    console.print(f"{name}: {stage}", highlight=False)
    table = Table("milestone", "target", "met", "status")
    for m in lines:
        table.add_row(m.name, str(m.target), str(m.met_on or ""), m.status)
    console.print(table)


@app.command("ttv")
@friendly_errors
def ttv(
    rules: RulesOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Time to value by start month: accounts, how many reached it, median days."""
    from rich.table import Table

    from boomerang.journey import service

    runtime.require_schema()
    with runtime.read() as session:
        journey = service.load(session=session, path=rules)
        cohorts = service.time_to_value(session=session, journey=journey)
    if as_json:
        print(json.dumps([c.__dict__ for c in cohorts]))
        return
    table = Table("start month", "accounts", "reached value", "median days")
    for c in cohorts:
        table.add_row(
            c.month,
            f"{c.accounts:,}",
            f"{c.reached:,}",
            "before tracking"
            if not c.tracked
            else "-"
            if c.median_days is None
            else f"{c.median_days:g}",
        )
    console.print(table)
