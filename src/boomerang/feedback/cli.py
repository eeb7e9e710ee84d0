"""``boomerang feedback``: feedback, feature requests ranked by ARR, customer groups."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime
from boomerang.errors import Invalid
from boomerang.feedback.kinds import Channel, GroupKind, RequestStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from boomerang.accounts.models import Contact

app = domain_app(
    help="Feedback and feature requests (ranked by the ARR asking), advisory board and "
    "focus groups."
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _contact(session: Session, contact_id: str | None) -> Contact | None:
    from boomerang.accounts.models import Contact

    if not contact_id:
        return None
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise Invalid(f"--contact: no contact {contact_id!r}")
    return contact


@app.command("add")
@friendly_errors
def add(
    account: Annotated[str, typer.Argument(help="Account id or external id.")],
    text: Annotated[str, typer.Option("--text", help="What the customer asked or said.")],
    channel: Annotated[Channel, typer.Option("--channel", help="Where it came from.")] = (
        Channel.csm_note
    ),
    request: Annotated[
        str | None, typer.Option("--request", help="Feature request id or title.")
    ] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="Contact id.")] = None,
    source_ref: Annotated[
        str | None, typer.Option("--ref", help="What it came from (ticket id...).")
    ] = None,
) -> None:
    """Record feedback from an account."""
    from boomerang.accounts import service as accounts_service
    from boomerang.feedback import service

    with runtime.transaction() as session:
        item = service.add_feedback(
            session=session,
            account=accounts_service.get_by_ref(session=session, ref=account),
            text=text,
            channel=channel,
            contact=_contact(session, contact),
            request=service.get_request(session=session, ref=request) if request else None,
            source_ref=source_ref,
        )
        console.print(f"added {item.id}", highlight=False)


@app.command("from")
@friendly_errors
def from_source(
    source: Annotated[str, typer.Argument(help="survey:RESPONSE_ID or ticket:TICKET_ID.")],
    request: Annotated[
        str | None, typer.Option("--request", help="Feature request id or title.")
    ] = None,
) -> None:
    """Record feedback from a survey comment or a ticket."""
    from boomerang.feedback import service

    with runtime.transaction() as session:
        found = service.get_request(session=session, ref=request) if request else None
        item = service.from_source(session=session, source=source, request=found)
        console.print(f"added {item.id} from {item.source_ref}", highlight=False)


@app.command("request")
@friendly_errors
def request(
    title: Annotated[str, typer.Argument(help="The feature request's title.")],
    description: Annotated[str, typer.Option("--description", help="Details.")] = "",
) -> None:
    """Create a feature request."""
    from boomerang.feedback import service

    with runtime.transaction() as session:
        found = service.create_request(session=session, title=title, description=description)
        console.print(f"created {found.id}: {found.title}", highlight=False)


@app.command("link")
@friendly_errors
def link(
    item: Annotated[str, typer.Argument(help="Feedback id.")],
    request: Annotated[str, typer.Argument(help="Feature request id or title.")],
) -> None:
    """Link feedback to a feature request."""
    from boomerang.feedback import service

    with runtime.transaction() as session:
        found = service.link(
            session=session,
            item=service.get_item(session=session, item_id=item),
            request=service.get_request(session=session, ref=request),
        )
        console.print(f"{found.id} -> {request}", highlight=False)


@app.command("requests")
@friendly_errors
def requests(
    status: Annotated[RequestStatus | None, typer.Option("--status", help="Only this.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Feature requests ranked by the ARR of the distinct accounts asking."""
    from rich.table import Table

    from boomerang.feedback import service

    with runtime.read() as session:
        rows: list[dict[str, Any]] = [
            {
                "id": r.request.id,
                "title": r.request.title,
                "status": r.request.status.value,
                "accounts": r.accounts,
                "arr": str(r.arr),
                "feedback": r.items,
            }
            for r in service.ranked(session=session, status=status)
        ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "title", "status", "accounts", "ARR asking", "feedback")
    for r in rows:
        table.add_row(
            r["id"], r["title"], r["status"], str(r["accounts"]), r["arr"], str(r["feedback"])
        )
    console.print(table)


@app.command("status")
@friendly_errors
def status(
    request: Annotated[str, typer.Argument(help="Feature request id or title.")],
    new_status: Annotated[RequestStatus, typer.Argument(help="new, planned, shipped...")],
) -> None:
    """Move a request; ``shipped`` emails the requesting contacts through the outbox."""
    from boomerang.feedback import service

    with runtime.transaction() as session:
        found = service.get_request(session=session, ref=request)
        result = service.set_status(
            session=session, request=found, status=new_status, settings=runtime.settings
        )
        for contact_id, why in result.refused:
            console.print(f"not emailed {contact_id}: {why}", highlight=False)
        console.print(
            f"{found.title} is {found.status.value} ({len(result.queued)} emails queued)",
            highlight=False,
        )


@app.command("group")
@friendly_errors
def group(
    name: Annotated[str, typer.Argument(help="Group name.")],
    kind: Annotated[GroupKind, typer.Option("--kind", help="advisory_board or focus_group.")],
    description: Annotated[str, typer.Option("--description")] = "",
) -> None:
    """Create an advisory board or a focus group."""
    from boomerang.feedback import service

    with runtime.transaction() as session:
        found = service.create_group(session=session, name=name, kind=kind, description=description)
        console.print(f"created {found.id}: {found.name}", highlight=False)


@app.command("member")
@friendly_errors
def member(
    group_ref: Annotated[str, typer.Argument(help="Group name or id.")],
    contact: Annotated[str, typer.Argument(help="Contact id.")],
) -> None:
    """Add a contact to a group."""
    from boomerang.feedback import service

    with runtime.transaction() as session:
        found = service.get_group(session=session, ref=group_ref)
        person = _contact(session, contact)
        assert person is not None
        service.add_member(session=session, group=found, contact=person)
        console.print(f"{person.name} joined {found.name}", highlight=False)


@app.command("meeting")
@friendly_errors
def meeting(
    group_ref: Annotated[str, typer.Argument(help="Group name or id.")],
    held_on: Annotated[str, typer.Option("--on", help="Date (YYYY-MM-DD).")],
    title: Annotated[str, typer.Option("--title")],
    notes: Annotated[str, typer.Option("--notes")] = "",
) -> None:
    """Record a group meeting and its notes."""
    from boomerang.feedback import service

    try:
        day = date.fromisoformat(held_on)
    except ValueError:
        raise Invalid(f"--on: {held_on!r} is not a date (YYYY-MM-DD)") from None
    with runtime.transaction() as session:
        found = service.get_group(session=session, ref=group_ref)
        service.add_meeting(session=session, group=found, held_on=day, title=title, notes=notes)
        console.print(f"meeting of {found.name} on {day} recorded", highlight=False)
