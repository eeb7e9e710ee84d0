"""``boomerang escalations``: open, list, escalate, resolve, tick."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime
from boomerang.errors import Invalid

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from boomerang.escalations.models import Escalation
    from boomerang.users.models import User

app = domain_app(
    help="Escalations: customer problems moved up support, account manager, executive."
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Email of the staff user acting (default: nobody).")
]


def _by(session: Session, email: str | None) -> User | None:
    from boomerang.users import service as users_service

    if not email:
        return None
    user = users_service.get_by_email(session=session, email=email)
    if user is None:
        raise Invalid(f"--by: no staff user {email!r}")
    return user


def _row(e: Escalation, now: datetime) -> dict[str, Any]:
    return {
        "id": e.id,
        "account_id": e.account_id,
        "account": e.account.name,
        "severity": e.severity,
        "mission_critical": e.mission_critical,
        "problem": e.problem,
        "status": e.status.value,
        "level": e.level.value,
        "owner": e.level_owner.email if e.level_owner else None,
        "due_at": e.due_at.isoformat(),
        "overdue": e.is_overdue(now),
        "source": e.source,
    }


@app.command("open")
@friendly_errors
def open_escalation(
    account: Annotated[str, typer.Argument(help="Account id or external id.")],
    problem: Annotated[str, typer.Option("--problem", help="What is wrong.")],
    severity: Annotated[int, typer.Option("--severity", min=1, max=4, help="1 (worst) to 4.")],
    mission_critical: Annotated[
        bool, typer.Option("--mission-critical", help="Mission-critical to the customer.")
    ] = False,
    by: ByOption = None,
) -> None:
    """Open an escalation at the support level."""
    from boomerang.accounts import service as accounts_service
    from boomerang.escalations import service

    with runtime.transaction() as session:
        escalation = service.open_escalation(
            session=session,
            account=accounts_service.get_by_ref(session=session, ref=account),
            problem=problem,
            severity=severity,
            mission_critical=mission_critical,
            opened_by=_by(session, by),
            settings=runtime.settings,
        )
        owner = escalation.level_owner.email if escalation.level_owner else "nobody"
        console.print(
            f"opened {escalation.id} at {escalation.level.label} level (owner {owner}), "
            f"due {escalation.due_at:%Y-%m-%d %H:%M} UTC",
            highlight=False,
        )


@app.command("list")
@friendly_errors
def list_escalations(
    status: Annotated[str, typer.Option("--status", help="open, resolved or all.")] = "open",
    account: Annotated[str | None, typer.Option("--account", help="Only this account.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Escalations, soonest due first."""
    from rich.table import Table

    from boomerang.accounts import service as accounts_service
    from boomerang.escalations import service

    now = datetime.now(UTC)
    with runtime.read() as session:
        account_id = (
            accounts_service.get_by_ref(session=session, ref=account).id if account else None
        )
        rows = [
            _row(e, now)
            for e in service.list_escalations(session=session, status=status, account_id=account_id)
        ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "account", "sev", "level", "owner", "due (UTC)", "problem")
    for r in rows:
        due = r["due_at"][:16].replace("T", " ") + (" overdue" if r["overdue"] else "")
        sev = f"{r['severity']}{' MC' if r['mission_critical'] else ''}"
        table.add_row(
            r["id"], r["account"], sev, r["level"], r["owner"] or "-", due, r["problem"][:60]
        )
    console.print(table)


@app.command("escalate")
@friendly_errors
def escalate(
    escalation_id: Annotated[str, typer.Argument(help="The escalation's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it moves up.")],
    by: ByOption = None,
) -> None:
    """Move an escalation up one level now."""
    from boomerang.escalations import service

    with runtime.transaction() as session:
        escalation = service.get(session=session, escalation_id=escalation_id)
        service.escalate(
            session=session,
            escalation=escalation,
            reason=reason,
            by=_by(session, by),
            settings=runtime.settings,
        )
        console.print(f"{escalation.id} is at {escalation.level.label} level", highlight=False)


@app.command("resolve")
@friendly_errors
def resolve(
    escalation_id: Annotated[str, typer.Argument(help="The escalation's id.")],
    resolution: Annotated[str, typer.Option("--resolution", help="How it was resolved.")],
    by: ByOption = None,
) -> None:
    """Resolve an escalation."""
    from boomerang.escalations import service

    with runtime.transaction() as session:
        escalation = service.get(session=session, escalation_id=escalation_id)
        service.resolve(
            session=session, escalation=escalation, resolution=resolution, by=_by(session, by)
        )
        console.print(f"{escalation.id} resolved", highlight=False)


@app.command("tick")
@friendly_errors
def tick() -> None:
    """Move up every open escalation whose level's time budget ran out (what the
    ``escalations.tick`` job does every 5 minutes)."""
    from boomerang.escalations import service

    with runtime.transaction() as session:
        moved = service.tick(session=session, settings=runtime.settings)
        for e in moved:
            console.print(f"{e.id} -> {e.level.label}", highlight=False)
        console.print(f"{len(moved)} escalated", highlight=False)
