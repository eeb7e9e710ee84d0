"""``boomerang churn``: train, score, report, show an account, evaluate a plain table."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from boomerang.cli_support import console, domain_app, fail, friendly_errors, runtime

# The services (scikit-learn, pandas, SQLAlchemy) and Rich are imported by the commands that
# use them, so that `boomerang churn --help` starts without them.

app = domain_app(help="Churn risk: a model of your own history, with reasons.")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AsOfOption = Annotated[
    datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="Treat this day as today (default: today)."),
]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def print_report(report: dict[str, Any]) -> None:
    from rich.table import Table

    m, h = report["model"], report["health_score_alone"]
    console.print(
        f"label: {report['label']}; trained on {len(report['train_days'])} days "
        f"({report['train_days'][0]} to {report['train_days'][-1]}, {report['n_train']:,} "
        f"observations), tested out of time on {len(report['test_days'])} days "
        f"({report['test_days'][0]} to {report['test_days'][-1]}, {report['n_test']:,})",
        highlight=False,
    )
    table = Table("", "ROC-AUC", "PR-AUC", "Brier", "top-decile lift")
    lift = report["lift_by_decile"]
    table.add_row(
        "model",
        _num(m["roc_auc"]),
        _num(m["pr_auc"]),
        _num(m["brier"]),
        _num(lift["model"][0]["lift"] if lift["model"] else None),
    )
    table.add_row(
        "health score alone",
        _num(h["roc_auc"]),
        _num(h["pr_auc"]),
        "—",
        _num(lift["health_score_alone"][0]["lift"] if lift["health_score_alone"] else None),
    )
    console.print(table)
    if report.get("roc_auc_gain") is not None:
        console.print(
            f"the model beats the health score alone by {report['roc_auc_gain']:+.3f} ROC-AUC "
            f"and {report['pr_auc_gain']:+.3f} PR-AUC out of time",
            highlight=False,
        )


@app.command("train")
@friendly_errors
def train(
    horizon: Annotated[
        int | None,
        typer.Option(
            "--horizon", min=7, max=730, help="Days ahead (default: BOOMERANG_CHURN_HORIZON_DAYS)."
        ),
    ] = None,
    score_too: Annotated[
        bool, typer.Option("--score/--no-score", help="Score every account with the new model.")
    ] = True,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train a new model version on the history, judge it out of time, and (by default)
    score every live account with it."""
    from boomerang.churn import service

    settings = runtime.settings
    with runtime.transaction() as session:
        trained = service.train(
            session=session,
            source=runtime.event_source,
            currency=settings.reporting_currency,
            horizon_days=horizon or settings.churn_horizon_days,
            scorecards_dir=settings.scorecards_dir,
            today=as_of.date() if as_of else None,
        )
        version = trained.model.version
        scored = None
        if score_too:
            scored = service.score(
                session=session,
                source=runtime.event_source,
                currency=settings.reporting_currency,
                model_row=trained.model,
                scorecards_dir=settings.scorecards_dir,
                today=as_of.date() if as_of else None,
            )
    if as_json:
        print(json.dumps({"version": version, "report": trained.report}, indent=2))
        return
    console.print(f"churn model v{version}", highlight=False)
    print_report(trained.report)
    if scored is not None:
        console.print(
            f"scored {scored.accounts:,} accounts: {scored.bands['high']:,} high, "
            f"{scored.bands['medium']:,} medium, {scored.bands['low']:,} low risk",
            highlight=False,
        )


@app.command("score")
@friendly_errors
def score(as_of: AsOfOption = None) -> None:
    """Score every live account with the latest model (today's predictions are replaced)."""
    from boomerang.churn import service

    settings = runtime.settings
    with runtime.transaction() as session:
        result = service.score(
            session=session,
            source=runtime.event_source,
            currency=settings.reporting_currency,
            scorecards_dir=settings.scorecards_dir,
            today=as_of.date() if as_of else None,
        )
    console.print(
        f"model v{result.model_version}: {result.accounts:,} accounts scored for {result.as_of}: "
        f"{result.bands['high']:,} high, {result.bands['medium']:,} medium, "
        f"{result.bands['low']:,} low risk",
        highlight=False,
    )


