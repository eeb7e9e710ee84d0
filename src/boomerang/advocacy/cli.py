"""``boomerang advocacy``: who to ask, asks with a cooldown, referrals and rewards."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime
from boomerang.errors import Invalid

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from boomerang.users.models import User

app = domain_app(help="Advocacy: references, reviews, case studies and referrals with incentives.")
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


@app.command("suggest")
@friendly_errors
def suggest(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Promoters (NPS 9-10) on a positive vector who may be asked now."""
    from rich.table import Table

    from boomerang.advocacy import service

    with runtime.read() as session:
        rows = [
            s.as_dict()
            for s in service.suggestions(
                session=session,
                now=datetime.now(UTC),
                cooldown_days=runtime.settings.advocacy_cooldown_days,
                limit=limit,
            )
        ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("contact id", "contact", "account", "NPS", "answered")
    for r in rows:
        table.add_row(
            r["contact_id"], r["contact"], r["account"], str(r["nps"]), r["responded_at"][:10]
        )
    console.print(table)


@app.command("ask")
@friendly_errors
def ask(
    contact_id: Annotated[str, typer.Argument(help="The contact's id.")],
    kind: Annotated[str, typer.Argument(help="reference, review, case_study or referral.")],
    note: Annotated[str | None, typer.Option("--note", help="A note.")] = None,
    by: ByOption = None,
) -> None:
    """Record an ask (refused within the contact's cooldown)."""
    from boomerang.advocacy import service

    with runtime.transaction() as session:
        row = service.ask(
            session=session,
            contact=service.get_contact(session=session, contact_id=contact_id),
            kind=kind,
            note=note,
            cooldown_days=runtime.settings.advocacy_cooldown_days,
            by=_by(session, by),
        )
        console.print(f"asked: {row.id}", highlight=False)


@app.command("asks")
@friendly_errors
def list_asks(
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Asks, latest first."""
    from rich.table import Table

    from boomerang.advocacy import service

    with runtime.read() as session:
        rows = [
            {
                "id": a.id,
                "account": a.account.name,
                "contact": a.contact.name,
                "kind": a.kind.value,
                "status": a.status.value,
                "asked_at": a.asked_at.isoformat(),
            }
            for a in service.list_asks(session=session, status=status, kind=kind)
        ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "account", "contact", "kind", "status", "asked")
    for r in rows:
        table.add_row(
            r["id"], r["account"], r["contact"], r["kind"], r["status"], r["asked_at"][:10]
        )
    console.print(table)


@app.command("ask-status")
@friendly_errors
def ask_status(
    ask_id: Annotated[str, typer.Argument(help="The ask's id.")],
    status: Annotated[str, typer.Argument(help="agreed, declined or completed.")],
    note: Annotated[str | None, typer.Option("--note", help="A note.")] = None,
    by: ByOption = None,
) -> None:
    """Record the answer to an ask."""
    from boomerang.advocacy import service

    with runtime.transaction() as session:
        row = service.get_ask(session=session, ask_id=ask_id)
        service.update_ask(session=session, row=row, status=status, note=note, by=_by(session, by))
        console.print(f"{row.id} is {row.status.value}", highlight=False)


@app.command("refer")
@friendly_errors
def refer(
    account: Annotated[str, typer.Argument(help="The referring account (id or external id).")],
    prospect: Annotated[str, typer.Option("--prospect", help="The referred company.")],
    email: Annotated[str | None, typer.Option("--email", help="The prospect's email.")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="Referring contact id.")] = None,
    incentive: Annotated[str | None, typer.Option("--incentive", help="What is offered.")] = None,
    reward: Annotated[
        str | None, typer.Option("--reward", help="Reward owed when won (account currency).")
    ] = None,
    by: ByOption = None,
) -> None:
    """Record a referral given by an account."""
    from boomerang.accounts import service as accounts_service
    from boomerang.advocacy import service
    from boomerang.renewals.service import money

    with runtime.transaction() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        row = service.refer(
            session=session,
            account=acc,
            prospect_name=prospect,
            prospect_email=email,
            contact=service.get_contact(session=session, contact_id=contact) if contact else None,
            incentive=incentive,
            reward_amount=money(reward, "--reward"),
            today=datetime.now(UTC).date(),
            by=_by(session, by),
        )
        console.print(f"referral {row.id}", highlight=False)


@app.command("referrals")
@friendly_errors
def list_referrals(
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    reward: Annotated[
        str | None, typer.Option("--reward", help="Only this reward status: none, due, paid.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Referrals, latest first."""
    from rich.table import Table

    from boomerang.advocacy import service

    with runtime.read() as session:
        rows: list[dict[str, Any]] = [
            {
                "id": r.id,
                "account": r.account.name,
                "prospect": r.prospect_name,
                "status": r.status.value,
                "reward_amount": None if r.reward_amount is None else float(r.reward_amount),
                "currency": r.currency,
                "reward_status": r.reward_status.value,
            }
            for r in service.list_referrals(session=session, status=status, reward=reward)
        ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "by", "prospect", "status", "reward", "reward status")
    for r in rows:
        amount = "-" if r["reward_amount"] is None else f"{r['reward_amount']:,.2f} {r['currency']}"
        table.add_row(r["id"], r["account"], r["prospect"], r["status"], amount, r["reward_status"])
    console.print(table)


@app.command("referral-status")
@friendly_errors
def referral_status(
    referral_id: Annotated[str, typer.Argument(help="The referral's id.")],
    status: Annotated[str, typer.Argument(help="contacted, qualified, won or lost.")],
    account: Annotated[
        str | None, typer.Option("--account", help="The prospect's account, once a customer.")
    ] = None,
    by: ByOption = None,
) -> None:
    """Move a referral on (won makes its reward due)."""
    from boomerang.accounts import service as accounts_service
    from boomerang.advocacy import service

    with runtime.transaction() as session:
        row = service.get_referral(session=session, referral_id=referral_id)
        referred = accounts_service.get_by_ref(session=session, ref=account) if account else None
        service.update_referral(
            session=session, row=row, status=status, referred_account=referred, by=_by(session, by)
        )
        console.print(
            f"{row.id} is {row.status.value}; reward {row.reward_status.value}", highlight=False
        )


@app.command("pay")
@friendly_errors
def pay(
    referral_id: Annotated[str, typer.Argument(help="The referral's id.")],
    by: ByOption = None,
) -> None:
    """Mark a referral's due reward as paid."""
    from boomerang.advocacy import service

    with runtime.transaction() as session:
        row = service.get_referral(session=session, referral_id=referral_id)
        service.pay_reward(session=session, row=row, by=_by(session, by))
        console.print(f"{row.id}: reward paid", highlight=False)
