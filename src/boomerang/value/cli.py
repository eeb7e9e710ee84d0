"""``boomerang value`` (value metrics and an account's value) and ``boomerang digests``
(stakeholders, preview, test send, sending the digests due)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime
from boomerang.errors import Invalid
from boomerang.value.kinds import DigestFrequency

value_app = domain_app(help="Value metrics: what value means for the product, per account.")
digests_app = domain_app(help="Value digests: weekly or monthly emails to stakeholders.")
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
DayOption = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Default: today.")]


def _day(value: datetime | None) -> datetime:
    return value or datetime.now(UTC)


@value_app.command("metrics")
@friendly_errors
def metrics(as_json: JsonOption = False) -> None:
    """The value metrics defined."""
    from rich.table import Table

    from boomerang.value import service as value_service
    from boomerang.value.schemas import as_dict

    with runtime.read() as session:
        rows = [as_dict(m) for m in value_service.list_metrics(session=session)]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("key", "name", "formula", "unit", "active")
    for r in rows:
        table.add_row(r["key"], r["name"], r["formula"], r["unit"], "yes" if r["active"] else "no")
    console.print(table)


@value_app.command("load")
@friendly_errors
def load(path: Annotated[Path, typer.Argument(help="YAML file with 'metrics: [...]'.")]) -> None:
    """Create or update value metrics from a YAML file (all or nothing)."""
    from boomerang.value import service as value_service

    try:
        text = path.read_text()
    except OSError as exc:
        raise Invalid(f"{path}: cannot read ({exc.strerror})") from None
    parsed = value_service.parse_file(text, origin=str(path))
    with runtime.transaction() as session:
        created, updated = value_service.load(session=session, definitions=parsed)
    console.print(f"{created} value metrics created, {updated} updated", highlight=False)


@value_app.command("show")
@friendly_errors
def show(
    account: Annotated[str, typer.Argument(help="Account id or external id.")],
    start: Annotated[
        datetime | None, typer.Option("--start", formats=["%Y-%m-%d"], help="Default: end - 89d.")
    ] = None,
    end: Annotated[datetime | None, typer.Option("--end", formats=["%Y-%m-%d"])] = None,
    grain: Annotated[str, typer.Option("--grain", help="day, week or month.")] = "month",
    as_json: JsonOption = False,
) -> None:
    """An account's value per metric: total, previous period, series."""
    from rich.table import Table

    from boomerang.accounts import service as accounts_service
    from boomerang.value import service as value_service

    last = _day(end).date()
    first = start.date() if start else last - timedelta(days=89)
    if grain not in value_service.GRAINS:
        raise Invalid(f"--grain: {grain!r} is not one of {', '.join(value_service.GRAINS)}")
    with runtime.read() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        summary = value_service.account_value(
            session=session,
            source=runtime.event_source,
            account_id=acc.id,
            start=first,
            end=last,
            grain=grain,  # type: ignore[arg-type]  # checked above
        )
    rows: list[dict[str, Any]] = [
        {
            "key": m.key,
            "name": m.name,
            "unit": m.unit,
            "total": m.total,
            "previous": m.previous,
            "events": m.events,
            "series": [[d.isoformat(), v] for d, v in m.series],
        }
        for m in summary.metrics
    ]
    if as_json:
        print(json.dumps({"start": first.isoformat(), "end": last.isoformat(), "metrics": rows}))
        return
    table = Table("metric", "total", "previous", f"by {grain}")
    for r in rows:
        series = "  ".join(f"{d}: {v:g}" for d, v in r["series"])
        table.add_row(f"{r['name']} ({r['unit']})", f"{r['total']:g}", f"{r['previous']:g}", series)
    console.print(f"{first} to {last}", highlight=False)
    console.print(table)


@value_app.command("totals")
@friendly_errors
def totals(
    account: Annotated[str, typer.Argument(help="Account id or external id.")],
    today: Annotated[datetime | None, typer.Option("--today", formats=["%Y-%m-%d"])] = None,
    as_json: JsonOption = False,
) -> None:
    """Running totals of value moments (this week, month, year, last 30 days)."""
    from rich.table import Table

    from boomerang.accounts import service as accounts_service
    from boomerang.value import service as value_service

    day = _day(today).date()
    with runtime.read() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        rows = value_service.running_totals(
            session=session, source=runtime.event_source, account_id=acc.id, today=day
        )
    if as_json:
        print(json.dumps([vars(r) for r in rows]))
        return
    table = Table("metric", "this week", "this month", "this year", "last 30 days")
    for r in rows:
        table.add_row(
            f"{r.name} ({r.unit})",
            f"{r.this_week:g}",
            f"{r.this_month:g}",
            f"{r.this_year:g}",
            f"{r.last_30_days:g}",
        )
    console.print(table)