@app.command("report")
@friendly_errors
def report(as_json: JsonOption = False) -> None:
    """The latest model's out-of-time evaluation against the health score alone."""
    from boomerang.churn import service

    with runtime.read() as session:
        row = service.latest_model(session=session)
        if row is None:
            raise fail("no churn model yet: run `boomerang churn train`")
        data = {
            "version": row.version,
            "trained_at": row.trained_at.isoformat(),
            "report": row.report,
        }
    if as_json:
        print(json.dumps(data, indent=2))
        return
    console.print(f"churn model v{data['version']}, trained {data['trained_at']}", highlight=False)
    print_report(data["report"])  # type: ignore[arg-type]


@app.command("show")
@friendly_errors
def show(
    account: Annotated[str, typer.Argument(help="Account id (acc_...) or external id.")],
    as_json: JsonOption = False,
) -> None:
    """An account's churn probability, band and the drivers pushing it up or down."""
    from rich.table import Table

    from boomerang.accounts import service as accounts_service
    from boomerang.churn import service

    with runtime.read() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        risk = service.account_risk(session=session, account_id=acc.id)
        name = acc.name
    if risk is None:
        raise fail(f"{name} has no churn prediction yet: run `boomerang churn score`")
    if as_json:
        print(json.dumps(service.risk_dict(risk), indent=2))
        return
    console.print(
        f"{name}: {risk.probability:.1%} within {risk.horizon_days} days ({risk.band} risk; "
        f"average {risk.base_rate:.1%}), model v{risk.model_version}, {risk.as_of}",
        highlight=False,
    )
    table = Table("driver", "value", "pushes", "log-odds")
    for d in risk.drivers:
        table.add_row(
            d["label"],
            str(d["value"]),
            "up" if d["contribution"] > 0 else "down",
            f"{d['contribution']:+.2f}",
        )
    console.print(table)


@app.command("evaluate")
@friendly_errors
def evaluate(
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON-lines: one row per customer.")],
    target: Annotated[
        str, typer.Option("--target", help="The churn column (yes/no, 1/0, true/false).")
    ],
    id_column: Annotated[
        str | None, typer.Option("--id", help="An id column to leave out of the features.")
    ] = None,
    test_size: Annotated[float, typer.Option("--test-size", help="Share of rows held out.")] = 0.3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the stratified split.")] = 0,
    model: Annotated[
        str, typer.Option("--model", help="logistic (explainable) or gbm.")
    ] = "logistic",
    positive: Annotated[
        str | None,
        typer.Option(
            "--positive", help="The target value that means churned, when it is not obvious."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Train on a stratified random split of a plain table and score the held-out rows."""
    from boomerang.churn import tabular

    if model not in ("logistic", "gbm"):
        raise fail(f"--model must be logistic or gbm, got {model!r}")
    result = tabular.evaluate(
        tabular.read_table(file),
        target=target,
        id_column=id_column,
        test_size=test_size,
        seed=seed,
        kind=model,  # type: ignore[arg-type]
        positive=positive,
    )
    out = result.as_dict()
    if as_json:
        print(json.dumps(out, indent=2))
        return
    console.print(
        f"{model}: ROC-AUC {_num(out['roc_auc'])}, PR-AUC {_num(out['pr_auc'])}, Brier "
        f"{_num(out['brier'])} on {out['n_test']:,} held-out rows (trained on {out['n_train']:,}; "
        f"{out['positive_rate']:.1%} positive)",
        highlight=False,
    )
    for column, why in out["dropped"].items():
        console.print(f"  left out {column}: {why}", highlight=False)
    if out["top_drivers"]:
        console.print(
            "  strongest drivers: " + ", ".join(d["feature"] for d in out["top_drivers"][:5]),
            highlight=False,
        )
