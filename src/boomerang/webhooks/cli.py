"""``boomerang hooks``: webhook sources (support and billing systems that push to us)."""

from __future__ import annotations

from typing import Annotated

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime

app = domain_app(help="Inbound webhook sources: create, list, rotate, revoke.")


def _url(name: str) -> str:
    settings = runtime.settings
    return f"http://{settings.host}:{settings.port}/v1/hooks/{name}"


@app.command("create")
@friendly_errors
def create(
    name: Annotated[str, typer.Option(help="Short name; part of the URL (/v1/hooks/NAME).")],
    kind: Annotated[
        str,
        typer.Option(
            help="Payload shape: tickets, billing or signals (any system's events about an "
            "account, for playbook triggers)."
        ),
    ],
) -> None:
    """Create a source and print its signing secret once."""
    from boomerang.webhooks import service

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
    from rich.table import Table

    from boomerang.webhooks import service

    runtime.require_schema()
    with runtime.read() as session:
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
    from boomerang.webhooks import service

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
    from boomerang.webhooks import service

    runtime.require_schema()
    with runtime.transaction() as session:
        service.revoke(session=session, ref=name)
    console.print(f"revoked webhook source {name}", highlight=False)


out_app = domain_app(help="Outbound webhooks: other systems that receive our events, signed.")
app.add_typer(out_app, name="out")

EventsOption = Annotated[
    list[str],
    typer.Option(
        "--event",
        help="An event type or pattern to send (repeat it): task.*, escalation.opened, * ... "
        "(`boomerang hooks out events` lists them).",
    ),
]


@out_app.command("add")
@friendly_errors
def out_add(
    name: Annotated[str, typer.Argument(help="Short name for the receiving system.")],
    url: Annotated[str, typer.Argument(help="Its http(s) URL.")],
    events: EventsOption,
) -> None:
    """Add an endpoint and print its signing secret once."""
    from boomerang.webhooks import outbound

    runtime.require_schema()
    with runtime.transaction() as session:
        endpoint, secret = outbound.create(session=session, name=name, url=url, events=events)
        label = f"{endpoint.name}: {endpoint.url} ({', '.join(endpoint.events)})"
    console.print(f"outbound endpoint {label}", highlight=False)
    console.print("signing secret (shown once; give it to the receiver):", highlight=False)
    print(secret)


@out_app.command("list")
@friendly_errors
def out_list() -> None:
    """List endpoints with their last delivery (never their secrets)."""
    from rich.table import Table

    from boomerang.webhooks import outbound

    runtime.require_schema()
    with runtime.read() as session:
        table = Table("name", "url", "events", "active", "last success", "failures", "last error")
        for e in outbound.list_endpoints(session=session):
            table.add_row(
                e.name,
                e.url,
                ", ".join(e.events),
                "yes" if e.active else "paused",
                f"{e.last_success_at:%Y-%m-%d %H:%M}" if e.last_success_at else "",
                str(e.failures),
                (e.last_error or "")[:60],
            )
    console.print(table)


@out_app.command("update")
@friendly_errors
def out_update(
    name: Annotated[str, typer.Argument(help="The endpoint's name.")],
    url: Annotated[str | None, typer.Option(help="A new URL.")] = None,
    events: Annotated[
        list[str] | None, typer.Option("--event", help="Replace the event patterns.")
    ] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--paused", help="Resume or pause sending.")
    ] = None,
) -> None:
    """Change an endpoint's URL, events, or pause it."""
    from boomerang.webhooks import outbound

    runtime.require_schema()
    with runtime.transaction() as session:
        e = outbound.update(session=session, name=name, url=url, events=events, active=active)
        line = f"{e.name}: {e.url} ({', '.join(e.events)}){'' if e.active else ', paused'}"
    console.print(line, highlight=False)


@out_app.command("rotate")
@friendly_errors
def out_rotate(name: Annotated[str, typer.Argument(help="The endpoint's name.")]) -> None:
    """Issue a new signing secret (in force at once) and print it."""
    from boomerang.webhooks import outbound

    runtime.require_schema()
    with runtime.transaction() as session:
        secret = outbound.rotate(session=session, name=name)
    print(secret)


@out_app.command("remove")
@friendly_errors
def out_remove(name: Annotated[str, typer.Argument(help="The endpoint's name.")]) -> None:
    """Remove an endpoint (its queued deliveries are skipped)."""
    from boomerang.webhooks import outbound

    runtime.require_schema()
    with runtime.transaction() as session:
        outbound.remove(session=session, name=name)
    console.print(f"outbound endpoint {name} removed", highlight=False)


@out_app.command("test")
@friendly_errors
def out_test(name: Annotated[str, typer.Argument(help="The endpoint's name.")]) -> None:
    """Queue a signed ``ping`` event for the endpoint (the worker sends it)."""
    from boomerang.webhooks import outbound

    runtime.require_schema()
    with runtime.transaction() as session:
        outbound.emit(
            session=session,
            event_type="ping",
            data={"message": "hello from Boomerang"},
            endpoint=name,
        )
    console.print(f"ping queued for {name}; see `boomerang jobs list`", highlight=False)


@out_app.command("events")
def out_events() -> None:
    """The event types Boomerang sends."""
    from rich.table import Table

    from boomerang.webhooks import outbound

    table = Table("type", "when")
    for kind, when in outbound.EVENT_TYPES.items():
        table.add_row(kind, when)
    console.print(table)
