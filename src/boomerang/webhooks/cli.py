"""``boomerang hooks``: webhook sources (support and billing systems that push to us)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from boomerang.cli_support import console, friendly_errors, runtime
from boomerang.webhooks import service

app = typer.Typer(
    help="Inbound webhook sources: create, list, rotate, revoke.", no_args_is_help=True
)


def _url(name: str) -> str:
    settings = runtime.settings
    return f"http://{settings.host}:{settings.port}/v1/hooks/{name}"


@app.command("create")
@friendly_errors
def create(
    name: Annotated[str, typer.Option(help="Short name; part of the URL (/v1/hooks/NAME).")],
    kind: Annotated[str, typer.Option(help="Payload shape: tickets or billing.")],
) -> None:
    """Create a source and print its signing secret once."""
    runtime.require_schema()
    with runtime.transaction() as session:
        source, secret = service.create_source(session=session, name=name, kind=kind)
        label = f"{source.name} ({source.kind.value})"
    console.print(f"webhook source {label}: POST to {_url(name)}", highlight=False)
    console.print("signing secret (shown once; keep it with the sender):", highlight=False)
    print(secret)


@app.command("list")
@friendly_errors
def list_sources() -> None:
    """List sources (never their secrets)."""
    runtime.require_schema()
    with runtime.transaction() as session:
        table = Table("name", "kind", "created", "last received", "revoked")
        for s in service.list_sources(session=session):
            table.add_row(
                s.name,
                s.kind.value,
                f"{s.created_at:%Y-%m-%d}",
                f"{s.last_received_at:%Y-%m-%d %H:%M}" if s.last_received_at else "",
                f"{s.revoked_at:%Y-%m-%d}" if s.revoked_at else "",
            )
    console.print(table)


@app.command("rotate")
@friendly_errors
def rotate(name: Annotated[str, typer.Argument(help="The source's name.")]) -> None:
    """Issue a new secret; the old one keeps working for 24 hours."""
    runtime.require_schema()
    with runtime.transaction() as session:
        source, secret = service.rotate(session=session, ref=name)
        until = source.previous_valid_until
    console.print(
        f"new signing secret for {name} (the old one works until {until:%Y-%m-%d %H:%M} UTC):",
        highlight=False,
    )
    print(secret)


@app.command("revoke")
@friendly_errors
def revoke(name: Annotated[str, typer.Argument(help="The source's name.")]) -> None:
    """Stop accepting deliveries from a source (404 from then on)."""
    runtime.require_schema()
    with runtime.transaction() as session:
        service.revoke(session=session, ref=name)
    console.print(f"revoked webhook source {name}", highlight=False)
