"""``boomerang health``: compute and explain health scores."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime
from boomerang.errors import NotFound

if TYPE_CHECKING:
    from boomerang.health.backtest import Report
    from boomerang.health.explanations import Explanation
    from boomerang.health.service import SetResult
    from boomerang.health.weights import Suggestion

# The services, the models, the schemas and Rich are imported by the commands that use them,
# so that `boomerang health --help` starts without SQLAlchemy, pydantic or Rich.

app = domain_app(help="Health scores: compute, explain.")

ScorecardOption = Annotated[
    Path | None,
    typer.Option(
        "--scorecard", help="A scorecard YAML file (default: the one shipped with Boomerang)."
    ),
]


@app.command("compute")
@friendly_errors
def compute(
    as_of: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Score as of this day (default: today, UTC)."),
    ] = None,
    scorecard_file: ScorecardOption = None,
    vectors_file: Annotated[
        Path | None,
        typer.Option("--vectors", help="Success-vector rules YAML (default: the shipped ones)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Score every account and store the day's snapshots with their success vectors
    (recomputing a day replaces it): with the scorecards of BOOMERANG_SCORECARDS_DIR (or the
    shipped one), or with one --scorecard FILE for every account."""
    from boomerang.health import editor, scorecard, service, vectors

    runtime.require_schema()
    loaded = scorecard.load_file(scorecard_file) if scorecard_file else None
    day = as_of.date() if as_of else datetime.now(UTC).date()
    with runtime.transaction() as session:
        rules = vectors.load(session=session, path=vectors_file)
        if loaded is not None:
            result = service.compute_with(
                session=session,
                source=runtime.event_source,
                loaded=loaded,
                as_of=day,
                vector_rules=rules,
            )
        else:
            result = service.compute_set(
                session=session,
                source=runtime.event_source,
                cards=editor.cards_in_force(
                    session=session, directory=runtime.settings.scorecards_dir
                ),
                as_of=day,
                vector_rules=rules,
            )
    _print_computed(result, as_json=as_json)


def _print_computed(result: SetResult, *, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "as_of": result.as_of.isoformat(),
                    "accounts": result.accounts,
                    "scorecards": result.by_scorecard,
                    "colours": result.colours,
                    "vectors": result.vectors,
                }
            )
        )
        return
    colours = ", ".join(
        f"{result.colours.get(c, 0):,} {c}" for c in ("green", "yellow", "red", "none")
    )
    directions = ", ".join(
        f"{result.vectors.get(v, 0):,} {v}" for v in ("positive", "neutral", "negative")
    )
    cards = ", ".join(f"{name} {n:,}" for name, n in result.by_scorecard.items())
    console.print(
        f"scored {result.accounts:,} accounts as of {result.as_of} ({cards}): {colours}; "
        f"vectors: {directions}",
        highlight=False,
    )


@app.command("show")
@friendly_errors
def show(
    account: Annotated[str, typer.Argument(help="Account id (acc_...) or external id.")],
    as_of: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The snapshot on or before this day."),
    ] = None,
    scorecard_name: Annotated[str, typer.Option("--scorecard", help="Scorecard name.")] = (
        "default"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON.")] = False,
) -> None:
    """An account's score, measure by measure: raw value, score, weight, contribution."""
    from boomerang.accounts import service as accounts_service
    from boomerang.health.explanations import explain
    from boomerang.health.schemas import HealthOut

    runtime.require_schema()
    with runtime.read() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        explained = explain(
            session=session,
            account=acc,
            scorecard_name=scorecard_name,
            as_of=as_of.date() if as_of else None,
        )
        name = acc.name
    if explained is None:
        raise NotFound(
            f"{name} has no {scorecard_name} health score yet: run `boomerang health compute`"
        )
    if as_json:
        print(HealthOut.of(explained).model_dump_json())
        return
    _print_explanation(name, explained)


