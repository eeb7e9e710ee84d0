"""The FastAPI application: stores, middleware, routes, error handlers."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from starlette.middleware.sessions import SessionMiddleware

from boomerang import __version__
from boomerang.analytics.source import EventSource
from boomerang.config import Environment, Settings, get_settings
from boomerang.db import engine_from_settings, read_session_factory, session_factory, utcnow
from boomerang.domains import routers
from boomerang.events.store import EventStore
from boomerang.ingest import api as ingest_api
from boomerang.ingest import backlog
from boomerang.jobs.registry import Context
from boomerang.jobs.worker import Background
from boomerang.uow import transaction_for
from boomerang.users.usage import SessionUse, TokenUse
from boomerang.web import access_log, api_docs, errors
from boomerang.web.headers import SecurityHeaders

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, background: bool = True
) -> FastAPI:
    """Build the app for ``settings``; pass ``engine`` to share one (tests do).

    ``background=False`` leaves out the background worker that moves tracked events to the
    event store (tests that share one transaction call it themselves).
    """
    settings = settings or get_settings()
    engine = engine or engine_from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ingest.start(background=background)
        if background and (settings.health_schedule or settings.worker_in_server):
            app.state.jobs.start()
        try:
            yield
        finally:
            app.state.jobs.stop()
            app.state.ingest.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Boomerang",
        version=__version__,
        description="Customer success platform: REST API. Authenticate with "
        "`Authorization: Bearer <token>` (create one with `boomerang tokens create`).",
        docs_url=None,  # served by boomerang.web.api_docs, from installed files
        redoc_url=None,
    )
    _stores(app, settings, engine)

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key(),
        session_cookie="boomerang_session",
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.env is Environment.production,
    )
    app.add_middleware(SecurityHeaders, docs_path=api_docs.DOCS_PATH)  # on every response
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    errors.install(app)

    _system_routes(app, engine)
    api_docs.install(app)
    for target in routers():  # every domain's, from boomerang.domains
        module, _, attribute = target.partition(":")
        app.include_router(getattr(importlib.import_module(module), attribute))
    access_log.install(app)  # the tokens of emailed links stay out of the access log
    return app


def app_from_environment() -> FastAPI:
    """The app for the settings in the environment: what each process of ``boomerang serve
    --workers N`` runs (uvicorn's factory)."""
    import sys

    sys.setswitchinterval(0.001)  # as ``serve`` does for one process
    return create_app()


def _stores(app: FastAPI, settings: Settings, engine: Engine) -> None:
    """The stores, the background jobs and the tracking API's inbox, on ``app.state``."""
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)  # writes
    app.state.read_sessions = read_session_factory(engine)  # GET requests
    app.state.transaction = transaction_for(app.state.sessions)
    app.state.token_use = TokenUse()
    app.state.session_use = SessionUse()  # browser sessions' last requests, coalesced
    app.state.clock = utcnow  # what sessions and login throttling take as now (tests set it)
    app.state.event_store = EventStore(settings.events_dir)
    app.state.event_source = EventSource.from_settings(settings, app.state.event_store)
    jobs_transaction = transaction_for(app.state.sessions)
    app.state.jobs = Background(  # the scheduler and a worker thread (see boomerang.jobs)
        transaction=jobs_transaction,
        context_factory=lambda: Context(
            transaction=jobs_transaction,
            settings=settings,
            source=app.state.event_source,
            now=utcnow(),
        ),
        settings=settings,
        workers=1 if settings.worker_in_server else 0,
        schedule=settings.health_schedule,
    )
    app.state.ingest = ingest_api.Ingest(
        settings=settings,
        transaction=transaction_for(app.state.sessions),
        read=transaction_for(app.state.read_sessions),
    )


def _system_routes(app: FastAPI, engine: Engine) -> None:
    @app.get("/healthz", tags=["system"])
    def healthz(strict: bool = False) -> JSONResponse:
        """Liveness, database reachability and the event mover; no authentication.

        200 with ``status`` "ok", or "degraded" while the event mover is dead or stuck (the
        tracking API still accepts events); with ``?strict=true`` a degraded server answers
        503 (see README, "Health checks").
        """
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        ingest: ingest_api.Ingest = app.state.ingest
        waiting = backlog.read_backlog(app.state.settings.inbox_path, pending=ingest.inbox.pending)
        mover = backlog.mover_report(ingest.mover.status(), waiting)
        status = "ok" if mover["healthy"] else "degraded"
        return JSONResponse(
            {"status": status, "version": __version__, "mover": mover},
            status_code=503 if strict and status != "ok" else 200,
        )

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/accounts", status_code=303)
