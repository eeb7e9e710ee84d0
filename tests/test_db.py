from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError
from sqlalchemy.orm import Session

import boomerang.models  # noqa: F401
from boomerang.db import (
    Base,
    current_revision,
    make_engine,
    session_factory,
    transaction,
)
from boomerang.schema import migrate, migrations_head
from boomerang.schema_head import SCHEMA_HEAD
from boomerang.timeline.models import EntryKind, TimelineEntry
from tests.factories import add_line, make_account


def test_migrations_produce_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migrate_is_idempotent(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == migrations_head(engine)


def test_the_schema_head_every_command_expects_is_alembics(engine: Engine) -> None:
    """A new migration moves ``SCHEMA_HEAD`` too (commands compare the database with it)."""
    assert migrations_head(engine) == SCHEMA_HEAD


def test_times_come_back_aware_utc(session: Session) -> None:
    account = make_account(session)
    paris = timezone(timedelta(hours=1))
    entry = TimelineEntry(
        account_id=account.id,
        kind=EntryKind.note,
        body="x",
        occurred_at=datetime(2026, 3, 1, 10, 0, tzinfo=paris),
    )
    session.add(entry)
    session.flush()
    session.expire_all()
    loaded = session.scalars(select(TimelineEntry).where(TimelineEntry.id == entry.id)).one()
    assert loaded.occurred_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert loaded.occurred_at.tzinfo is not None


def test_naive_times_are_refused(session: Session) -> None:
    account = make_account(session)
    session.add(
        TimelineEntry(
            account_id=account.id, kind=EntryKind.note, body="x", occurred_at=datetime(2026, 3, 1)
        )
    )
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


def test_money_is_exact_decimal(session: Session) -> None:
    from datetime import date

    account = make_account(session)
    line = add_line(session, account, "1234567.89", date(2026, 1, 1))
    session.expire_all()
    assert session.get(type(line), line.id).arr == Decimal("1234567.89")  # type: ignore[union-attr]


def test_database_enforces_constraints(session: Session) -> None:
    account = make_account(session)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(TimelineEntry(account_id="acc_missing", kind=EntryKind.note, body="x"))
        session.flush()
    assert account.id


def test_sqlite_sessions_take_the_write_lock_when_they_begin(tmp_path: Path) -> None:
    """A session that read before another writer committed must still be able to write:
    its transaction begins IMMEDIATE. Plain connections stay deferred, so reads never wait."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    migrate(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as first:
        first.execute(select(TimelineEntry.id)).all()  # a read: the lock is held already
        with engine.connect() as reader:  # deferred: reads while the session holds the lock
            assert reader.execute(text("SELECT count(*) FROM accounts")).scalar() == 0
        with engine.connect() as other:
            other.exec_driver_sql("PRAGMA busy_timeout = 100")
            with pytest.raises(OperationalError, match="database is locked"):
                other.execute(
                    text(
                        "INSERT INTO users (id, email, name, role, active, created_at) "
                        "VALUES ('u', 'u@x', 'U', 'admin', 1, '2026-01-01')"
                    )
                )
                other.commit()
        make_account(first, external_id="a", name="A")  # and the session can write
    engine.dispose()
