"""``boomerang clv accounts``: value every paying account from the renewal history."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from boomerang.cli_support import console, friendly_errors, runtime


@friendly_errors
def accounts(
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="Treat this day as today."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Fit the sBG retention model per tier on the contract history and store each paying
    account's expected value from the renewals still to come."""
    from rich.table import Table

    import boomerang.models  # noqa: F401  (every table, so that mappers resolve)
    from boomerang.clv import valuation

    settings = runtime.settings
    with runtime.transaction() as session:
        result = valuation.value_accounts(
            session=session,
            currency=settings.reporting_currency,
            discount_rate=settings.clv_discount_rate,
            today=as_of.date() if as_of else None,
        )
    if as_json:
        print(
            json.dumps(
                {
                    "as_of": result.as_of.isoformat(),
                    "accounts": result.accounts,
                    "total_value": result.total_value,
                    "currency": settings.reporting_currency,
                    "discount_rate": settings.clv_discount_rate,
                    "fits": [
                        {
                            "cohort": f.cohort,
                            "alpha": round(f.alpha, 6),
                            "beta": round(f.beta, 6),
                            "accounts": f.accounts,
                            "churned": f.churned,
                        }
                        for f in result.fits
                    ],
                },
                indent=2,
            )
        )
        return
    table = Table("cohort", "alpha", "beta", "accounts", "churned")
    for f in result.fits:
        table.add_row(
            f.cohort, f"{f.alpha:.3f}", f"{f.beta:.3f}", f"{f.accounts:,}", f"{f.churned:,}"
        )
    console.print(table)
    console.print(
        f"{result.accounts:,} accounts valued as of {result.as_of}: "
        f"{result.total_value:,.2f} {settings.reporting_currency} from the renewals to come "
        f"(discounted at {settings.clv_discount_rate:.0%} a year)",
        highlight=False,
    )
