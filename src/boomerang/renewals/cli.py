"""``boomerang renewals``: the pipeline, the forecast, overrides and outcomes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime
from boomerang.errors import Invalid
from boomerang.renewals.reasons import REASON_CODES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from boomerang.users.models import User

app = domain_app(
    help="Renewals: the pipeline of contract lines coming up, its forecast and outcomes."
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Email of the staff user acting (default: nobody).")
]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Day to forecast from, YYYY-MM-DD (default today).")
]


def _by(session: Session, email: str | None) -> User | None:
    from boomerang.users import service as users_service

    if not email:
        return None
    user = users_service.get_by_email(session=session, email=email)
    if user is None:
        raise Invalid(f"--by: no staff user {email!r}")
    return user


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{option}: {value!r} is not a date like 2026-11-22") from None


def _today(value: str | None) -> date:
    return _day(value, "--as-of") or datetime.now(UTC).date()


def _money(value: float, currency: str) -> str:
    return f"{value:,.0f} {currency}"


@app.command("list")
@friendly_errors
def list_pipeline(
    months: Annotated[int, typer.Option("--months", min=1, max=36, help="Months ahead.")] = 12,
    owner: Annotated[str | None, typer.Option("--owner", help="Owner's email.")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Owner's team.")] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="Segment name or id.")] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="commit, best_case or at_risk.")
    ] = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Contract lines renewing in the coming months, with risk, probability and category."""
    from rich.table import Table

    from boomerang.renewals import pipeline

    with runtime.read() as session:
        pipe = pipeline.pipeline(
            session=session,
            today=_today(as_of),
            currency=runtime.settings.reporting_currency,
            months=months,
            owner=owner,
            team=team,
            segment=segment,
            category=category,
        )
    if as_json:
        print(json.dumps(pipe.as_dict(), indent=2))
        return
    table = Table(
        "renewal", "account", "line", "ARR", "owner", "health", "risk", "prob", "category"
    )
    for line in pipe.lines:
        table.add_row(
            line.renewal_date.isoformat(),
            line.account,
            f"{line.product} ({line.subscription_id})",
            _money(line.arr, line.currency),
            line.owner or "-",
            "-" if line.health is None else f"{line.health:.0f}",
            "-" if line.churn_risk is None else f"{line.churn_risk:.0%}",
            f"{line.probability:.0%}",
            line.category.value + (" *" if line.category_overridden else ""),
        )
    console.print(table)
    cur = pipe.currency
    console.print(
        f"{pipe.total.lines} lines, {_money(pipe.total.arr, cur)} up for renewal, "
        f"{_money(pipe.total.expected, cur)} expected",
        highlight=False,
    )


@app.command("forecast")
@friendly_errors
def show_forecast(
    quarters: Annotated[int, typer.Option("--quarters", min=1, max=8, help="Quarters.")] = 2,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Expected ARR (ARR x probability) by quarter and forecast category."""
    from rich.table import Table

    from boomerang.renewals import forecast, pipeline

    with runtime.read() as session:
        result = pipeline.forecast_quarters(
            session=session,
            today=_today(as_of),
            currency=runtime.settings.reporting_currency,
            quarters=quarters,
        )
    if as_json:
        print(json.dumps(result, indent=2))
        return
    cur = result["currency"]
    table = Table("quarter", "lines", "ARR up", "expected", *forecast.CATEGORIES)
    for q in result["quarters"]:
        table.add_row(
            q["key"],
            str(q["lines"]),
            _money(q["arr"], cur),
            _money(q["expected_arr"], cur),
            *(_money(q["by_category"][c]["expected_arr"], cur) for c in forecast.CATEGORIES),
        )
    console.print(table)


@app.command("override")
@friendly_errors
def override(
    subscription_id: Annotated[str, typer.Argument(help="The contract line's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the forecast differs.")],
    probability: Annotated[
        float | None, typer.Option("--probability", min=0.0, max=1.0, help="0 to 1.")
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="commit, best_case or at_risk.")
    ] = None,
    by: ByOption = None,
) -> None:
    """Override a line's renewal probability and/or category, with a reason."""
    from boomerang.renewals import service

    with runtime.transaction() as session:
        line = service.get_line(session=session, subscription_id=subscription_id)
        service.set_override(
            session=session,
            line=line,
            reason=reason,
            probability=probability,
            category=category,
            by=_by(session, by),
        )
        console.print(f"forecast of {line.id} overridden", highlight=False)


@app.command("clear-override")
@friendly_errors
def clear_override(
    subscription_id: Annotated[str, typer.Argument(help="The contract line's id.")],
    by: ByOption = None,
) -> None:
    """Go back to the model's probability and the rule's category."""
    from boomerang.renewals import service

    with runtime.transaction() as session:
        line = service.get_line(session=session, subscription_id=subscription_id)
        service.clear_override(session=session, line=line, by=_by(session, by))
        console.print(f"override of {line.id} cleared", highlight=False)


@app.command("outcome")
@friendly_errors
def outcome(
    subscription_id: Annotated[str, typer.Argument(help="The contract line's id.")],
    result: Annotated[str, typer.Argument(help="renewed, expanded, contracted or churned.")],
    new_arr: Annotated[
        str | None, typer.Option("--arr", help="New ARR (expanded, contracted).")
    ] = None,
    seats: Annotated[int | None, typer.Option("--seats", min=0, help="New seats.")] = None,
    reason_code: Annotated[
        str | None,
        typer.Option("--reason", help="Reason code: " + ", ".join(REASON_CODES) + "."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="A note.")] = None,
    on: Annotated[
        str | None, typer.Option("--on", help="Day it took effect (default: renewal date).")
    ] = None,
    by: ByOption = None,
) -> None:
    """Record a renewal's outcome: ends the line and starts its successor."""
    from boomerang.renewals import service

    with runtime.transaction() as session:
        line = service.get_line(session=session, subscription_id=subscription_id)
        row = service.record_outcome(
            session=session,
            line=line,
            outcome=result,
            today=datetime.now(UTC).date(),
            new_arr=service.money(new_arr, "--arr"),
            seats=seats,
            reason_code=reason_code,
            note=note,
            on=_day(on, "--on"),
            by=_by(session, by),
        )
        successor = f", new line {row.new_subscription_id}" if row.new_subscription_id else ""
        console.print(f"{line.id}: {result} on {row.decided_on}{successor}", highlight=False)
