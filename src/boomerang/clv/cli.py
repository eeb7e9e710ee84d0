"""``boomerang clv`` and ``boomerang retention``: lifetime value and retention models fitted
on a file (CSV or Parquet); no database needed."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from boomerang.cli_support import console, domain_app, friendly_errors

if TYPE_CHECKING:
    from rich.table import Table

# The service with its models (NumPy, SciPy) and Rich are imported by the commands that use
# them, so that `boomerang clv --help` and `boomerang retention --help` start without them.

clv_app = domain_app(
    help="Customer lifetime value from transactions: BG/NBD, Pareto/NBD, Gamma-Gamma.",
)
retention_app = domain_app(help="Contractual retention: the shifted-beta-geometric (sBG) model.")


class ModelName(StrEnum):
    bg_nbd = "bg-nbd"
    pareto_nbd = "pareto-nbd"
    gamma_gamma = "gamma-gamma"


class PurchaseModelName(StrEnum):
    bg_nbd = "bg-nbd"
    pareto_nbd = "pareto-nbd"


class UnitName(StrEnum):
    days = "days"
    weeks = "weeks"
    months = "months"


FileArgument = Annotated[
    Path, typer.Argument(help="Transactions: a CSV (with a header) or Parquet file.")
]
CustomerOption = Annotated[str, typer.Option("--customer", help="Column of customer ids.")]
DateOption = Annotated[str, typer.Option("--date", help="Column of transaction dates.")]
CalibrationOption = Annotated[
    datetime,
    typer.Option(
        "--calibration-end",
        formats=["%Y-%m-%d"],
        help="Last day of the calibration period (YYYY-MM-DD); later transactions are ignored.",
    ),
]
UnitOption = Annotated[
    UnitName, typer.Option("--unit", help="Time unit of recency, T and the fitted alpha/beta.")
]
DateFormatOption = Annotated[
    str | None,
    typer.Option(
        "--date-format", help="strptime format of the dates when not ISO 8601, e.g. %Y%m%d."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _params_table(title: str, params: dict[str, float], log_likelihood: float, n: int) -> Table:
    from rich.table import Table

    table = Table("parameter", "value", title=title)
    for name, value in params.items():
        table.add_row(name, f"{value:.6g}")
    table.add_row("log-likelihood", f"{log_likelihood:,.2f}")
    table.add_row("customers", f"{n:,}")
    return table


@clv_app.command("fit")
@friendly_errors
def fit(
    file: FileArgument,
    customer: CustomerOption,
    date: DateOption,
    calibration_end: CalibrationOption,
    model: Annotated[ModelName, typer.Option("--model", help="The model to fit.")],
    amount: Annotated[
        str | None, typer.Option("--amount", help="Column of spend (gamma-gamma needs it).")
    ] = None,
    unit: UnitOption = UnitName.weeks,
    date_format: DateFormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fit a model and print its parameters, log-likelihood and customers.

    The model is fitted on the RFM summary of the calibration period; the parameters have
    the literature's names; gamma-gamma is fitted on the customers with at least one repeat
    purchase.
    """
    from boomerang.clv import service

    result = service.fit_file(
        file,
        customer=customer,
        date_column=date,
        calibration_end=calibration_end.date(),
        model=model.value,
        amount=amount,
        unit=unit.value,
        date_format=date_format,
    )
    if as_json:
        print(json.dumps(result))
        return
    console.print(
        _params_table(
            f"{model.value} ({unit.value}, calibration to {calibration_end.date()})",
            result["params"],
            result["log_likelihood"],
            result["n"],
        )
    )


@clv_app.command("predict")
@friendly_errors
def predict(
    file: FileArgument,
    customer: CustomerOption,
    date: DateOption,
    amount: Annotated[str, typer.Option("--amount", help="Column of spend.")],
    calibration_end: CalibrationOption,
    model: Annotated[
        PurchaseModelName, typer.Option("--model", help="The purchase model.")
    ] = PurchaseModelName.bg_nbd,
    horizon: Annotated[int, typer.Option("--horizon", min=1, help="CLV horizon in months.")] = 12,
    discount_rate: Annotated[
        float, typer.Option("--discount-rate", help="Monthly discount rate.")
    ] = 0.01,
    unit: UnitOption = UnitName.weeks,
    date_format: DateFormatOption = None,
    as_json: JsonOption = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write every customer's predictions to this CSV.")
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, help="Customers shown in the table (highest CLV).")
    ] = 20,
) -> None:
    """Predict purchases, spend and CLV per customer.

    Per customer: the RFM summary, P(alive), expected purchases over the horizon, expected
    spend per purchase and the discounted CLV (the purchase model with gamma-gamma, as
    lifetimes' customer_lifetime_value; a month is 365.25/12 days).
    """
    from boomerang.clv import service

    result = service.predict_file(
        file,
        customer=customer,
        date_column=date,
        amount=amount,
        calibration_end=calibration_end.date(),
        model=model.value,
        horizon=horizon,
        discount_rate=discount_rate,
        unit=unit.value,
        date_format=date_format,
    )
    if out is not None:
        service.write_predictions(result["customers"], out)
    if as_json:
        print(json.dumps(result))
        return
    _print_predictions(result, model=model.value, out=out, top=top, horizon=horizon)