def _print_explanation(name: str, explained: Explanation) -> None:
    from rich.table import Table

    score = "-" if explained.score is None else f"{explained.score:.0f}"
    vector = (
        f", vector {explained.vector}"
        + (f" ({explained.vector_rule})" if explained.vector_rule else "")
        if explained.vector
        else ""
    )
    console.print(
        f"{name}: {score} ({explained.colour}){vector} as of {explained.as_of}, scorecard "
        f"{explained.scorecard} v{explained.version}",
        highlight=False,
    )
    if explained.override:
        o = explained.override
        console.print(
            f"overridden to {o.score or 0:g} until {o.expires_at:%Y-%m-%d}: {o.reason}",
            highlight=False,
        )
    table = Table("category", "measure", "raw", "score", "weight", "points", "change")
    for m in explained.measures:
        change = (
            f"{m.score - m.previous_score:+.0f}"
            if m.score is not None and m.previous_score is not None
            else ""
        )
        table.add_row(
            m.category,
            m.label + (" (override)" if m.override else ""),
            "-" if m.raw is None else f"{m.raw:,.2f}".rstrip("0").rstrip("."),
            "skipped" if m.score is None else f"{m.score:.0f}",
            f"{m.weight:.0%}",
            f"{m.contribution:.1f}",
            change,
        )
    console.print(table)
    if explained.drags:
        console.print(
            "biggest drags: " + ", ".join(f"{m.label} (-{m.drag:.0f})" for m in explained.drags),
            highlight=False,
        )
    trend = ", ".join(
        f"{d} d: {'n/a' if c is None else f'{c:+.0f}'}" for d, c in explained.trend.items()
    )
    console.print(f"change over {trend}", highlight=False)


@app.command("backtest")
@friendly_errors
def backtest_command(
    scorecard_file: ScorecardOption = None,
    horizon: Annotated[
        int, typer.Option(min=1, max=730, help="Days after each scored day to look for churn.")
    ] = 90,
    step: Annotated[int, typer.Option(min=1, max=365, help="Days between scored days.")] = 30,
    until: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Judge with what was known on this day (default: today); the last scored "
            "day is a horizon before it.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recompute the scorecard on past days and report how well it foretold churn."""
    from boomerang.health import backtest, scorecard

    runtime.require_schema()
    loaded = scorecard.load_file(scorecard_file) if scorecard_file else scorecard.default()
    with runtime.read() as session:
        report = backtest.run(
            session=session,
            source=runtime.event_source,
            loaded=loaded,
            horizon_days=horizon,
            step_days=step,
            today=until.date() if until else None,
        )
    if as_json:
        print(json.dumps(backtest.as_dict(report)))
        return
    _print_report(report)


def _print_report(report: Report) -> None:
    from rich.table import Table

    console.print(
        f"scorecard {report.scorecard}: {report.observations:,} account-days on "
        f"{len(report.days)} days from {report.days[0]} to {report.days[-1]}, "
        f"{report.churned:,} churned within {report.horizon_days} days",
        highlight=False,
    )
    auc = "n/a" if report.auc is None else f"{report.auc:.3f}"
    red = "n/a" if report.red_precision is None else f"{report.red_precision:.1%}"
    console.print(f"ROC-AUC {auc}; precision of red {red}", highlight=False)
    table = Table("colour", "account-days", "churned", "churn rate", "lift")
    for row in report.colours:
        lift = report.lift(row)
        table.add_row(
            row.colour,
            f"{row.accounts:,}",
            f"{row.churned:,}",
            "-" if row.rate is None else f"{row.rate:.1%}",
            "-" if lift is None else f"{lift:.2f}x",
        )
    console.print(table)
    calib = Table("score", "account-days", "churn rate")
    for band in report.calibration:
        rate = f"{band.churned / band.accounts:.1%}" if band.accounts else "-"
        calib.add_row(band.band, f"{band.accounts:,}", rate)
    console.print(calib)
    seg = Table("tier", "account-days", "churned", "ROC-AUC")
    for s in report.segments:
        seg.add_row(
            s.segment,
            f"{s.observations:,}",
            f"{s.churned:,}",
            "-" if s.auc is None else f"{s.auc:.3f}",
        )
    console.print(seg)
    if report.suggestion is None:
        console.print("no weight suggestion: too few churners or days to fit and test one")
    else:
        _print_suggestion(report.suggestion)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)


