"""UI: the health portfolio page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.accounts import service as accounts_service
from boomerang.errors import Forbidden, Invalid
from boomerang.health import backtest, editor, overrides, scorecard, vectors
from boomerang.health import portfolio as portfolio_service
from boomerang.health import service as health_service
from boomerang.segments import service as segments_service
from boomerang.users import service as users_service
from boomerang.users.models import Role, User
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser, require_writer
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/health")
def portfolio_page(
    request: Request,
    session: SessionDep,
    user: UIUser,
    segment: Annotated[str | None, Query(max_length=40)] = None,
    owner: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Accounts by colour and vector, distribution, who turned red this week, lowest scores."""
    owner_id = user.id if owner == "me" else (owner or None)
    data = portfolio_service.portfolio(
        session=session, segment_id=segment or None, owner_id=owner_id
    )
    return render(
        request,
        "health/portfolio.html",
        {
            "p": data,
            "colours": portfolio_service.COLOURS,
            "vectors": portfolio_service.VECTORS,
            "segments": segments_service.list_segments(session=session),
            "owners": users_service.list_users(session=session, roles=[Role.csm, Role.manager]),
            "segment": segment or "",
            "owner": owner or "",
            "max_bin": max(data.histogram) or 1,
        },
    )


@router.post("/accounts/{ref}/health/overrides", dependencies=[CSRFChecked])
def add_override(
    ref: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    score: Annotated[float, Form(ge=0, le=100)],
    reason: Annotated[str, Form(min_length=1, max_length=2000)],
    days: Annotated[int, Form(ge=1, le=365)] = 30,
    measure: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Override the account's score (or a measure's) from the account page."""
    require_writer(user)
    account = accounts_service.get_by_ref(session=session, ref=ref)
    overrides.create_override(
        session=session,
        account=account,
        score=score,
        reason=reason,
        author=user,
        days=days,
        measure_key=measure or None,
    )
    health_service.recompute_account(
        session=session, source=request.app.state.event_source, account=account
    )
    return RedirectResponse(f"/accounts/{account.id}#health", status_code=303)


@router.post("/accounts/{ref}/health/overrides/{override_id}/revoke", dependencies=[CSRFChecked])
def revoke_override(
    ref: str, override_id: str, request: Request, session: SessionDep, user: UIUser
) -> Response:
    require_writer(user)
    account = accounts_service.get_by_ref(session=session, ref=ref)
    target = overrides.get_override(session=session, account=account, override_id=override_id)
    overrides.revoke_override(session=session, override=target, by=user)
    health_service.recompute_account(
        session=session, source=request.app.state.event_source, account=account
    )
    return RedirectResponse(f"/accounts/{account.id}#health", status_code=303)


SCORECARDS = "/health/scorecards"


def _require_leader(user: User) -> None:
    if user.role not in (Role.admin, Role.manager):
        raise Forbidden("only managers and admins change scorecards")


def _scorecards_page(
    request: Request,
    session: SessionDep,
    *,
    name: str | None = None,
    text: str | None = None,
    preview: editor.Preview | None = None,
    error: str | None = None,
    saved: str | None = None,
    status_code: int = 200,
) -> Response:
    cards = editor.cards_in_force(
        session=session, directory=request.app.state.settings.scorecards_dir
    )
    chosen = next((c for c in cards if c.scorecard.name == name), cards[0])
    return render(
        request,
        "health/scorecards.html",
        {
            "cards": cards,
            "chosen": chosen,
            "text": text if text is not None else chosen.source,
            "preview": preview,
            "error": error,
            "saved": saved,
            "colours": ("red", "yellow", "green", "none"),
        },
        status_code=status_code,
    )


@router.get(SCORECARDS)
def scorecards_page(
    request: Request,
    session: SessionDep,
    user: UIUser,
    name: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The scorecards in force, and an editor for one of them."""
    return _scorecards_page(request, session, name=name)


@router.post(f"{SCORECARDS}/preview", dependencies=[CSRFChecked])
def preview_scorecard(
    request: Request,
    session: SessionDep,
    user: UIUser,
    text: Annotated[str, Form(max_length=200_000)],
) -> Response:
    """Validate the edited text and show how many accounts would change colour."""
    try:
        loaded = scorecard.parse(text, origin="the edited scorecard")
        result = editor.preview(
            session=session,
            source=request.app.state.event_source,
            loaded=loaded,
            as_of=datetime.now(UTC),
        )
    except Invalid as exc:
        return _scorecards_page(request, session, text=text, error=exc.message, status_code=422)
    return _scorecards_page(request, session, name=loaded.scorecard.name, text=text, preview=result)


@router.post(SCORECARDS, dependencies=[CSRFChecked])
def save_scorecard(
    request: Request,
    session: SessionDep,
    user: UIUser,
    text: Annotated[str, Form(max_length=200_000)],
) -> Response:
    """Save the edited scorecard as a new version and recompute today's health with it."""
    _require_leader(user)
    try:
        version = editor.save(session=session, text=text, author=user)
        cards = editor.cards_in_force(
            session=session, directory=request.app.state.settings.scorecards_dir
        )
        health_service.compute_set(
            session=session,
            source=request.app.state.event_source,
            cards=cards,
            as_of=datetime.now(UTC).date(),
            vector_rules=vectors.load(session=session),
        )
    except Invalid as exc:
        return _scorecards_page(request, session, text=text, error=exc.message, status_code=422)
    return _scorecards_page(
        request,
        session,
        name=version.name,
        saved=f"Saved {version.name} v{version.version}; today's health was recomputed with it.",
    )


@router.get("/health/backtest")
def backtest_page(
    request: Request,
    session: SessionDep,
    user: UIUser,
    horizon: Annotated[int, Query(ge=1, le=730)] = 90,
    run: bool = False,
) -> Response:
    """How well the default scorecard foretold churn (runs on request: it takes seconds)."""
    report = None
    error = None
    if run:
        cards = editor.cards_in_force(
            session=session, directory=request.app.state.settings.scorecards_dir
        )
        fallback = editor.catch_all(cards)
        try:
            report = backtest.run(
                session=session,
                source=request.app.state.event_source,
                loaded=fallback,
                horizon_days=horizon,
            )
        except Invalid as exc:
            error = exc.message
    return render(
        request,
        "health/backtest.html",
        {"report": report, "error": error, "horizon": horizon},
    )
