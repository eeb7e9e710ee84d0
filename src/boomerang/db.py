"""Operational store: engine, sessions, declarative base, column types and migrations."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Engine,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from boomerang.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware, on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Boomerang stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """An exact amount (18 digits, 2 decimals); its currency lives in a sibling column."""

    impl = Numeric(18, 2, asdecimal=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value).quantize(Decimal("0.01"))


Currency = String(3)
JSONType = JSON().with_variant(JSON(none_as_null=True), "postgresql")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A random public id such as ``acc_3f9c...``: typed by its prefix, never a bare number."""
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def str_enum(enum_cls: type[StrEnum], name: str) -> SAEnum:
    """A portable enum column: VARCHAR plus a named CHECK constraint on every database."""
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that
    # SAVEPOINTs and the caller-owned transaction work as documented.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Write sessions (see session_factory) begin IMMEDIATE: they take the write lock at once,
    # waiting up to the busy timeout for another writer. A deferred transaction that read
    # before another process committed cannot upgrade to write and fails at once with
    # "database is locked" (seen when the daily health job and a webhook wrote together).
    # Read sessions (read_session_factory) begin deferred under WAL, so they never wait for a
    # writer, with ``query_only`` on, so that a write in one fails at once and loudly.
    # Plain connections (health checks, migrations) stay deferred.
    options = connection.get_execution_options()
    read_only = bool(options.get(READ_ONLY_OPTION, False))
    connection.exec_driver_sql(f"PRAGMA query_only={'ON' if read_only else 'OFF'}")
    immediate = options.get(IMMEDIATE_OPTION, False) and not read_only
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _postgresql_begin(connection: Any) -> None:
    # A read session's transaction is READ ONLY: PostgreSQL refuses any write in it.
    if connection.get_execution_options().get(READ_ONLY_OPTION, False):
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


IMMEDIATE_OPTION = "boomerang_begin_immediate"
READ_ONLY_OPTION = "boomerang_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "begin", _postgresql_begin)
    return engine


def engine_from_settings(settings: Settings) -> Engine:
    """The operational store engine for these settings."""
    return make_engine(settings.sqlalchemy_url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Write sessions, that never expire loaded objects on commit (safe to render after
    commit); on SQLite their transactions begin IMMEDIATE (see ``_sqlite_begin``)."""
    bind = engine.execution_options(**{IMMEDIATE_OPTION: True})
    return sessionmaker(bind=bind, expire_on_commit=False)


class WriteInReadSession(RuntimeError):
    """A read session was asked to write: the work should have been declared a write."""


class ReadSession(Session):
    """A session for reads (GET routes, ``list``/``show`` commands, reports, page
    composition): it never takes the write lock, and writing in it fails at once."""

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        changed = pending_writes(self)
        if changed:
            raise WriteInReadSession(
                f"a read session tried to write ({', '.join(changed)}): declare the work a write"
            )
        super().flush(objects)


def pending_writes(session: Session) -> list[str]:
    """The classes of the objects ``session`` would write on its next flush (none: [])."""
    if not (session.new or session.deleted or any(session.is_modified(o) for o in session.dirty)):
        return []
    return sorted({type(o).__name__ for o in [*session.new, *session.dirty, *session.deleted]})


def read_session_factory(engine: Engine) -> sessionmaker[ReadSession]:
    """Read sessions: deferred (never wait for a writer on SQLite's WAL), and read-only at the
    database too (SQLite ``query_only``, PostgreSQL ``READ ONLY``), so a Core write fails too."""
    bind = engine.execution_options(**{READ_ONLY_OPTION: True})
    return sessionmaker(bind=bind, class_=ReadSession, expire_on_commit=False)


LOCK_MESSAGES = ("database is locked", "database table is locked", "database is busy")
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization, deadlock, lock not available


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` means another writer held the store (SQLite's lock, PostgreSQL's
    serialization failure, deadlock or lock timeout): nothing was written, try again."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    text_ = str(orig).lower() if orig is not None else ""
    return any(message in text_ for message in LOCK_MESSAGES)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session inside one transaction: committed on success, rolled back on error."""
    with factory() as session, session.begin():
        yield session


def current_revision(engine: Engine) -> str | None:
    """The migration revision the database is at, or None before ``init`` (read from
    Alembic's ``alembic_version`` table without importing Alembic)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        found = list(versions)
    if len(found) > 1:
        raise RuntimeError(f"the database has several migration heads: {', '.join(found)}")
    return found[0] if found else None


def count_rows(connection: Connection, tables: Sequence[str]) -> dict[str, int]:
    """How many rows each of ``tables`` holds, by name (SQLAlchemy Core, no mapped class:
    ``boomerang status`` counts without importing the models)."""
    preparer = connection.dialect.identifier_preparer
    return {
        name: int(
            connection.execute(text(f"SELECT count(*) FROM {preparer.quote(name)}")).scalar_one()
        )
        for name in tables
    }


def bulk_insert(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert many rows of plain values (text, numbers, None) in the current transaction:
    COPY on PostgreSQL, one prepared ``executemany`` on SQLite. Several times faster than
    Core ``insert()`` for hundreds of thousands of rows; no type processing is applied."""
    if not rows:
        return
    names = ", ".join(table.c[c].name for c in columns)  # KeyError: not a column
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        assert driver is not None
        with (
            driver.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', list(rows))
