"""``boomerang metrics`` (revenue retention) and ``boomerang fx`` (exchange rates)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated

import typer

from boomerang.cli_support import console, domain_app, fail, friendly_errors, runtime

if TYPE_CHECKING:
    from boomerang.metrics.movements import MovementRow
    from boomerang.metrics.report import RevenueReport

# The revenue service (NumPy, SQLAlchemy) and Rich are imported by the commands that use
# them, so that `boomerang metrics --help` and `boomerang fx --help` start without them.

app = domain_app(help="Revenue metrics: ARR bridge, NRR, GRR, churn, cohorts.")
fx_app = domain_app(help="Exchange rates into the reporting currency.")

FromOption = Annotated[
    datetime | None,
    typer.Option("--from", formats=["%Y-%m-%d"], help="First day (default: a year before --to)."),
]
ToOption = Annotated[
    datetime | None,
    typer.Option("--to", formats=["%Y-%m-%d"], help="Last day, included (default: today)."),
]
SegmentOption = Annotated[
    str | None, typer.Option("--segment", help="Only this segment's members.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _period(start: datetime | None, end: datetime | None) -> tuple[date, date]:
    from boomerang.metrics import periods

    return periods.default_period(start.date() if start else None, end.date() if end else None)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _print_report(result: RevenueReport) -> None:
    """The report as tables: bridge, retention, months, break-downs, notes."""
    from rich.table import Table

    r, b = result.retention, result.bridge
    scope = f" ({result.segment})" if result.segment else ""
    console.print(
        f"{result.start} to {result.end}{scope}, {result.currency} at the rates of "
        f"{result.rates_on}",
        highlight=False,
    )
    bridge = Table("ARR bridge", f"{result.currency}", title=None)
    for label, value in (
        ("opening", b.opening_arr),
        ("+ new", b.new),
        ("+ expansion", b.expansion),
        ("+ reactivation", b.reactivation),
        ("- contraction", -b.contraction),
        ("- churn", -b.churn),
        ("closing", b.closing_arr),
    ):
        bridge.add_row(label, _money(value))
    console.print(bridge)
    console.print(
        f"NRR {_pct(r.nrr)}  GRR {_pct(r.grr)}  logo churn {_pct(r.logo_churn_rate)} "
        f"({r.churned_accounts:,} of {r.accounts:,})  ARR churn {_pct(r.arr_churn_rate)}",
        highlight=False,
    )
    _print_months(result)
    _print_groups(result)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)


def _print_months(result: RevenueReport) -> None:
    from rich.table import Table

    months = Table("month", "opening", "closing", "NRR", "GRR", "TTM NRR", "TTM GRR")
    for m in result.months:
        months.add_row(
            m.month,
            _money(m.bridge.opening_arr),
            _money(m.bridge.closing_arr),
            _pct(m.monthly.nrr),
            _pct(m.monthly.grr),
            _pct(m.ttm.nrr if m.ttm else None),
            _pct(m.ttm.grr if m.ttm else None),
        )
    console.print(months)


def _print_groups(result: RevenueReport) -> None:
    from rich.table import Table

    if not result.groups:
        return
    groups = Table("by", "value", "accounts", "opening ARR", "NRR", "GRR", "logo churn")
    for g in result.groups:
        groups.add_row(
            g.dimension,
            g.value,
            f"{g.retention.accounts:,}",
            _money(g.retention.opening_arr),
            _pct(g.retention.nrr),
            _pct(g.retention.grr),
            _pct(g.retention.logo_churn_rate),
        )
    console.print(groups)


@app.command("revenue")
@friendly_errors
def revenue_command(
    start: FromOption = None,
    end: ToOption = None,
    segment: SegmentOption = None,
    by: Annotated[
        str, typer.Option("--by", help="Break-downs, comma separated: tier, csm, segment, cohort.")
    ] = "tier",
    as_json: JsonOption = False,
) -> None:
    """NRR, GRR, churn and the ARR bridge for a period (constant currency)."""
    from boomerang.metrics import revenue

    runtime.require_schema()
    first, last = _period(start, end)
    dims = [d.strip() for d in by.split(",") if d.strip()]
    with runtime.read() as session:
        result = revenue.report(
            session=session,
            start=first,
            end=last,
            currency=runtime.settings.reporting_currency,
            segment=segment,
            dimensions=dims,
        )
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
        return
    _print_report(result)


def _print_movements(rows: list[MovementRow]) -> None:
    """The movements as a table, with their count and total."""
    from rich.table import Table

    table = Table("day", "account", "kind", "amount", "before", "after")
    for r in rows:
        table.add_row(
            str(r.day),
            r.account,
            r.kind,
            _money(r.amount),
            _money(r.opening_arr),
            _money(r.closing_arr),
        )
    console.print(table)
    console.print(
        f"{len(rows):,} movements, {sum(r.amount for r in rows):,.2f} in all", highlight=False
    )


@app.command("movements")
@friendly_errors
def movements_command(
    start: FromOption = None,
    end: ToOption = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind", help="new, expansion, contraction, churn, reactivation (comma separated)."
        ),
    ] = None,
    segment: SegmentOption = None,
    account: Annotated[
        str | None, typer.Option("--account", help="Account id or external id.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The account movements behind a period's bridge: the rows behind each figure."""
    from boomerang.accounts import service as accounts_service
    from boomerang.metrics import revenue

    runtime.require_schema()
    first, last = _period(start, end)
    kinds = revenue.KINDS if kind is None else [k.strip() for k in kind.split(",") if k.strip()]
    with runtime.read() as session:
        account_id = None
        if account is not None:
            account_id = accounts_service.get_by_ref(session=session, ref=account).id
        rows = revenue.movements(
            session=session,
            start=first,
            end=last,
            currency=runtime.settings.reporting_currency,
            kinds=kinds,
            segment=segment,
            account_id=account_id,
        )
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    _print_movements(rows)


@fx_app.command("set")
@friendly_errors
def fx_set(
    currency: Annotated[str, typer.Argument(help="ISO 4217 code, e.g. EUR.")],
    rate: Annotated[str, typer.Argument(help="Units of the reporting currency per unit.")],
    valid_from: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="First day it applies (default: today)."),
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Where the rate comes from.")
    ] = None,
) -> None:
    """Set (or correct) a currency's rate from a day on."""
    from boomerang.metrics import revenue

    runtime.require_schema()
    try:
        value = Decimal(rate)
    except InvalidOperation:
        raise fail(f"rate: {rate!r} is not a number") from None
    day = valid_from.date() if valid_from else datetime.now(UTC).date()
    with runtime.transaction() as session:
        row = revenue.set_rate(
            session=session, currency=currency, rate=value, valid_from=day, source=source
        )
        reporting = runtime.settings.reporting_currency
        text = f"{row.currency} = {row.rate} {reporting} from {row.valid_from}"
    console.print(text, highlight=False)


@fx_app.command("list")
@friendly_errors
def fx_list() -> None:
    """Every rate, by currency and day."""
    from rich.table import Table

    from boomerang.metrics import revenue

    runtime.require_schema()
    table = Table("currency", "from", "rate", "source")
    with runtime.read() as session:
        for r in revenue.list_rates(session=session):
            table.add_row(r.currency, str(r.valid_from), str(r.rate), r.source or "")
    console.print(table)
