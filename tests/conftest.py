"""Shared fixtures: real databases (SQLite file, and PostgreSQL when configured), one
transaction per test, the event store in a temporary folder, an app wired to both."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from boomerang.app import create_app
from boomerang.config import Settings, get_settings
from boomerang.db import make_engine, migrate
from boomerang.events.store import EventStore
from boomerang.web.deps import get_session

POSTGRES_URL = os.environ.get("BOOMERANG_TEST_POSTGRES_URL")


def _postgres_schema_url(base: str, schema: str) -> str:
    """The base URL with ``search_path`` pointing at a schema of our own."""
    url = make_url(base)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@pytest.fixture(scope="session")
def postgres_base_url() -> str:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests: set BOOMERANG_TEST_POSTGRES_URL to run them")
    return POSTGRES_URL


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database for the whole run: a SQLite file, or a fresh PostgreSQL
    schema that is dropped at the end."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "boomerang.sqlite3"
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url
        return
    base = request.getfixturevalue("postgres_base_url")
    schema = f"boomerang_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _postgres_schema_url(base, schema)
    try:
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test; code under test
    may commit (it only releases a SAVEPOINT)."""
    with engine.connect() as connection:
        outer = connection.begin()
        sess = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield sess
        finally:
            sess.close()
            outer.rollback()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "var"
    path.mkdir()
    return path


@pytest.fixture
def event_store(data_dir: Path) -> EventStore:
    return EventStore(data_dir / "events")


@pytest.fixture
def settings(data_dir: Path, database_url: str) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url, secret_key="t" * 8 + "x" * 40)


@pytest.fixture
def app(settings: Settings, engine: Engine, session: Session):  # type: ignore[no-untyped-def]
    """The real app, whose requests share the test's transaction."""
    application = create_app(settings, engine=engine, background=False)

    def _test_session() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    application.dependency_overrides[get_session] = _test_session
    # The tracking API looks write keys up outside request dependencies: same transaction.
    application.state.ingest.keys.opener = contextmanager(_test_session)
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads the developer's environment or ./var by accident."""
    for key in list(os.environ):
        if key.startswith("BOOMERANG_") and key != "BOOMERANG_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("BOOMERANG_DATA_DIR", str(tmp_path / "env-var"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
