"""``boomerang outbox`` (the queue of customer email) and ``boomerang email`` (templates,
a test message)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from boomerang.cli_support import console, domain_app, fail, friendly_errors, runtime
from boomerang.errors import NotFound

outbox_app = domain_app(help="The outbox of customer email: status, delivery, retries, approvals.")
email_app = domain_app(help="Email templates and the SMTP connection.")


@outbox_app.command("status")
@friendly_errors
def status(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Dead letters to list.")] = 20,
) -> None:
    """Messages per status, and the dead letters with their errors."""
    from rich.table import Table

    from boomerang.mail import service
    from boomerang.mail.models import MessageStatus

    with runtime.read() as session:
        counts = service.counts(session=session)
        dead = service.list_by_status(session=session, status=MessageStatus.dead, limit=limit)
        table = Table("status", "messages")
        for state, n in counts.items():
            table.add_row(state.value, f"{n:,}")
        console.print(table)
        if dead:
            letters = Table("id", "to", "subject", "tries", "error", title="Dead letters")
            for m in dead:
                letters.add_row(m.id, m.to_address, m.subject, str(m.attempts), m.last_error or "")
            console.print(letters)
        else:
            console.print("no dead letters")


@outbox_app.command("deliver")
@friendly_errors
def deliver(
    limit: Annotated[
        int, typer.Option(min=1, max=100_000, help="Messages to claim in this pass.")
    ] = 500,
) -> None:
    """One delivery pass now: send the due messages through the configured SMTP server."""
    from boomerang.mail import service

    runtime.require_schema()
    result = service.deliver_due(runtime.transaction, runtime.settings, limit=limit)
    console.print(
        f"claimed {result.claimed}: sent {result.sent}, failed {result.failed} (will retry), "
        f"dead {result.dead}, deferred {result.deferred}"
        + (f", re-sent after a stopped sender {result.recovered}" if result.recovered else ""),
        highlight=False,
    )
    if result.error:
        raise fail(result.error)


@outbox_app.command("retry")
@friendly_errors
def retry(message_id: Annotated[str, typer.Argument(help="The message id (msg_...).")]) -> None:
    """Queue a dead letter again (same Message-ID, a fresh set of tries)."""
    from boomerang.mail import service

    with runtime.transaction() as session:
        message = service.retry_dead(
            session=session, message=service.get(session=session, message_id=message_id)
        )
        console.print(f"{message.id} to {message.to_address}: queued again", highlight=False)


@outbox_app.command("approve")
@friendly_errors
def approve(
    message_id: Annotated[str, typer.Argument(help="The message id (msg_...).")],
    by: Annotated[
        str | None, typer.Option("--by", help="Email of the staff user approving.")
    ] = None,
) -> None:
    """Approve a message that waits for approval; it goes out at the next delivery pass."""
    from boomerang.mail import service
    from boomerang.users import service as users_service

    with runtime.transaction() as session:
        user = None
        if by:
            user = users_service.get_by_email(session=session, email=by)
            if user is None:
                raise NotFound(f"no staff user {by!r}")
        message = service.approve(
            session=session, message=service.get(session=session, message_id=message_id), user=user
        )
        console.print(f"{message.id} to {message.to_address}: approved", highlight=False)


@email_app.command("preview")
@friendly_errors
def preview(
    template_file: Annotated[
        Path, typer.Argument(help="A YAML file with subject, text and optional html.")
    ],
    account: Annotated[str, typer.Option(help="Account id or external id.")],
    contact: Annotated[
        str | None, typer.Option(help="Contact id or email (default: the account's first).")
    ] = None,
    html: Annotated[bool, typer.Option("--html/--no-html", help="Print the HTML part.")] = True,
) -> None:
    """Render a template for an account and contact, as it would be sent (nothing is sent)."""
    from sqlalchemy import select

    from boomerang.accounts import service as accounts_service
    from boomerang.accounts.models import Contact
    from boomerang.mail import templates
    from boomerang.mail.unsubscribe import unsubscribe_url

    template = templates.load(template_file)
    settings = runtime.settings
    with runtime.read() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        found: Contact | None = None
        if contact:
            found = session.scalar(
                select(Contact).where(
                    Contact.account_id == acc.id,
                    (Contact.id == contact) | (Contact.email == contact),
                )
            )
            if found is None:
                raise NotFound(f"no contact {contact!r} at {acc.name}")
        else:
            found = next(iter(accounts_service.list_contacts(session=session, account=acc)), None)
        context = templates.context_for(
            account=acc,
            contact=found,
            owner=acc.owner,
            unsubscribe_url=unsubscribe_url(settings, found) if found else None,
        )
        shown = templates.preview(template, context)
    rendered = shown.rendered
    console.print(f"Subject: {rendered.subject}", highlight=False, markup=False)
    console.print(f"Variables: {', '.join(shown.variables) or '(none)'}", highlight=False)
    console.rule("text")
    console.print(rendered.text, highlight=False, markup=False)
    if html:
        console.rule("html (derived from the text)" if shown.html_derived else "html")
        console.print(rendered.html, highlight=False, markup=False)


@email_app.command("test")
@friendly_errors
def test(to: Annotated[str, typer.Option("--to", help="Recipient address.")]) -> None:
    """Send a test message through the configured SMTP server right away."""
    import smtplib

    from boomerang.mail import service

    settings = runtime.settings
    where = f"{settings.smtp_host}:{settings.smtp_port} ({settings.smtp_security.value})"
    try:
        message_id = service.send_test(settings, to_address=to)
    except (OSError, smtplib.SMTPException) as exc:
        raise fail(f"could not send through {where}: {service.describe_error(exc)}") from None
    console.print(f"sent to {to} through {where}, Message-ID {message_id}", highlight=False)