@digests_app.command("subscribe")
@friendly_errors
def subscribe(
    account: Annotated[str, typer.Argument(help="Account id or external id.")],
    email: Annotated[str, typer.Argument(help="The stakeholder's (a contact's) email.")],
    frequency: Annotated[DigestFrequency, typer.Option("--frequency")] = DigestFrequency.monthly,
) -> None:
    """Add a contact of the account to its value digest."""
    from sqlalchemy import func, select

    from boomerang.accounts import service as accounts_service
    from boomerang.accounts.models import Contact
    from boomerang.value import subscriptions

    with runtime.transaction() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        contact = session.scalar(
            select(Contact).where(
                Contact.account_id == acc.id, func.lower(Contact.email) == email.strip().lower()
            )
        )
        if contact is None:
            raise Invalid(f"email: no contact {email!r} at {acc.name}")
        sub = subscriptions.subscribe(session=session, contact=contact, frequency=frequency)
        console.print(
            f"{contact.name} receives the {sub.frequency.value} digest ({sub.id})", highlight=False
        )


@digests_app.command("list")
@friendly_errors
def list_subscriptions(
    account: Annotated[str, typer.Argument(help="Account id or external id.")],
    as_json: JsonOption = False,
) -> None:
    """An account's digest stakeholders."""
    from rich.table import Table

    from boomerang.accounts import service as accounts_service
    from boomerang.value import subscriptions

    with runtime.read() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        rows = [
            {
                "id": s.id,
                "contact": s.contact.name,
                "email": s.contact.email,
                "frequency": s.frequency.value,
                "opted_out_at": s.opted_out_at.isoformat() if s.opted_out_at else None,
            }
            for s in subscriptions.list_for(session=session, account_id=acc.id)
        ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "contact", "email", "frequency", "opted out")
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["contact"]),
            str(r["email"] or "-"),
            str(r["frequency"]),
            str(r["opted_out_at"] or "-"),
        )
    console.print(table)


@digests_app.command("preview")
@friendly_errors
def preview(
    account: Annotated[str, typer.Argument(help="Account id or external id.")],
    frequency: Annotated[DigestFrequency, typer.Option("--frequency")] = DigestFrequency.monthly,
    today: Annotated[datetime | None, typer.Option("--today", formats=["%Y-%m-%d"])] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the HTML (chart inlined) here.")
    ] = None,
    png: Annotated[Path | None, typer.Option("--png", help="Also write the chart here.")] = None,
) -> None:
    """Print the digest's subject and text for the last complete period."""
    from boomerang.accounts import service as accounts_service
    from boomerang.value import digests

    with runtime.read() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        digest = digests.preview(
            session=session,
            source=runtime.event_source,
            settings=runtime.settings,
            account=acc,
            frequency=frequency,
            today=_day(today).date(),
        )
    print(f"Subject: {digest.subject}\n")
    print(digest.text)
    if html is not None:
        html.write_text(digest.html_with_inline_chart())
    if png is not None:
        png.write_bytes(digest.chart_png)


@digests_app.command("test")
@friendly_errors
def test_send(
    account: Annotated[str, typer.Argument(help="Account id or external id.")],
    to: Annotated[str, typer.Option("--to", help="Where to send the test.")],
    frequency: Annotated[DigestFrequency, typer.Option("--frequency")] = DigestFrequency.monthly,
) -> None:
    """Queue the digest preview to an address through the outbox."""
    from boomerang.accounts import service as accounts_service
    from boomerang.value import digests

    with runtime.transaction() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        message_id = digests.send_test(
            session=session,
            source=runtime.event_source,
            settings=runtime.settings,
            account=acc,
            to_address=to,
            frequency=frequency,
        )
    console.print(f"queued {message_id} to {to}", highlight=False)


@digests_app.command("send")
@friendly_errors
def send(
    today: Annotated[datetime | None, typer.Option("--today", formats=["%Y-%m-%d"])] = None,
    frequency: Annotated[
        DigestFrequency | None, typer.Option("--frequency", help="Default: weekly and monthly.")
    ] = None,
    account: Annotated[str | None, typer.Option("--account", help="Only this account.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Queue the digests due (the last complete week and month) that are not queued yet."""
    from boomerang.accounts import service as accounts_service
    from boomerang.value import digests

    with runtime.transaction() as session:
        account_id = (
            accounts_service.get_by_ref(session=session, ref=account).id if account else None
        )
        run = digests.send_due(
            session=session,
            source=runtime.event_source,
            settings=runtime.settings,
            today=_day(today).date(),
            frequencies=(frequency,) if frequency else tuple(DigestFrequency),
            account_id=account_id,
        )
    result = {
        "queued": run.queued,
        "already_sent": run.already_sent,
        "skipped": run.skipped,
        "periods": run.period_starts,
    }
    if as_json:
        print(json.dumps(result))
        return
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(run.skipped.items())) or "none"
    console.print(
        f"{run.queued} digests queued, {run.already_sent} already sent, skipped: {skipped}",
        highlight=False,
    )
