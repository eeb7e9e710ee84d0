"""The FastAPI application: stores, middleware, routes, error handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from starlette.middleware.sessions import SessionMiddleware

from boomerang import __version__
from boomerang.accounts import api as accounts_api
from boomerang.accounts import views as accounts_views
from boomerang.advocacy import api as advocacy_api
from boomerang.advocacy import views as advocacy_views
from boomerang.analytics.source import EventSource
from boomerang.churn import api as churn_api
from boomerang.churn import views as churn_views
from boomerang.config import Environment, Settings, get_settings
from boomerang.datasources import views as datasources_views
from boomerang.db import engine_from_settings, session_factory, utcnow
from boomerang.escalations import api as escalations_api
from boomerang.escalations import views as escalations_views
from boomerang.events.store import EventStore
from boomerang.expansion import api as expansion_api
from boomerang.expansion import views as expansion_views
from boomerang.feedback import api as feedback_api
from boomerang.feedback import views as feedback_views
from boomerang.health import api as health_api
from boomerang.health import views as health_views
from boomerang.ingest import api as ingest_api
from boomerang.jobs import views as jobs_views
from boomerang.jobs.registry import Context
from boomerang.jobs.worker import Background
from boomerang.journey import api as journey_api
from boomerang.lab import api as lab_api
from boomerang.lab import views as lab_views
from boomerang.mail import unsubscribe as mail_unsubscribe
from boomerang.mail import views as mail_views
from boomerang.metrics import api as metrics_api
from boomerang.metrics import views as metrics_views
from boomerang.playbooks import api as playbooks_api
from boomerang.playbooks import views as playbooks_views
from boomerang.renewals import api as renewals_api
from boomerang.renewals import views as renewals_views
from boomerang.reviews import api as reviews_api
from boomerang.reviews import views as reviews_views
from boomerang.segments import api as segments_api
from boomerang.segments import views as segments_views
from boomerang.success import api as success_api
from boomerang.success import views as success_views
from boomerang.surveys import api as surveys_api
from boomerang.surveys import public as surveys_public
from boomerang.surveys import views as surveys_views
from boomerang.tasks import api as tasks_api
from boomerang.tasks import views as tasks_views
from boomerang.timeline import views as timeline_views
from boomerang.users import views as users_views
from boomerang.value import api as value_api
from boomerang.value import views as value_views
from boomerang.web import errors
from boomerang.webhooks import api as webhooks_api
from boomerang.webhooks import outbound_api as webhooks_outbound_api

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
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.event_store = EventStore(settings.events_dir)
    app.state.event_source = EventSource.from_settings(settings, app.state.event_store)
    jobs_transaction = ingest_api.transaction_for(app.state.sessions)
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
        settings=settings, transaction=ingest_api.transaction_for(app.state.sessions)
    )

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key(),
        session_cookie="boomerang_session",
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.env is Environment.production,
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    errors.install(app)

    @app.get("/healthz", tags=["system"])
    def healthz() -> dict[str, str]:
        """Liveness and database reachability; no authentication."""
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/accounts", status_code=303)

    app.include_router(users_views.router)
    app.include_router(accounts_views.router)
    app.include_router(timeline_views.router)
    app.include_router(accounts_api.router)
    app.include_router(health_api.router)
    app.include_router(health_api.backtest_router)
    app.include_router(journey_api.router)
    app.include_router(segments_api.router)
    app.include_router(tasks_api.router)
    app.include_router(playbooks_api.router)
    app.include_router(playbooks_views.router)
    app.include_router(tasks_views.router)
    app.include_router(escalations_api.router)
    app.include_router(escalations_views.router)
    app.include_router(reviews_api.router)
    app.include_router(reviews_views.router)
    app.include_router(renewals_api.router)
    app.include_router(renewals_views.router)
    app.include_router(expansion_api.router)
    app.include_router(expansion_views.router)
    app.include_router(advocacy_api.router)
    app.include_router(advocacy_views.router)
    app.include_router(ingest_api.router)
    app.include_router(webhooks_api.router)
    app.include_router(webhooks_outbound_api.router)
    app.include_router(datasources_views.router)
    app.include_router(jobs_views.router)
    app.include_router(health_views.router)
    app.include_router(metrics_api.router)
    app.include_router(metrics_views.router)
    app.include_router(churn_api.router)
    app.include_router(churn_views.router)
    app.include_router(lab_api.router)
    app.include_router(lab_views.router)
    app.include_router(mail_views.router)
    app.include_router(mail_unsubscribe.router)
    app.include_router(surveys_api.router)
    app.include_router(surveys_views.router)
    app.include_router(surveys_public.router)
    app.include_router(feedback_api.router)
    app.include_router(feedback_views.router)
    app.include_router(segments_views.router)
    app.include_router(success_api.router)
    app.include_router(success_views.router)
    app.include_router(value_api.router)
    app.include_router(value_views.router)
    return app
