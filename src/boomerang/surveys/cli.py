"""``boomerang surveys``: programs, send, run, respond, record, responses, nps, themes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime
from boomerang.errors import Invalid
from boomerang.surveys.kinds import ProgramTrigger, SurveyKind

if TYPE_CHECKING:
    from boomerang.surveys.models import SurveyProgram

app = domain_app(help="Surveys: NPS, CSAT and CES programs, answers, roll-ups and comment themes.")
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _program_row(p: SurveyProgram) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "kind": p.kind.value,
        "trigger": p.trigger.value,
        "every_days": p.every_days,
        "delay_days": p.delay_days,
        "throttle_days": p.throttle_days,
        "reminder_days": p.reminder_days,
        "expires_days": p.expires_days,
        "roles": p.roles,
        "segment_id": p.segment_id,
        "active": p.active,
    }


@app.command("create")
@friendly_errors
def create(
    name: Annotated[str, typer.Argument(help="The program's name.")],
    kind: Annotated[SurveyKind, typer.Option("--kind", help="nps, csat or ces.")],
    trigger: Annotated[
        ProgramTrigger, typer.Option("--trigger", help="When contacts are surveyed.")
    ] = ProgramTrigger.manual,
    every_days: Annotated[
        int | None, typer.Option("--every-days", min=1, help="Days between scheduled waves.")
    ] = None,
    delay_days: Annotated[
        int, typer.Option("--delay-days", min=0, help="Days after onboarding / a solved ticket.")
    ] = 0,
    throttle_days: Annotated[
        int, typer.Option("--throttle-days", min=0, help="Do not survey a contact again within.")
    ] = 90,
    reminder_days: Annotated[
        int | None, typer.Option("--reminder-days", min=1, help="Remind after (none: never).")
    ] = 3,
    expires_days: Annotated[
        int, typer.Option("--expires-days", min=1, help="Days the link stays valid.")
    ] = 30,
    role: Annotated[
        list[str] | None, typer.Option("--role", help="Contact role to survey (repeatable).")
    ] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="Segment name or id.")] = None,
    question: Annotated[str | None, typer.Option("--question", help="The question.")] = None,
) -> None:
    """Create a survey program."""
    from boomerang.surveys import service

    with runtime.transaction() as session:
        program = service.create_program(
            session=session,
            name=name,
            kind=kind,
            question=question,
            roles=role or [],
            segment=segment,
            trigger=trigger,
            every_days=every_days,
            delay_days=delay_days,
            throttle_days=throttle_days,
            reminder_days=reminder_days,
            expires_days=expires_days,
        )
        console.print(f"created program {program.name} ({program.id})", highlight=False)


@app.command("programs")
@friendly_errors
def programs(as_json: JsonOption = False) -> None:
    """List the survey programs."""
    from rich.table import Table

    from boomerang.surveys import service

    with runtime.read() as session:
        rows: list[dict[str, Any]] = [
            _program_row(p) for p in service.list_programs(session=session)
        ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("name", "kind", "trigger", "roles", "throttle", "active")
    for r in rows:
        table.add_row(
            r["name"],
            r["kind"],
            r["trigger"],
            ", ".join(r["roles"]) or "all",
            f"{r['throttle_days']} d",
            "yes" if r["active"] else "no",
        )
    console.print(table)


@app.command("send")
@friendly_errors
def send(
    program: Annotated[str, typer.Argument(help="Program name or id.")],
    account: Annotated[
        str | None, typer.Option("--account", help="Only this account (id or external id).")
    ] = None,
    wave: Annotated[str | None, typer.Option("--wave", help="Name of this send.")] = None,
) -> None:
    """Invite now (the program's rules and throttle apply)."""
    from boomerang.accounts import service as accounts_service
    from boomerang.surveys import service

    with runtime.transaction() as session:
        found = service.get_program(session=session, ref=program)
        acc = accounts_service.get_by_ref(session=session, ref=account) if account else None
        result = service.send(
            session=session, settings=runtime.settings, program=found, account=acc, wave=wave
        )
        for r in result.refused:
            console.print(f"refused {r.contact_id}: {r.refusal}", highlight=False)
        console.print(f"{found.name}: {result.summary()}", highlight=False)


@app.command("run")
@friendly_errors
def run() -> None:
    """Send every due invitation and reminder now (what the hourly ``surveys.send`` job
    does)."""
    from boomerang.surveys import service

    with runtime.transaction() as session:
        result = service.run_due(session=session, settings=runtime.settings)
        console.print(result.summary(), highlight=False)


@app.command("record")
@friendly_errors
def record(
    account: Annotated[str, typer.Argument(help="Account id or external id.")],
    kind: Annotated[SurveyKind, typer.Option("--kind", help="nps, csat or ces.")],
    score: Annotated[int, typer.Option("--score", help="The answer on the survey's scale.")],
    contact: Annotated[str | None, typer.Option("--contact", help="Contact id.")] = None,
    comment: Annotated[str | None, typer.Option("--comment", help="What they said.")] = None,
) -> None:
    """Record an answer given outside an invitation (a call, another tool)."""
    from boomerang.accounts import service as accounts_service
    from boomerang.accounts.models import Contact
    from boomerang.surveys import service

    with runtime.transaction() as session:
        acc = accounts_service.get_by_ref(session=session, ref=account)
        person = session.get(Contact, contact) if contact else None
        if contact and person is None:
            raise Invalid(f"--contact: no contact {contact!r}")
        response = service.record(
            session=session, account=acc, kind=kind, score=score, contact=person, comment=comment
        )
        console.print(f"recorded {response.id}", highlight=False)


@app.command("respond")
@friendly_errors
def respond(
    token: Annotated[str, typer.Argument(help="The token of a survey link (after /s/).")],
    score: Annotated[int, typer.Option("--score", help="The answer.")],
    comment: Annotated[str | None, typer.Option("--comment", help="Optional comment.")] = None,
) -> None:
    """Answer an invitation by its token (as the public page does)."""
    from boomerang.surveys import service

    with runtime.transaction() as session:
        recipient = service.recipient_for_token(
            session=session, settings=runtime.settings, token=token
        )
        response = service.respond(
            session=session, recipient=recipient, score=score, comment=comment
        )
        console.print(f"answered {response.id}: {response.score}", highlight=False)


@app.command("nps")
@friendly_errors
def nps(
    by: Annotated[
        str, typer.Option("--by", help="segment, tier, owner, month or program.")
    ] = "segment",
    kind: Annotated[SurveyKind, typer.Option("--kind", help="nps, csat or ces.")] = SurveyKind.nps,
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="Window in days.")] = 365,
    as_json: JsonOption = False,
) -> None:
    """NPS (average, response rate) grouped by segment, tier, CSM, month or program."""
    from rich.table import Table

    from boomerang.db import utcnow
    from boomerang.surveys import service

    now = utcnow()
    with runtime.read() as session:
        rows = service.rollup(
            session=session, by=by, kind=kind, since=now - timedelta(days=days), until=now
        )
    data: list[dict[str, Any]] = [
        {
            "group": r.group,
            "responses": r.responses,
            "promoters": r.promoters,
            "passives": r.passives,
            "detractors": r.detractors,
            "nps": r.nps,
            "average": r.average,
            "invited": r.invited,
            "answered": r.answered,
            "response_rate": r.response_rate,
        }
        for r in rows
    ]
    if as_json:
        print(json.dumps(data, indent=2))
        return
    table = Table(by, "NPS", "answers", "P/M/D", "average", "response rate")
    for d in data:
        table.add_row(
            d["group"],
            "-" if d["nps"] is None else f"{d['nps']:+.0f}",
            str(d["responses"]),
            f"{d['promoters']}/{d['passives']}/{d['detractors']}",
            "-" if d["average"] is None else str(d["average"]),
            "-" if d["response_rate"] is None else f"{d['response_rate']:.0f}%",
        )
    console.print(table)


@app.command("comments")
@friendly_errors
def comments(
    q: Annotated[str | None, typer.Option("--search", help="Text the comment contains.")] = None,
    theme: Annotated[str | None, typer.Option("--theme", help="Only this theme.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
) -> None:
    """Comments, with their themes and why."""
    from boomerang.surveys import themes

    with runtime.read() as session:
        for c in themes.search(session=session, text=q, theme=theme, limit=limit):
            tags = "; ".join(f"{t.theme} ({t.why})" for t in c.tags) or "-"
            r = c.response
            console.print(
                f"{r.responded_at:%Y-%m-%d} {r.survey.value} {r.score} [{tags}] {r.comment}",
                highlight=False,
                markup=False,
            )


@app.command("theme")
@friendly_errors
def theme(
    name: Annotated[str, typer.Argument(help="Theme name.")],
    keywords: Annotated[str, typer.Option("--keywords", help="Comma-separated keywords.")],
) -> None:
    """Create a theme or replace its keywords."""
    from boomerang.surveys import themes

    with runtime.transaction() as session:
        saved = themes.save(session=session, name=name, keywords=keywords.split(","))
        console.print(f"theme {saved.name}: {', '.join(saved.keywords)}", highlight=False)
