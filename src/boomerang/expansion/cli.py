"""``boomerang expansion``: detect, list, open, move, win and lose opportunities."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime
from boomerang.errors import Invalid

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from boomerang.expansion.models import Opportunity
    from boomerang.users.models import User

app = domain_app(
    help="Expansion: upsell and cross-sell opportunities from signals, stages and outcomes."
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


def _row(o: Opportunity) -> dict[str, Any]:
    return {
        "id": o.id,
        "account_id": o.account_id,
        "account": o.account.name,
        "signal": o.signal.value,
        "title": o.title,
        "estimated_arr": float(o.estimated_arr),
        "currency": o.currency,
        "stage": o.stage.value,
        "evidence": o.evidence,
        "won_arr": None if o.won_arr is None else float(o.won_arr),
        "subscription_id": o.subscription_id,
    }


def _amount(value: str, option: str) -> Any:
    from boomerang.renewals.service import money

    amount = money(value, option)
    if amount is None:
        raise Invalid(f"{option}: must not be empty")
    return amount


@app.command("detect")
@friendly_errors
def detect(as_json: JsonOption = False) -> None:
    """Open the opportunities the signals find now (what the daily job does)."""
    from boomerang.expansion import service

    with runtime.transaction() as session:
        found = service.detect(
            session=session,
            today=datetime.now(UTC).date(),
            seat_utilisation=runtime.settings.expansion_seat_utilisation,
        )
        result = found.as_dict()
    if as_json:
        print(json.dumps(result, indent=2))
        return
    created = ", ".join(f"{n} {s}" for s, n in sorted(result["created"].items())) or "none"
    console.print(
        f"opened: {created}; already open: {result['already_open']}; "
        f"closed recently: {result['recently_closed']}",
        highlight=False,
    )


@app.command("list")
@friendly_errors
def list_opportunities(
    status: Annotated[str, typer.Option("--status", help="open, won, lost or all.")] = "open",
    signal: Annotated[str | None, typer.Option("--signal", help="Only this signal.")] = None,
    account: Annotated[str | None, typer.Option("--account", help="Only this account.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Opportunities, largest estimate first."""
    from rich.table import Table

    from boomerang.accounts import service as accounts_service
    from boomerang.expansion import service

    with runtime.read() as session:
        account_id = (
            accounts_service.get_by_ref(session=session, ref=account).id if account else None
        )
        rows = [
            _row(o)
            for o in service.list_opportunities(
                session=session, status=status, signal=signal, account_id=account_id
            )
        ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "account", "signal", "estimated", "stage", "title")
    for r in rows:
        table.add_row(
            r["id"],
            r["account"],
            r["signal"],
            f"{r['estimated_arr']:,.0f} {r['currency']}",
            r["stage"],
            r["title"][:60],
        )
    console.print(table)


@app.command("open")
@friendly_errors
def open_opportunity(
    account: Annotated[str, typer.Argument(help="Account id or external id.")],
    title: Annotated[str, typer.Option("--title", help="What to sell.")],
    estimated_arr: Annotated[str, typer.Option("--arr", help="Estimated ARR.")],
    product: Annotated[str | None, typer.Option("--product", help="Product.")] = None,
    by: ByOption = None,
) -> None:
    """Open an opportunity by hand."""
    from boomerang.accounts import service as accounts_service
    from boomerang.expansion import service

    with runtime.transaction() as session:
        opp = service.create(
            session=session,
            account=accounts_service.get_by_ref(session=session, ref=account),
            title=title,
            estimated_arr=_amount(estimated_arr, "--arr"),
            product=product,
            by=_by(session, by),
        )
        console.print(f"opened {opp.id}", highlight=False)


@app.command("stage")
@friendly_errors
def set_stage(
    opportunity_id: Annotated[str, typer.Argument(help="The opportunity's id.")],
    stage: Annotated[str, typer.Argument(help="identified, qualified or proposed.")],
    by: ByOption = None,
) -> None:
    """Move an open opportunity to another stage."""
    from boomerang.expansion import service

    with runtime.transaction() as session:
        opp = service.get(session=session, opportunity_id=opportunity_id)
        service.set_stage(session=session, opp=opp, stage=stage, by=_by(session, by))
        console.print(f"{opp.id} is {opp.stage.value}", highlight=False)


@app.command("win")
@friendly_errors
def win(
    opportunity_id: Annotated[str, typer.Argument(help="The opportunity's id.")],
    arr: Annotated[str, typer.Option("--arr", help="ARR won (a new contract line).")],
    product: Annotated[str | None, typer.Option("--product", help="Product sold.")] = None,
    on: Annotated[str | None, typer.Option("--on", help="First day, YYYY-MM-DD.")] = None,
    by: ByOption = None,
) -> None:
    """Close as won: adds the contract line the revenue metrics count as expansion."""
    from boomerang.expansion import service

    try:
        start = date.fromisoformat(on) if on else None
    except ValueError:
        raise Invalid(f"--on: {on!r} is not a date like 2026-11-22") from None
    with runtime.transaction() as session:
        opp = service.get(session=session, opportunity_id=opportunity_id)
        service.win(
            session=session,
            opp=opp,
            arr=_amount(arr, "--arr"),
            today=datetime.now(UTC).date(),
            product=product,
            on=start,
            by=_by(session, by),
        )
        console.print(f"{opp.id} won: new line {opp.subscription_id}", highlight=False)


@app.command("lose")
@friendly_errors
def lose(
    opportunity_id: Annotated[str, typer.Argument(help="The opportunity's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it was lost.")],
    by: ByOption = None,
) -> None:
    """Close as lost."""
    from boomerang.expansion import service

    with runtime.transaction() as session:
        opp = service.get(session=session, opportunity_id=opportunity_id)
        service.lose(session=session, opp=opp, reason=reason, by=_by(session, by))
        console.print(f"{opp.id} lost", highlight=False)
