"""UI: playbooks (list, pause switch), a playbook's page (editor, dry run and replay,
treated against control, recent runs)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.errors import Invalid
from boomerang.playbooks import definition, engine
from boomerang.playbooks.api import require_leader
from boomerang.segments.facts import known_fields
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser, WriteSessionDep
from boomerang.web.params import check_day
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/playbooks")
def playbooks_page(request: Request, session: WriteSessionDep, user: UIUser) -> Response:
    # A write on GET, declared: a playbook file edited since is stored as a new version.
    engine.sync_files(session=session, directory=request.app.state.settings.playbooks_dir)
    items = engine.in_force(session=session)
    return render(
        request,
        "playbooks/index.html",
        {
            "items": items,
            "paused_all": engine.paused(session=session),
            "paused": {i.name: engine.paused(session=session, name=i.name) for i in items},
            "runs": {
                i.name: len(engine.runs_for(session=session, name=i.name, limit=100000))
                for i in items
            },
        },
    )


@router.post("/playbooks/pause", dependencies=[CSRFChecked])
def toggle_pause(
    session: SessionDep,
    user: UIUser,
    paused: Annotated[str, Form(max_length=5)],
    name: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    require_leader(user)
    engine.set_paused(session=session, name=name or engine.ALL, paused=paused == "1", by=user.email)
    return RedirectResponse(f"/playbooks/{name}" if name else "/playbooks", status_code=303)


def _detail(
    request: Request,
    session: Any,
    name: str,
    *,
    fired: list[engine.Firing] | None = None,
    replay_since: date | None = None,
    source: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    item = engine.get(session=session, name=name)
    return render(
        request,
        "playbooks/detail.html",
        {
            "item": item,
            "source": source if source is not None else item.loaded.source,
            "arms": engine.effectiveness(session=session, name=name),
            "runs": engine.runs_for(session=session, name=name, limit=50),
            "fired": fired,
            "replay_since": replay_since,
            "error": error,
            "paused": engine.paused(session=session, name=name),
        },
        status_code=status_code,
    )


@router.get("/playbooks/{name}")
def playbook_page(name: str, request: Request, session: SessionDep, user: UIUser) -> Response:
    return _detail(request, session, name)


@router.post("/playbooks/{name}/dry-run", dependencies=[CSRFChecked])
def playbook_dry_run(
    name: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    since: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    source = request.app.state.event_source
    if since:
        try:
            day = check_day(date.fromisoformat(since), "since")
        except ValueError:
            return _detail(
                request, session, name, error=f"since: {since!r} is not a date", status_code=422
            )
        except Invalid as exc:
            return _detail(request, session, name, error=exc.message, status_code=422)
        fired = engine.replay(
            session=session, source=source, name=name, since=day, until=datetime.now(UTC).date()
        )
        return _detail(request, session, name, fired=fired, replay_since=day)
    fired = engine.evaluate(session=session, source=source, names=[name], dry_run=True).fired
    return _detail(request, session, name, fired=fired)


@router.post("/playbooks/{name}", dependencies=[CSRFChecked])
def playbook_save(
    name: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    source: Annotated[str, Form(max_length=200_000)],
) -> Response:
    require_leader(user)
    try:
        loaded = definition.parse(source, origin="editor")
        if loaded.playbook.name != name:
            raise Invalid(f"name: the text says {loaded.playbook.name!r}; this is {name!r}")
        engine.check_fields(loaded, known_fields(session=session))
        engine.save_version(session=session, loaded=loaded, author=user)
    except Invalid as exc:
        return _detail(request, session, name, source=source, error=exc.message, status_code=422)
    return RedirectResponse(f"/playbooks/{name}", status_code=303)
