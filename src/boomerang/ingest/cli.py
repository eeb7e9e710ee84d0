"""``boomerang keys`` (tracking write keys) and ``boomerang ingest`` (the inbox)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime

if TYPE_CHECKING:
    from boomerang.ingest.inbox import Inbox

keys_app = domain_app(help="Tracking API write keys (Segment-compatible): create, list, revoke.")
ingest_app = domain_app(help="The tracking API's durable inbox.")


@keys_app.command("create")
@friendly_errors
def create_key(
    name: Annotated[str, typer.Option(help="Which product or source sends with it.")],
) -> None:
    """Create a write key and print it once (only its hash is kept)."""
    from boomerang.ingest import service as ingest_service

    with runtime.transaction() as session:
        key, secret = ingest_service.create_key(session=session, name=name)
        key_id = key.id
    console.print(f"write key {key_id} '{name}' (shown once, keep it safe):", highlight=False)
    print(secret)


@keys_app.command("list")
@friendly_errors
def list_keys() -> None:
    """List write keys (never the keys themselves)."""
    from rich.table import Table

    from boomerang.ingest import service as ingest_service

    with runtime.read() as session:
        table = Table("id", "name", "prefix", "created", "last used", "revoked")
        for k in ingest_service.list_keys(session=session):
            table.add_row(
                k.id,
                k.name,
                k.prefix + "…",
                f"{k.created_at:%Y-%m-%d}",
                f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "",
                f"{k.revoked_at:%Y-%m-%d}" if k.revoked_at else "",
            )
    console.print(table)


@keys_app.command("revoke")
@friendly_errors
def revoke_key(ref: Annotated[str, typer.Argument(help="The key's id (wk_...) or name.")]) -> None:
    """Revoke a write key; the server refuses it within seconds."""
    from boomerang.ingest import service as ingest_service

    with runtime.transaction() as session:
        key = ingest_service.revoke_key(session=session, ref=ref)
        console.print(f"revoked write key {key.id} '{key.name}'", highlight=False)


def _inbox() -> Inbox:
    from boomerang.ingest.inbox import Inbox

    settings = runtime.settings
    return Inbox(settings.inbox_path, dedup_hours=settings.ingest_dedup_hours)


@ingest_app.command("flush")
@friendly_errors
def flush() -> None:
    """Move every pending tracked event to the event store now and merge small event files
    (the server does both itself)."""
    from boomerang.ingest.flush import compact, flush_all

    runtime.require_schema()
    inbox = _inbox()
    try:
        from boomerang.db import session_factory

        moved = flush_all(
            inbox=inbox,
            store=runtime.event_store,
            transaction=session_factory(runtime.engine).begin,
        )
        merged = compact(inbox=inbox, store=runtime.event_store)
    finally:
        inbox.close()
    console.print(f"moved {moved:,} events to the event store; merged {merged:,} small files")


@ingest_app.command("status")
@friendly_errors
def status(minutes: Annotated[int, typer.Option(help="How many minutes of history.")] = 15) -> None:
    """Pending events, remembered messageIds, events per minute, recent rejections and the
    quarantine."""
    from rich.table import Table

    inbox = _inbox()
    try:
        console.print(f"inbox: {inbox.path.resolve()}")
        console.print(f"pending (not yet in the event store): {inbox.pending:,}")
        console.print(f"messageIds remembered for deduplication: {inbox.seen_count():,}")
        since = datetime.now(UTC) - timedelta(minutes=minutes)
        table = Table("minute (UTC)", "accepted", "duplicates", "rejected")
        for m in inbox.minutes(since=since):
            table.add_row(
                f"{m.minute:%H:%M}", f"{m.accepted:,}", f"{m.duplicates:,}", f"{m.rejected:,}"
            )
        console.print(table)
        rejected = inbox.recent_rejections(limit=10)
        if rejected:
            table = Table("when", "messageId", "reason")
            for r in rejected:
                table.add_row(f"{r.at:%Y-%m-%d %H:%M:%S}", r.message_id or "", r.reason)
            console.print(table)
        _print_quarantine(inbox)
    finally:
        inbox.close()


def _print_quarantine(inbox: Inbox) -> None:
    from rich.table import Table

    count = inbox.quarantined()
    console.print(f"quarantined (stored but unreadable by the mover): {count:,}")
    if count:
        table = Table("when", "messageId", "reason", title="latest quarantined rows")
        for r in inbox.recent_quarantine(limit=10):
            table.add_row(f"{r.at:%Y-%m-%d %H:%M:%S}", r.message_id or "", r.reason)
        console.print(table)
        console.print("`boomerang ingest replay-quarantine` puts back the rows that pass again")


@ingest_app.command("replay-quarantine")
@friendly_errors
def replay_quarantine() -> None:
    """Re-check the quarantined rows and put those that pass back in line for the event
    store (the server's mover, or `boomerang ingest flush`, then moves them)."""
    inbox = _inbox()
    try:
        result = inbox.replay_quarantine()
    finally:
        inbox.close()
    console.print(
        f"{result.moved:,} rows back in the inbox for the event store; "
        f"{result.kept:,} still quarantined (`boomerang ingest status` says why)"
    )
