"""``boomerang reviews``: list, schedule, cadence, prepared, meeting, cancel (``deck`` is
:mod:`boomerang.flows.review_deck_cli`)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime
from boomerang.errors import Invalid
from boomerang.reviews import periods
from boomerang.reviews.filters import STATUS_FILTERS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from boomerang.reviews import service
    from boomerang.reviews.models import BusinessReview
    from boomerang.users.models import User

app = domain_app(
    help="Business reviews: cadence, internal review, the generated deck, the meeting."
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ByOption = Annotated[str, typer.Option("--by", help="Email of the staff user acting.")]


def _required_by(session: Session, email: str) -> User:
    from boomerang.reviews.api import staff

    user = staff(session, email, "--by")
    if user is None:
        raise Invalid("--by: the email of the staff user acting is required")
    return user


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{option}: {value!r} is not a date like 2026-12-01") from None


def _row(r: BusinessReview, today: date) -> dict[str, Any]:
    return {
        "id": r.id,
        "account_id": r.account_id,
        "account": r.account.name,
        "period": r.period,
        "due_on": r.due_on.isoformat(),
        "overdue": r.is_overdue(today),
        "status": r.status.value,
        "owner": r.owner.email if r.owner else None,
        "source": r.source,
        "held_on": r.held_on.isoformat() if r.held_on else None,
    }


@app.command("list")
@friendly_errors
def list_reviews(
    status: Annotated[str, typer.Option("--status", help=", ".join(STATUS_FILTERS) + ".")] = "open",
    account: Annotated[str | None, typer.Option("--account", help="Only this account.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner (email).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Business reviews, soonest due first."""
    from rich.table import Table

    from boomerang.accounts import service as accounts_service
    from boomerang.reviews import service
    from boomerang.reviews.api import staff

    today = datetime.now(UTC).date()
    with runtime.read() as session:
        account_id = (
            accounts_service.get_by_ref(session=session, ref=account).id if account else None
        )
        owner_user = staff(session, owner, "--owner")
        rows = [
            _row(r, today)
            for r in service.list_reviews(
                session=session,
                status=status,
                account_id=account_id,
                owner_id=owner_user.id if owner_user else None,
                today=today,
            )
        ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "account", "period", "due", "status", "owner")
    for r in rows:
        due = r["due_on"] + (" overdue" if r["overdue"] else "")
        table.add_row(r["id"], r["account"], r["period"], due, r["status"], r["owner"] or "-")
    console.print(table)


@app.command("schedule")
@friendly_errors
def schedule(
    account: Annotated[str, typer.Argument(help="Account id or external id.")],
    due: Annotated[str, typer.Option("--due", help="Meeting due, YYYY-MM-DD.")],
    period: Annotated[
        str | None,
        typer.Option("--period", help="2025-Q3, 2025-H2, 2025 or 2025-07 (default: last quarter)."),
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Owner's email.")] = None,
) -> None:
    """Schedule a business review (with the owner's preparation and meeting tasks)."""
    from boomerang.accounts import service as accounts_service
    from boomerang.reviews import service
    from boomerang.reviews.api import staff

    due_on = _day(due, "--due")
    assert due_on is not None
    with runtime.transaction() as session:
        review = service.schedule(
            session=session,
            account=accounts_service.get_by_ref(session=session, ref=account),
            due=due_on,
            period=periods.parse(period, field="--period") if period else None,
            owner=staff(session, owner, "--owner"),
        )
        console.print(
            f"{review.id}: {review.period} review of {review.account.name}, due {review.due_on}",
            highlight=False,
        )


@app.command("cadence")
@friendly_errors
def cadence(
    today: Annotated[
        str | None, typer.Option("--today", help="Run as of this day (default today, UTC).")
    ] = None,
) -> None:
    """Schedule every review the cadence calls for (what the daily ``reviews.cadence`` job
    does); safe to run again."""
    from boomerang.reviews import service

    with runtime.transaction() as session:
        result = service.run_cadence(
            session=session, settings=runtime.settings, today=_day(today, "--today")
        )
        for r in result.scheduled:
            console.print(f"{r.id} {r.account.name} {r.period} due {r.due_on}", highlight=False)
        console.print(
            f"{len(result.scheduled)} scheduled ({result.accounts_with_cadence} accounts "
            "have a cadence)",
            highlight=False,
        )


@app.command("prepared")
@friendly_errors
def prepared(
    review_id: Annotated[str, typer.Argument(help="The review's id.")],
    by: ByOption,
    notes: Annotated[str | None, typer.Option("--notes", help="Team notes.")] = None,
    product_notes: Annotated[
        str | None, typer.Option("--product-notes", help="Product team's upcoming features.")
    ] = None,
) -> None:
    """Mark the internal review done (with its notes)."""
    from boomerang.reviews import service

    with runtime.transaction() as session:
        user = _required_by(session, by)
        review = service.get(session=session, review_id=review_id)
        service.save_notes(
            session=session,
            review=review,
            by=user,
            internal_notes=notes,
            product_notes=product_notes,
        )
        service.mark_prepared(session=session, review=review, by=user)
        console.print(f"{review.id} prepared", highlight=False)


def parse_action(text: str, n: int, session: Session) -> service.Action:
    """``title|YYYY-MM-DD|owner email (optional)``."""
    from boomerang.reviews import service
    from boomerang.reviews.api import staff

    parts = [p.strip() for p in text.split("|")]
    if len(parts) not in (2, 3) or not parts[0]:
        raise Invalid(f"--action {n}: write 'title|2026-12-01|owner@email (optional)'")
    due = _day(parts[1], f"--action {n}")
    assert due is not None
    owner = staff(session, parts[2], f"--action {n} owner") if len(parts) == 3 else None
    return service.Action(parts[0], due, owner)


@app.command("meeting")
@friendly_errors
def meeting(
    review_id: Annotated[str, typer.Argument(help="The review's id.")],
    notes: Annotated[str, typer.Option("--notes", help="What was said and agreed.")],
    by: ByOption,
    held_on: Annotated[
        str | None, typer.Option("--held-on", help="YYYY-MM-DD (default today, UTC).")
    ] = None,
    action: Annotated[
        list[str] | None,
        typer.Option("--action", help="An agreed action: 'title|YYYY-MM-DD|owner email'."),
    ] = None,
) -> None:
    """Record the meeting with the customer; each --action becomes a task."""
    from boomerang.reviews import service

    day = _day(held_on, "--held-on") or datetime.now(UTC).date()
    with runtime.transaction() as session:
        user = _required_by(session, by)
        review = service.get(session=session, review_id=review_id)
        actions = [parse_action(a, n, session) for n, a in enumerate(action or [], start=1)]
        created = service.record_meeting(
            session=session, review=review, held_on=day, notes=notes, actions=actions, by=user
        )
        console.print(f"{review.id} held on {day}; {len(created)} task(s)", highlight=False)
        for task in created:
            console.print(f"  {task.id} {task.title} (due {task.due_on})", highlight=False)


@app.command("cancel")
@friendly_errors
def cancel(
    review_id: Annotated[str, typer.Argument(help="The review's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why.")],
    by: ByOption,
) -> None:
    """Cancel an open review and its tasks."""
    from boomerang.reviews import service

    with runtime.transaction() as session:
        user = _required_by(session, by)
        review = service.get(session=session, review_id=review_id)
        service.cancel(session=session, review=review, reason=reason, by=user)
        console.print(f"{review.id} cancelled", highlight=False)
