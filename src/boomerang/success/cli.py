"""``boomerang plans``: success plans (create, fill, track, share) and plan templates."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime
from boomerang.errors import Invalid
from boomerang.success.kinds import KpiSource, PlanStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from boomerang.success import service
    from boomerang.users.models import User

app = domain_app(
    help="Success plans: desired outcomes, objectives, milestones and KPIs per account."
)
templates_app = domain_app(
    help="Plan templates per segment or journey stage.", no_args_is_help=False
)
app.add_typer(templates_app, name="templates")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ByOption = Annotated[str | None, typer.Option("--by", help="Email of the staff user acting.")]


def _user(session: Session, email: str | None, option: str = "--by") -> User | None:
    from boomerang.users import service as users_service

    if not email:
        return None
    user = users_service.get_by_email(session=session, email=email)
    if user is None:
        raise Invalid(f"{option}: no staff user {email!r}")
    return user


def _summary_json(summary: service.PlanSummary) -> dict[str, Any]:
    data = asdict(summary)
    data.update(
        milestones_met=summary.milestones_met,
        milestones_total=summary.milestones_total,
        kpis_on_track=summary.kpis_on_track,
        kpis_total=summary.kpis_total,
        progress=summary.progress,
    )
    return data


@app.command("list")
@friendly_errors
def list_plans(
    account: Annotated[str | None, typer.Option("--account", help="Only this account.")] = None,
    status: Annotated[PlanStatus | None, typer.Option("--status")] = None,
    as_json: JsonOption = False,
) -> None:
    """Success plans, newest first."""
    from rich.table import Table

    from boomerang.accounts import service as accounts_service
    from boomerang.success import service

    with runtime.read() as session:
        account_id = (
            accounts_service.get_by_ref(session=session, ref=account).id if account else None
        )
        rows = [
            {
                "id": p.id,
                "account": p.account.name,
                "title": p.title,
                "status": p.status.value,
                "template": p.template_key,
                "created_at": p.created_at.isoformat(),
            }
            for p in service.list_plans(session=session, account_id=account_id, status=status)
        ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "account", "title", "status", "template", "created")
    for r in rows:
        table.add_row(
            r["id"],
            r["account"],
            r["title"],
            r["status"],
            r["template"] or "-",
            str(r["created_at"])[:10],
        )
    console.print(table)


@app.command("show")
@friendly_errors
def show(
    account: Annotated[str, typer.Argument(help="Account id or external id.")],
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], help="Default: today.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The account's plan and its progress."""
    from boomerang.accounts import service as accounts_service
    from boomerang.success import service

    with runtime.read() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        summary = service.plan_summary(
            session=session, account_id=acc.id, as_of=as_of.date() if as_of else None
        )
        if summary is None:
            raise Invalid(f"{acc.name} has no success plan: `boomerang plans create {account}`")
    if as_json:
        print(json.dumps(_summary_json(summary), indent=2, default=str))
        return
    progress = f"{summary.progress:.0f}%" if summary.progress is not None else "-"
    console.print(
        f"{summary.title} ({summary.plan_id}, {summary.status.value}) as of {summary.as_of}: "
        f"progress {progress}, {summary.milestones_met}/{summary.milestones_total} milestones "
        f"met, {summary.kpis_on_track}/{summary.kpis_total} KPIs on track",
        highlight=False,
    )
    for o in summary.outcomes:
        console.print(f"  outcome: {o}", highlight=False)
    for obj in summary.objectives:
        console.print(
            f"  objective {obj.id}: {obj.title} [{obj.status.value}] "
            f"owners {obj.owner or '-'} / {obj.customer_owner or '-'}",
            highlight=False,
        )
    for m in summary.milestones:
        console.print(
            f"  milestone {m.id}: {m.title} target {m.target_on} {m.status}"
            + (f" on {m.achieved_on}" if m.achieved_on else ""),
            highlight=False,
        )
    for k in summary.kpis:
        current = f"{k.current:g}" if k.current is not None else "-"
        state = "met" if k.met else ("on track" if k.on_track else "off track")
        console.print(
            f"  kpi {k.id}: {k.name} {k.baseline:g} -> {k.target:g} {k.unit}, now {current} "
            f"({state})",
            highlight=False,
        )


