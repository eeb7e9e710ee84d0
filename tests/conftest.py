"""Shared fixtures: real databases (SQLite file, and PostgreSQL when configured), one
transaction per test, the event store in a temporary folder, an app wired to both."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from boomerang.app import create_app
from boomerang.config import Settings, get_settings
from boomerang.db import WriteInReadSession, make_engine, pending_writes
from boomerang.events.store import EventStore
from boomerang.schema import migrate
from boomerang.web.deps import READ_METHODS, get_session, get_write_session
from tests.support import SHARED_DATA, SKIP_PREFIX_SHARED

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_url() -> tuple[str | None, str]:
    """The PostgreSQL to test against, and one line saying which and why.

    ``BOOMERANG_TEST_POSTGRES_URL`` wins (``off`` turns the PostgreSQL tests off); otherwise,
    when a server answers on 127.0.0.1:5432 (as on CI machines), its ``test`` database."""
    configured = os.environ.get("BOOMERANG_TEST_POSTGRES_URL", "").strip()
    if configured.lower() == "off":
        return None, "PostgreSQL tests: off (BOOMERANG_TEST_POSTGRES_URL=off)"
    if configured:
        return configured, "PostgreSQL tests: on, BOOMERANG_TEST_POSTGRES_URL from the environment"
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError as exc:
        return None, (
            f"PostgreSQL tests: SKIPPED, nothing answers on 127.0.0.1:5432 ({exc.strerror or exc}); "
            "set BOOMERANG_TEST_POSTGRES_URL to use another server"
        )
    return DEFAULT_POSTGRES_URL, f"PostgreSQL tests: on, {DEFAULT_POSTGRES_URL} answers"


POSTGRES_URL, POSTGRES_LINE = _postgres_url()


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [POSTGRES_LINE]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """One line for each family of skips (PostgreSQL absent, shared data absent), instead of
    one line per test."""
    families = {"PostgreSQL": 0, "shared data": 0, "other": 0}
    reasons: dict[str, str] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""
        reason = reason.removeprefix("Skipped: ")
        if reason.startswith("PostgreSQL tests"):
            families["PostgreSQL"] += 1
        elif reason.startswith(SKIP_PREFIX_SHARED):
            families["shared data"] += 1
            reasons["shared data"] = str(SHARED_DATA)
        else:
            families["other"] += 1
            reasons.setdefault("other", reason)
    write = terminalreporter.write_line
    if families["PostgreSQL"]:
        write(f"{families['PostgreSQL']} PostgreSQL tests skipped: {POSTGRES_LINE}")
    if families["shared data"]:
        write(
            f"{families['shared data']} tests skipped: the reference data folder "
            f"{SHARED_DATA} is absent"
        )
    if families["other"]:
        write(f"{families['other']} other tests skipped, e.g. {reasons['other']}")


def _postgres_schema_url(base: str, schema: str) -> str:
    """The base URL with ``search_path`` pointing at a schema of our own."""
    url = make_url(base)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@pytest.fixture(scope="session")
def postgres_base_url() -> str:
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_LINE)
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

    def _shared() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    def _test_session(request: Request) -> Iterator[Session]:
        if request.method not in READ_METHODS:
            yield from _shared()
            return
        with session.begin_nested(), read_only(session):  # as a real read session would
            yield session

    def _declared_write() -> Iterator[Session]:
        # A route that declares a write (WriteSessionDep) writes even on GET: in production it
        # gets a session of its own; here it shares the test's, so the read guard steps aside.
        with suspended_read_only(session):
            yield from _shared()

    application.dependency_overrides[get_session] = _test_session
    application.dependency_overrides[get_write_session] = _declared_write
    # The tracking API looks write keys up outside request dependencies, and API tokens' last
    # use is written after the response (app.state.transaction): the same transaction too. In
    # a transaction of its own, that note would wait for the test's open one (SQLite's lock).
    application.state.ingest.keys.opener = contextmanager(_shared)
    application.state.transaction = contextmanager(_shared)
    return application


@contextmanager
def read_only(session: Session) -> Iterator[None]:
    """While a GET request runs in the test's shared session: a flush with changes raises
    WriteInReadSession, and on SQLite the connection refuses any write (``query_only``)."""

    def refuse(sess: Session, *_: object) -> None:
        if sess.info.get("declared_writes"):
            return
        if pending_writes(sess):
            raise WriteInReadSession("a GET request tried to write: declare the route a write")

    # Not when the route declared a write (its dependency may be resolved first).
    sqlite = session.get_bind().dialect.name == "sqlite" and not session.info.get("declared_writes")
    event.listen(session, "before_flush", refuse)
    if sqlite:
        session.connection().exec_driver_sql("PRAGMA query_only=ON")
    try:
        yield
    finally:
        event.remove(session, "before_flush", refuse)
        if sqlite:
            session.connection().exec_driver_sql("PRAGMA query_only=OFF")


@contextmanager
def suspended_read_only(session: Session) -> Iterator[None]:
    """Lift :func:`read_only` for a route's declared write."""
    session.info["declared_writes"] = session.info.get("declared_writes", 0) + 1
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA query_only=OFF")
    try:
        yield
    finally:
        session.info["declared_writes"] -= 1


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


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> str:
    """``BOOMERANG_OUTBOUND_ALLOW=127.0.0.1`` for tests whose HTTP receivers listen on
    loopback (which the outbound policy refuses otherwise): in the environment, which saving
    a URL reads, and in ``settings``, which jobs sending it read."""
    monkeypatch.setenv("BOOMERANG_OUTBOUND_ALLOW", "127.0.0.1")
    get_settings.cache_clear()
    monkeypatch.setattr(settings, "outbound_allow", "127.0.0.1")
    return "127.0.0.1"


@pytest.fixture(scope="session")
def demo_company(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``demo_company(*args)`` builds ``boomerang demo *args`` once per run (shared by every
    pytest worker, behind a file lock) and returns a data dir of the test's own holding a copy
    of it (SQLite file, event store, secret key), so each test may change it freely."""
    cache = tmp_path_factory.getbasetemp().parent / "demo-companies"
    cache.mkdir(exist_ok=True)

    def build(*args: str, into: Path) -> Path:
        key = "_".join(arg.lstrip("-") for arg in args) or "default"
        built = cache / key
        with (cache / f"{key}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (built / "done").exists():
                shutil.rmtree(built, ignore_errors=True)
                env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
                env["BOOMERANG_DATA_DIR"] = str(built / "var")
                made = subprocess.run(
                    [sys.executable, "-m", "boomerang", "demo", *args],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=900,
                )
                assert made.returncode == 0, made.stderr
                (built / "stdout").write_text(made.stdout)
                (built / "done").touch()
        target = into / "var"
        shutil.copytree(built / "var", target)
        return target

    return build
