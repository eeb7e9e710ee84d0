"""REST: playbooks, their dry runs and replays, runs, the editor and the pause switch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from boomerang.errors import Forbidden, Invalid
from boomerang.playbooks import definition, engine
from boomerang.segments.facts import known_fields
from boomerang.users.models import Role, User
from boomerang.web.deps import APIUser, SessionDep, WriteSessionDep
from boomerang.web.params import Day

router = APIRouter(prefix="/api/v1/playbooks", tags=["playbooks"])


def require_leader(user: User) -> None:
    if user.role not in (Role.admin, Role.manager):
        raise Forbidden("only admins and managers change playbooks")


def firing(f: engine.Firing) -> dict[str, Any]:
    return {
        "playbook": f.playbook,
        "account_id": f.account_id,
        "account": f.account,
        "reason": f.reason_key,
        "why": f.why,
        "control": f.control,
        "actions": f.actions,
    }


def arm(a: engine.Arm) -> dict[str, Any]:
    return {
        "runs": a.runs,
        "health_change": a.health_change,
        "churned": a.churned,
        "churn_rate": a.churn_rate,
        "expanded": a.expanded,
        "expansion_rate": a.expansion_rate,
    }


@router.get("")
def list_playbooks(request: Request, session: WriteSessionDep, user: APIUser) -> dict[str, Any]:
    # A write on GET, declared: a playbook file edited since is stored as a new version.
    engine.sync_files(session=session, directory=request.app.state.settings.playbooks_dir)
    return {
        "paused": engine.paused(session=session),
        "data": [
            {
                "name": i.name,
                "title": i.loaded.playbook.title,
                "version": i.version,
                "trigger": i.loaded.playbook.trigger.kind,
                "enabled": i.loaded.playbook.enabled,
                "paused": engine.paused(session=session, name=i.name),
            }
            for i in engine.in_force(session=session)
        ],
    }


@router.get("/{name}")
def get_playbook(name: str, session: SessionDep, user: APIUser) -> dict[str, Any]:
    item = engine.get(session=session, name=name)
    arms = engine.effectiveness(session=session, name=name)
    return {
        "name": item.name,
        "version": item.version,
        "source": item.loaded.source,
        "effectiveness": {k: arm(v) for k, v in arms.items()},
        "runs": [
            {
                "id": r.id,
                "account_id": r.account_id,
                "reason": r.reason_key,
                "status": r.status.value,
                "control": r.control,
                "started_at": r.started_at.isoformat(),
                "log": r.log,
            }
            for r in engine.runs_for(session=session, name=name, limit=50)
        ],
    }


@router.put("/{name}")
def save_playbook(
    name: str,
    session: SessionDep,
    user: APIUser,
    source: Annotated[str, Body(media_type="text/yaml", max_length=200_000)],
) -> dict[str, Any]:
    """Save a new version (the YAML text as the body); refused with the line at fault."""
    require_leader(user)
    loaded = definition.parse(source, origin=f"editor ({user.email})")
    if loaded.playbook.name != name:
        raise Invalid(f"name: the text says {loaded.playbook.name!r}, the URL {name!r}")
    engine.check_fields(loaded, known_fields(session=session))
    row = engine.save_version(session=session, loaded=loaded, author=user)
    return {
        "name": name,
        "version": row.version if row else engine.get(session=session, name=name).version,
        "changed": row is not None,
    }


@router.post("/{name}/dry-run")
def dry_run(
    name: str,
    request: Request,
    session: SessionDep,
    user: APIUser,
    since: Annotated[Day | None, Query(description="Replay day by day from this day")] = None,
) -> dict[str, Any]:
    """Who would fire now (or day by day since ``since``) and what each would get."""
    source = request.app.state.event_source
    if since is not None:
        fired = engine.replay(
            session=session, source=source, name=name, since=since, until=datetime.now(UTC).date()
        )
    else:
        fired = engine.evaluate(session=session, source=source, names=[name], dry_run=True).fired
    return {"data": [firing(f) for f in fired]}


@router.post("/run")
def run(request: Request, session: SessionDep, user: APIUser) -> dict[str, Any]:
    """Evaluate every playbook now."""
    require_leader(user)
    engine.sync_files(session=session, directory=request.app.state.settings.playbooks_dir)
    result = engine.evaluate(
        session=session,
        source=request.app.state.event_source,
        settings=request.app.state.settings,
    )
    return {
        "paused": result.paused,
        "fired": [firing(f) for f in result.fired],
        "resumed": result.resumed,
        "errors": result.errors,
    }


@router.post("/pause")
def pause(session: SessionDep, user: APIUser, name: str | None = None) -> dict[str, Any]:
    require_leader(user)
    engine.set_paused(session=session, name=name or engine.ALL, paused=True, by=user.email)
    return {"paused": True, "name": name}


@router.post("/resume")
def resume(session: SessionDep, user: APIUser, name: str | None = None) -> dict[str, Any]:
    require_leader(user)
    engine.set_paused(session=session, name=name or engine.ALL, paused=False, by=user.email)
    return {"paused": False, "name": name}
