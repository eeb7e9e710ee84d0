"""Set-based work stays set-based: the same number of SQL statements for 50 and 500 accounts.

Each world is a demo company (accounts, contacts, contracts, tickets, usage events) made by the
generator in its own SQLite file; the counts are of statements sent to the operational store
(``before_cursor_execute``; an ``executemany`` is one). A per-account loop shows as a count
that grows with the world.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from boomerang.accounts.models import Account
from boomerang.analytics.source import EventSource
from boomerang.app import create_app
from boomerang.config import Settings
from boomerang.db import engine_from_settings, session_factory
from boomerang.demo.generator import generate
from boomerang.events.store import EventStore
from boomerang.health import scorecard, vectors
from boomerang.health import service as health_service
from boomerang.playbooks import engine as playbooks
from boomerang.schema import migrate
from boomerang.segments import service as segments_service
from boomerang.users.models import Role, User

END = date(2026, 11, 15)
NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
PASSWORD = "demo-password-1"
SIZES = (50, 500)


@dataclass
class World:
    accounts: int
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    source: EventSource


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements ``engine`` runs inside the block."""
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, World]]:
    made: dict[int, World] = {}
    for size in SIZES:
        root: Path = tmp_path_factory.mktemp(f"world{size}")
        settings = Settings(data_dir=root / "var", health_schedule=False)
        settings.data_dir.mkdir(parents=True)
        engine = engine_from_settings(settings)
        migrate(engine)
        store = EventStore(settings.events_dir)
        sessions = session_factory(engine)
        with sessions() as session, session.begin():
            generate(
                session=session, store=store, end=END, password=PASSWORD,
                accounts=size, months=4, seed=7,
            )  # fmt: skip
        source = EventSource.from_settings(settings, store)
        made[size] = World(size, settings, engine, sessions, source)
    yield made
    for world in made.values():
        world.engine.dispose()


def _health(world: World) -> int:
    with world.sessions() as session, session.begin(), counted(world.engine) as seen:
        health_service.compute(
            session=session,
            source=world.source,
            loaded=scorecard.default(),
            as_of=END,
            vector_rules=vectors.load(session=session),
        )
    return len(seen)


def test_health_compute(worlds: dict[int, World]) -> None:
    counts = {size: _health(world) for size, world in worlds.items()}
    assert counts[50] == counts[500], counts


def _segments(world: World) -> tuple[int, int]:
    with world.sessions() as session, session.begin():
        names = {s.name for s in segments_service.list_segments(session=session)}
        for name, condition in (
            ("At risk", "colour = 'red' or health < 50"),
            ("Enterprise", "tier = 'enterprise'"),
        ):
            if name not in names:
                segments_service.create(session=session, name=name, condition=condition)
    with world.sessions() as session, session.begin(), counted(world.engine) as seen:
        results = segments_service.evaluate(session=session, now=NOW)
    assert not [r.error for r in results if r.error], results
    return len(seen), sum(r.members for r in results)


def test_segment_evaluation(worlds: dict[int, World]) -> None:
    for world in worlds.values():
        _health(world)  # the conditions read the day's health
    counts = {size: _segments(world) for size, world in worlds.items()}
    assert counts[500][1] > counts[50][1] > 0, counts  # more members, same statements
    assert counts[50][0] == counts[500][0], counts


def _playbooks(world: World) -> tuple[int, int]:
    with world.sessions() as session, session.begin():
        playbooks.sync_files(session=session, directory=world.settings.playbooks_dir)
    with world.sessions() as session, session.begin(), counted(world.engine) as seen:
        result = playbooks.evaluate(
            session=session, source=world.source, now=NOW, settings=world.settings
        )
    assert not result.errors, result.errors
    return len(seen), sum(result.counts().values())


def test_playbook_evaluation(worlds: dict[int, World]) -> None:
    for world in worlds.values():
        _health(world)
    counts = {size: _playbooks(world) for size, world in worlds.items()}
    assert counts[500][1] > counts[50][1] > 0, counts  # more firings, same statements
    assert counts[50][0] == counts[500][0], counts


def _account_page(world: World) -> int:
    with world.sessions() as session:
        admin = session.scalars(select(User).where(User.role == Role.admin)).first()
        assert admin is not None
        email = admin.email
        account_id = session.scalars(select(Account.id).order_by(Account.arr.desc())).first()
    app = create_app(world.settings, engine=world.engine, background=False)
    with TestClient(app) as client:
        page = client.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        r = client.post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf_token": token, "next": "/"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        client.get(f"/accounts/{account_id}")  # warm: the first request loads settings
        with counted(world.engine) as seen:
            r = client.get(f"/accounts/{account_id}")
        assert r.status_code == 200, r.text
    return len(seen)


def test_account_page(worlds: dict[int, World]) -> None:
    for world in worlds.values():
        _health(world)
    counts = {size: _account_page(world) for size, world in worlds.items()}
    assert counts[50] == counts[500], counts