@app.command("create")
@friendly_errors
def create(
    account: Annotated[str, typer.Argument(help="Account id or external id.")],
    title: Annotated[str, typer.Option("--title")] = "Success plan",
    template: Annotated[
        str | None,
        typer.Option("--template", help="Template key, or 'auto' (by segment or stage)."),
    ] = None,
    by: ByOption = None,
) -> None:
    """Start a plan for an account (blank, or from a template)."""
    from boomerang.accounts import service as accounts_service
    from boomerang.success import service

    with runtime.transaction() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        tpl = None
        if template == "auto":
            tpl = service.template_for(session=session, account=acc)
        elif template:
            tpl = service.get_template(session=session, key=template)
        plan = service.create_plan(
            session=session, account=acc, title=title, by=_user(session, by), template=tpl
        )
        console.print(
            f"created {plan.id} for {acc.name}"
            + (f" from template {tpl.key}" if tpl else " (blank)"),
            highlight=False,
        )


@app.command("outcome")
@friendly_errors
def outcome(
    plan_id: Annotated[str, typer.Argument(help="The plan's id.")],
    text: Annotated[str, typer.Argument(help="The desired outcome, in the customer's words.")],
) -> None:
    """Add a desired outcome."""
    from boomerang.success import service

    with runtime.transaction() as session:
        plan = service.get_plan(session=session, plan_id=plan_id)
        added = service.add_outcome(session=session, plan=plan, text=text)
        console.print(f"added outcome {added.id}", highlight=False)


@app.command("objective")
@friendly_errors
def objective(
    plan_id: Annotated[str, typer.Argument(help="The plan's id.")],
    title: Annotated[str, typer.Argument()],
    owner: Annotated[str | None, typer.Option("--owner", help="Staff owner's email.")] = None,
    due: Annotated[datetime | None, typer.Option("--due", formats=["%Y-%m-%d"])] = None,
) -> None:
    """Add an objective."""
    from boomerang.success import service

    with runtime.transaction() as session:
        plan = service.get_plan(session=session, plan_id=plan_id)
        added = service.add_objective(
            session=session,
            plan=plan,
            title=title,
            owner=_user(session, owner, "--owner"),
            due_on=due.date() if due else None,
        )
        console.print(f"added objective {added.id}", highlight=False)


@app.command("milestone")
@friendly_errors
def milestone(
    plan_id: Annotated[str, typer.Argument(help="The plan's id.")],
    title: Annotated[str, typer.Argument()],
    target: Annotated[datetime, typer.Option("--target", formats=["%Y-%m-%d"])],
) -> None:
    """Add a milestone with its target date."""
    from pydantic import ValidationError

    from boomerang.success import service
    from boomerang.success.schemas import MilestoneIn

    with runtime.transaction() as session:
        plan = service.get_plan(session=session, plan_id=plan_id)
        try:
            data = MilestoneIn(title=title, target_on=target.date())
        except ValidationError as exc:
            raise Invalid(f"milestone: {exc.errors()[0]['msg']}") from None
        added = service.add_milestone(session=session, plan=plan, data=data)
        console.print(f"added milestone {added.id}", highlight=False)


@app.command("achieve")
@friendly_errors
def achieve(
    milestone_id: Annotated[str, typer.Argument(help="The milestone's id.")],
    on: Annotated[
        datetime | None, typer.Option("--on", formats=["%Y-%m-%d"], help="Default: today.")
    ] = None,
    by: ByOption = None,
) -> None:
    """Mark a milestone met."""
    from boomerang.success import service

    with runtime.transaction() as session:
        m = service.get_milestone(session=session, milestone_id=milestone_id)
        service.achieve_milestone(
            session=session, milestone=m, on=on.date() if on else None, by=_user(session, by)
        )
        console.print(f"{m.title}: met on {m.achieved_on}", highlight=False)