def _print_predictions(
    result: dict[str, Any], *, model: str, out: Path | None, top: int, horizon: int
) -> None:
    from boomerang.clv import service

    rows: list[dict[str, Any]] = result["customers"]
    params = ", ".join(
        f"{k}={v:.4g}" for k, v in {**result["params"], **result["gamma_gamma"]}.items()
    )
    console.print(f"{model} + gamma-gamma: {params}", highlight=False)
    if out is not None:
        console.print(f"wrote {len(rows):,} customers to {out}", highlight=False)
        return
    shown = service.top_by_clv(rows, top)
    console.print(
        _predictions_table(
            shown, title=f"top {len(shown):,} of {len(rows):,} customers by {horizon}-month CLV"
        )
    )
    console.print("all customers: --out FILE.csv or --json", highlight=False)


def _predictions_table(rows: list[dict[str, Any]], *, title: str) -> Table:
    from rich.table import Table

    from boomerang.clv.service import PREDICTION_COLUMNS

    table = Table(*PREDICTION_COLUMNS, title=title)

    def show(value: float | None, spec: str) -> str:
        return "—" if value is None else format(value, spec)

    for row in rows:
        table.add_row(
            str(row["customer"]),
            show(row["frequency"], "g"),
            *(show(row[c], ".2f") for c in ("recency", "T", "monetary_value")),
            show(row["probability_alive"], ".3f"),
            show(row["expected_purchases"], ".2f"),
            *(show(row[c], ",.2f") for c in ("expected_spend", "clv")),
        )
    return table


@retention_app.command("fit")
@friendly_errors
def retention_fit(
    file: Annotated[
        Path, typer.Argument(help="One row per customer: a CSV (with a header) or Parquet file.")
    ],
    recency: Annotated[
        str,
        typer.Option(
            "--recency", help="Column of periods active, counting the first (at least 1)."
        ),
    ],
    t_column: Annotated[
        str,
        typer.Option(
            "--T",
            help="Column of periods observed; recency < T means the customer churned.",
        ),
    ],
    cohort: Annotated[
        str | None, typer.Option("--cohort", help="Column of cohorts: one fit per cohort.")
    ] = None,
    periods: Annotated[
        int | None,
        typer.Option(
            "--periods",
            min=1,
            help="Project survival for renewals 1..N (default: the observed ones plus 5).",
        ),
    ] = None,
    discount_rate: Annotated[
        float,
        typer.Option("--discount-rate", help="Discount rate per period, for DERL."),
    ] = 0.1,
    as_json: JsonOption = False,
) -> None:
    """Fit the shifted-beta-geometric model, per cohort with --cohort.

    Prints alpha, beta, the log-likelihood, projected survival and retention rates, and the
    discounted expected residual lifetime (DERL, in payments) of a customer active through
    the whole observation.
    """
    from boomerang.clv import service

    result = service.retention_file(
        file,
        recency=recency,
        t_column=t_column,
        cohort=cohort,
        periods=periods,
        discount_rate=discount_rate,
    )
    if as_json:
        print(json.dumps(result))
        return
    _print_retention(result, discount_rate)


def _print_retention(result: dict[str, Any], discount_rate: float) -> None:
    from rich.table import Table

    fits = result["fits"]
    fits_table = Table("cohort", "alpha", "beta", "log-likelihood", "customers", "DERL")
    for fit in fits:
        derl = fit["derl"]
        fits_table.add_row(
            fit["cohort"] if fit["cohort"] is not None else "all",
            f"{fit['params']['alpha']:.4g}",
            f"{fit['params']['beta']:.4g}",
            f"{fit['log_likelihood']:,.2f}",
            f"{fit['n']:,}",
            f"{derl['value']:.3f} (after {derl['renewals']} renewals, d={discount_rate:g})",
        )
    console.print(fits_table)
    projection = Table(
        "renewal",
        *(f"{f['cohort'] if f['cohort'] is not None else 'all'} survival" for f in fits),
        title="projected survival",
    )
    for i in range(result["periods"]):
        projection.add_row(str(i + 1), *(f"{f['projection'][i]['survival']:.3f}" for f in fits))
    console.print(projection)


# `boomerang clv accounts`: the contractual valuation of our own accounts lives beside it.
from boomerang.clv.accounts_cli import accounts  # noqa: E402

clv_app.command("accounts")(accounts)
