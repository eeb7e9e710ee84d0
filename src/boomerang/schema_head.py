"""The schema revision this version of Boomerang works with (no import: ``status`` reads it)."""

SCHEMA_HEAD = "0023"
"""The newest migration shipped with this version (a test checks it is Alembic's head).
Every command compares the database with it: reading Alembic's scripts instead would cost
each command start the import of Alembic and of every migration."""
