"""A queue on the test database that commits for real (workers need their own
connections), emptied before and after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from boomerang.db import make_engine, session_factory
from boomerang.jobs.models import Job


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    factory = session_factory(engine)
    with factory.begin() as session:
        session.execute(delete(Job))
    try:
        yield factory
    finally:
        with factory.begin() as session:
            session.execute(delete(Job))
        engine.dispose()
