"""``boomerang segments``: dynamic groups of accounts defined by a condition."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime
from boomerang.segments.kinds import TouchModel

# The services, the models, SQLAlchemy and Rich are imported by the commands that use them,
# so that `boomerang segments --help` starts without them.

app = domain_app(
    help="Segments: accounts matching a condition, e.g. \"tier = 'smb' and health < 50\".",
)

WhereOption = Annotated[
    str, typer.Option("--where", help="The condition (see `boomerang segments fields`).")
]


@app.command("fields")
def fields() -> None:
    """The fields a condition can use, and the language."""
    from rich.table import Table

    from boomerang.segments.facts import DESCRIPTIONS

    table = Table("field", "meaning")
    for name, meaning in DESCRIPTIONS.items():
        table.add_row(name, meaning)
    console.print(table)
    console.print(
        "Compare with = != < <= > >=, test membership with in ('a', 'b') or not in (...), "
        "missing values with is null / is not null; combine with and, or, not and "
        "parentheses. Text goes in single quotes.",
        highlight=False,
    )


@app.command("preview")
@friendly_errors
def preview(
    where: WhereOption,
    limit: Annotated[int, typer.Option(min=0, help="Accounts to list.")] = 10,
) -> None:
    """How many accounts a condition matches now, without saving anything."""
    from sqlalchemy import select

    from boomerang.accounts.models import Account
    from boomerang.segments import service

    runtime.require_schema()
    with (
        runtime.read() as session,
        service.evaluator(session=session, for_conditions=[where]) as ev,
    ):
        members = ev.members(where)
        names = dict(
            session.execute(
                select(Account.id, Account.name).where(Account.id.in_(members[:limit]))
            ).all()
        )
    console.print(f"{len(members):,} accounts match", highlight=False)
    for account_id in members[:limit]:
        console.print(f"  {names[account_id]} ({account_id})", highlight=False)


@app.command("create")
@friendly_errors
def create(
    name: Annotated[str, typer.Argument(help="The segment's name.")],
    where: Annotated[
        str,
        typer.Option(
            "--where",
            help="The condition (see `boomerang segments fields`); leave it out for a list "
            "segment whose members are added by hand or by playbooks.",
        ),
    ] = "",
    description: Annotated[str, typer.Option(help="What the segment is for.")] = "",
    touch: Annotated[
        TouchModel | None, typer.Option(help="Make it a tier with this touch model.")
    ] = None,
) -> None:
    """Save a segment and record its first members."""
    from boomerang.segments import service

    runtime.require_schema()
    with runtime.transaction() as session:
        segment = service.create(
            session=session, name=name, condition=where, description=description, touch_model=touch
        )
        (result,) = service.evaluate(session=session, segments=[segment])
    console.print(f"segment {result.segment}: {result.members:,} accounts", highlight=False)


@app.command("list")
@friendly_errors
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Segments with their condition and members at the last evaluation."""
    from rich.table import Table

    from boomerang.segments import service

    runtime.require_schema()
    with runtime.read() as session:
        rows = [
            {
                "name": s.name,
                "condition": s.condition,
                "touch_model": s.touch_model.value if s.touch_model else None,
                "members": len(service.current_members(session=session, segment=s)),
                "evaluated_at": s.evaluated_at.isoformat() if s.evaluated_at else None,
            }
            for s in service.list_segments(session=session)
        ]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("name", "condition", "touch", "members", "evaluated")
    for r in rows:
        table.add_row(
            str(r["name"]),
            str(r["condition"]),
            str(r["touch_model"] or ""),
            f"{r['members']:,}",
            str(r["evaluated_at"] or "never")[:16],
        )
    console.print(table)


@app.command("evaluate")
@friendly_errors
def evaluate() -> None:
    """Evaluate every segment now, recording which accounts entered and which left."""
    from rich.table import Table

    from boomerang.segments import service

    runtime.require_schema()
    with runtime.transaction() as session:
        results = service.evaluate(session=session)
    table = Table("segment", "members", "entered", "left", "problem")
    for r in results:
        table.add_row(r.segment, f"{r.members:,}", f"{r.entered:,}", f"{r.left:,}", r.error or "")
    console.print(table)


@app.command("delete")
@friendly_errors
def delete(name: Annotated[str, typer.Argument(help="The segment's name.")]) -> None:
    """Delete a segment and its membership history."""
    from boomerang.segments import service

    runtime.require_schema()
    with runtime.transaction() as session:
        service.delete(session=session, segment=service.get(session=session, ref=name))
    console.print(f"segment {name} deleted", highlight=False)


@app.command("add")
@friendly_errors
def add(
    name: Annotated[str, typer.Argument(help="A list segment's name.")],
    account: Annotated[str, typer.Argument(help="The account's id or external id.")],
) -> None:
    """Put an account in a list segment."""
    from boomerang.accounts import service as accounts_service
    from boomerang.segments import service

    runtime.require_schema()
    with runtime.transaction() as session:
        segment = service.get(session=session, ref=name)
        found = accounts_service.get_by_ref(session=session, ref=account)
        added = service.add_member(session=session, segment=segment, account_id=found.id)
    console.print(
        f"{found.name}: {'added to' if added else 'already in'} {segment.name}", highlight=False
    )


@app.command("remove")
@friendly_errors
def remove(
    name: Annotated[str, typer.Argument(help="A list segment's name.")],
    account: Annotated[str, typer.Argument(help="The account's id or external id.")],
) -> None:
    """Take an account out of a list segment."""
    from boomerang.accounts import service as accounts_service
    from boomerang.segments import service

    runtime.require_schema()
    with runtime.transaction() as session:
        segment = service.get(session=session, ref=name)
        found = accounts_service.get_by_ref(session=session, ref=account)
        removed = service.remove_member(session=session, segment=segment, account_id=found.id)
    console.print(
        f"{found.name}: {'removed from' if removed else 'was not in'} {segment.name}",
        highlight=False,
    )