def _print_suggestion(sug: Suggestion) -> None:
    from rich.table import Table

    weights = Table("measure", "current weight", "fitted weight", "suggested weight")
    for key, current in sug.current.items():
        fitted = sug.fitted.get(key)
        weights.add_row(
            key,
            f"{current:.0%}",
            "-" if fitted is None else f"{fitted:.0%}",
            f"{sug.suggested[key]:.0%}",
        )
    console.print(weights)
    if sug.moved == 0:
        verdict = (
            "the fit did not beat the current weights on the validation days: "
            "the suggestion is to keep them"
        )
    else:
        verdict = f"moving {sug.moved:.0%} of the way toward the fit " + (
            "is better" if sug.better else "is not better here: keep the current weights"
        )
    console.print(
        f"fitted on {sug.train_days[0]}..{sug.train_days[-1]}, tested on "
        f"{sug.test_days[0]}..{sug.test_days[-1]}: ROC-AUC current "
        f"{sug.auc_current_test}, fitted {sug.auc_fitted_test}, suggested "
        f"{sug.auc_suggested_test}; {verdict}. Nothing is changed: edit the scorecard "
        "to adopt new weights.",
        highlight=False,
    )


@app.command("override")
@friendly_errors
def override_command(
    account: Annotated[str, typer.Argument(help="Account id (acc_...) or external id.")],
    score: Annotated[float, typer.Option(min=0, max=100, help="The score to use, 0-100.")],
    reason: Annotated[str, typer.Option(help="Why: shown with the score, kept on the timeline.")],
    by: Annotated[str, typer.Option("--by", help="Email of the staff user overriding.")],
    measure: Annotated[
        str | None, typer.Option(help="Override this measure's score instead of the total.")
    ] = None,
    days: Annotated[int, typer.Option(min=1, max=365, help="Days until it expires.")] = 30,
) -> None:
    """Override an account's health score (or one measure's) until it expires; the
    account's latest snapshot is recomputed at once."""
    from boomerang.accounts import service as accounts_service
    from boomerang.health import overrides, service
    from boomerang.users import service as users_service

    runtime.require_schema()
    with runtime.transaction() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        author = users_service.get_by_email(session=session, email=by)
        if author is None:
            raise NotFound(f"no staff user with email {by!r}")
        made = overrides.create_override(
            session=session,
            account=acc,
            score=score,
            reason=reason,
            author=author,
            days=days,
            measure_key=measure,
        )
        service.recompute_account(session=session, source=runtime.event_source, account=acc)
        expires = made.expires_at
        override_id = made.id
    console.print(
        f"override {override_id}: {'measure ' + measure if measure else 'score'} of "
        f"{acc.name} set to {score:g} until {expires:%Y-%m-%d}",
        highlight=False,
    )


@app.command("revoke-override")
@friendly_errors
def revoke_override_command(
    account: Annotated[str, typer.Argument(help="Account id (acc_...) or external id.")],
    override_id: Annotated[str, typer.Argument(help="The override's id (hov_...).")],
    by: Annotated[str, typer.Option("--by", help="Email of the staff user revoking.")],
) -> None:
    """End an override now; the account's latest snapshot is recomputed without it."""
    from boomerang.accounts import service as accounts_service
    from boomerang.health import overrides, service
    from boomerang.users import service as users_service

    runtime.require_schema()
    with runtime.transaction() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        user = users_service.get_by_email(session=session, email=by)
        if user is None:
            raise NotFound(f"no staff user with email {by!r}")
        target = overrides.get_override(session=session, account=acc, override_id=override_id)
        overrides.revoke_override(session=session, override=target, by=user)
        service.recompute_account(session=session, source=runtime.event_source, account=acc)
    console.print(f"override {override_id} revoked", highlight=False)
