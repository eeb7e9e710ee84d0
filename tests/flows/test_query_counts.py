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

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Account, ContactRole
from boomerang.analytics.source import EventSource
from boomerang.app import create_app
from boomerang.billing import service as billing_service
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
from tests.factories import add_contact, add_line

END = date(2026, 11, 15)
NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
PASSWORD = "demo-password-1"
SIZES = (50, 500)
PROBE = "probe-account"  # the same account, with the same records, in every world

PLAYBOOK = """
name: query-count-probe
title: Every live account
description: Fires for every live account, so firings grow with the world.
trigger:
  condition: "stage != 'churned'"
control_group: 0
steps:
  - task:
      title: "Check in with {{ account.name }}"
      due_in_days: 3
  - email:
      to: [champion]
      subject: "How is it going, {{ contact.name }}?"
      text: "Hello {{ contact.name }}, how is {{ account.name }} getting on?"
"""


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
        playbooks_dir = root / "playbooks"
        playbooks_dir.mkdir()
        (playbooks_dir / "probe.yaml").write_text(PLAYBOOK)
        settings = Settings(
            data_dir=root / "var", health_schedule=False, playbooks_dir=playbooks_dir
        )
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
            _probe(session)
        source = EventSource.from_settings(settings, store)
        made[size] = World(size, settings, engine, sessions, source)
    yield made
    for world in made.values():
        world.engine.dispose()


def _probe(session: Session) -> None:
    """One account with contacts, two contract lines (so ARR moved) and an owner."""
    owner = session.scalars(select(User).where(User.role == Role.admin)).first()
    assert owner is not None
    account = accounts_service.create(
        session=session, external_id=PROBE, name="Probe Inc", owner_id=owner.id, tier="mid_market"
    )
    add_contact(session, account, "Pat Probe", ContactRole.champion)
    add_contact(session, account, "Sam Probe", ContactRole.user)
    add_line(session, account, 12_000, date(2026, 5, 1), renewal=date(2027, 5, 1))
    add_line(session, account, 6_000, date(2026, 9, 1), renewal=date(2027, 5, 1), product="Add-on")
    billing_service.refresh_rollups(session=session, today=END, account_ids=[account.id])


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
        account_id = session.scalars(select(Account.id).where(Account.external_id == PROBE)).one()
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
