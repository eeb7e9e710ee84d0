"""The schema's migrations: apply them, and read the newest one shipped.

Apart from :mod:`boomerang.db` so that the engine and sessions do not import every model (and
Alembic) to be used; :func:`migrate` registers every table through :mod:`boomerang.models`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Any:
    """An Alembic Config pointing at the packaged migrations and this engine."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Apply every pending migration (idempotent)."""
    from alembic import command

    import boomerang.models  # noqa: F401  (register every table on Base.metadata)

    command.upgrade(alembic_config(engine), "head")


def migrations_head(engine: Engine) -> str | None:
    """The newest migration shipped with this version of Boomerang, as Alembic reads it."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