@app.command("kpi")
@friendly_errors
def kpi(
    plan_id: Annotated[str, typer.Argument(help="The plan's id.")],
    name: Annotated[str, typer.Argument()],
    baseline: Annotated[float, typer.Option("--baseline")],
    target: Annotated[float, typer.Option("--target")],
    unit: Annotated[str, typer.Option("--unit")] = "",
    by_date: Annotated[
        datetime | None, typer.Option("--by-date", formats=["%Y-%m-%d"], help="Target date.")
    ] = None,
    source: Annotated[
        KpiSource, typer.Option("--source", help="manual, measure or value_metric.")
    ] = KpiSource.manual,
    key: Annotated[
        str | None, typer.Option("--key", help="The measure or value metric key.")
    ] = None,
    window_days: Annotated[int, typer.Option("--window-days", min=1, max=366)] = 30,
) -> None:
    """Add a KPI (entered by hand, or bound to a health measure or a value metric)."""
    from pydantic import ValidationError

    from boomerang.success import service
    from boomerang.success.schemas import KpiIn

    with runtime.transaction() as session:
        plan = service.get_plan(session=session, plan_id=plan_id)
        try:
            data = KpiIn(
                name=name,
                unit=unit,
                baseline=baseline,
                target=target,
                target_on=by_date.date() if by_date else None,
                source=source,
                source_key=key,
                window_days=window_days,
            )
        except ValidationError as exc:
            raise Invalid(f"kpi: {exc.errors()[0]['msg']}") from None
        added = service.add_kpi(session=session, plan=plan, data=data)
        console.print(f"added KPI {added.id}", highlight=False)


@app.command("record")
@friendly_errors
def record(
    kpi_id: Annotated[str, typer.Argument(help="The KPI's id.")],
    value: Annotated[float, typer.Argument()],
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], help="Default: today.")
    ] = None,
    by: ByOption = None,
) -> None:
    """Record a KPI's value on a day."""
    from boomerang.success import service

    with runtime.transaction() as session:
        k = service.get_kpi(session=session, kpi_id=kpi_id)
        row = service.record_kpi_value(
            session=session,
            kpi=k,
            value=value,
            as_of=as_of.date() if as_of else None,
            by=_user(session, by),
        )
        console.print(f"{k.name} = {row.value:g} on {row.as_of}", highlight=False)


@app.command("refresh")
@friendly_errors
def refresh(
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"], help="Default: today.")
    ] = None,
) -> None:
    """Record today's value of every KPI bound to a measure or a value metric."""
    from boomerang.success import service

    day = as_of.date() if as_of else datetime.now(UTC).date()
    with runtime.transaction() as session:
        n = service.refresh_kpis(session=session, source=runtime.event_source, as_of=day)
    console.print(f"{n} KPI values recorded for {day}", highlight=False)


@app.command("share")
@friendly_errors
def share(plan_id: Annotated[str, typer.Argument(help="The plan's id.")]) -> None:
    """Print a signed, expiring link to the plan's read-only customer view."""
    from boomerang.success import service

    with runtime.read() as session:
        plan = service.get_plan(session=session, plan_id=plan_id)
        url = service.share_url(runtime.settings, plan)
    print(url)


@templates_app.command("load")
@friendly_errors
def load_templates(
    path: Annotated[Path, typer.Argument(help="YAML file with 'templates: [...]'.")],
) -> None:
    """Create or replace plan templates from a YAML file (all or nothing)."""
    from boomerang.success import service

    try:
        text = path.read_text()
    except OSError as exc:
        raise Invalid(f"{path}: cannot read ({exc.strerror})") from None
    parsed = service.parse_templates(text, origin=str(path))
    with runtime.transaction() as session:
        created, updated = service.save_templates(session=session, templates=parsed)
    console.print(f"{created} templates created, {updated} updated", highlight=False)


@templates_app.command("list")
@friendly_errors
def list_templates(as_json: JsonOption = False) -> None:
    """Plan templates and whom they are for."""
    from rich.table import Table

    from boomerang.success import service

    with runtime.read() as session:
        rows = [
            {
                "key": t.key,
                "name": t.name,
                "segment_id": t.segment_id,
                "stage": t.stage.value if t.stage else None,
                "milestones": len(t.definition.get("milestones", [])),
                "kpis": len(t.definition.get("kpis", [])),
            }
            for t in service.list_templates(session=session)
        ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("key", "name", "for", "milestones", "kpis")
    for r in rows:
        who = f"segment {r['segment_id']}" if r["segment_id"] else f"stage {r['stage'] or '-'}"
        table.add_row(str(r["key"]), str(r["name"]), who, str(r["milestones"]), str(r["kpis"]))
    console.print(table)
