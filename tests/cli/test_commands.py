"""The CLI as a user runs it, real stores under a temporary data dir: in this process (see
``tests.support.run_cli``), and as a real process where that is what is tested."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from boomerang import __version__
from tests.support import run_cli


def run(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env=env, input=stdin if stdin is not None else "")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    return {**clean, "BOOMERANG_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}


def test_version(env: dict[str, str]) -> None:
    r = run(env, "--version")
    assert r.returncode == 0 and r.stdout.strip() == f"boomerang {__version__}"


def test_a_real_process_initialises_and_reports(env: dict[str, str]) -> None:
    """The installed entry point, as a shell starts it: version, init, status, a mistake."""

    def process(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "boomerang", *args],
            env=env,
            input="",
            capture_output=True,
            text=True,
            timeout=120,
        )

    version = process("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"boomerang {__version__}"
    assert process("init").returncode == 0
    status = process("status")
    assert status.returncode == 0, status.stderr
    assert "accounts" in status.stdout and "Parquet" in status.stdout
    wrong = process("users", "create", "--email", "not-an-email")
    assert wrong.returncode == 1 and wrong.stderr.startswith("error: ")
    assert "Traceback" not in wrong.stderr


def test_commands_before_init_say_what_to_do(env: dict[str, str]) -> None:
    r = run(env, "status")
    assert r.returncode == 1
    assert (
        r.stderr.strip()
        == "error: the database is not initialised or not up to date: run `boomerang init`"
    )
    assert "Traceback" not in r.stderr


def test_init_is_idempotent_and_status_reports_stores(env: dict[str, str], tmp_path: Path) -> None:
    for _ in range(2):
        r = run(env, "init")
        assert r.returncode == 0, r.stderr
    assert (tmp_path / "var" / "boomerang.sqlite3").exists()
    assert (tmp_path / "var" / "secret_key").exists()
    r = run(env, "status")
    assert r.returncode == 0, r.stderr
    assert "accounts" in r.stdout and "sqlite:///" in r.stdout and "Parquet" in r.stdout


def test_users_and_tokens(env: dict[str, str]) -> None:
    assert run(env, "init").returncode == 0
    r = run(
        env,
        "users",
        "create",
        "--email",
        "Ana@Example.com",
        "--role",
        "manager",
        stdin="s3cret-password\n",
    )
    assert r.returncode == 0, r.stderr
    assert "ana@example.com" in r.stdout and "password:" not in r.stdout
    r = run(env, "users", "create", "--email", "bo@example.com")
    assert r.returncode == 0 and "password:" in r.stdout
    generated = r.stdout.split("password:")[1].strip()
    assert len(generated) >= 12

    dup = run(env, "users", "create", "--email", "ana@example.com")
    assert dup.returncode == 1 and "already exists" in dup.stderr and "Traceback" not in dup.stderr
    bad = run(env, "users", "create", "--email", "x@example.com", "--role", "overlord")
    assert bad.returncode == 1 and "role 'overlord'" in bad.stderr
    short = run(env, "users", "create", "--email", "y@example.com", stdin="short\n")
    assert short.returncode == 1 and "password" in short.stderr

    r = run(env, "tokens", "create", "--user", "ana@example.com", "--name", "ci")
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip().splitlines()[-1]
    assert secret.startswith("bmr_")
    listing = run(env, "tokens", "list", "--user", "ana@example.com")
    assert "ci" in listing.stdout and secret not in listing.stdout
    token_id = listing.stdout.split("tok_")[1].split()[0]
    assert run(env, "tokens", "revoke", f"tok_{token_id}").returncode == 0
    missing = run(env, "tokens", "create", "--user", "nobody@example.com", "--name", "x")
    assert missing.returncode == 1 and "no user with email" in missing.stderr


def test_bad_configuration_is_one_clear_line(env: dict[str, str]) -> None:
    r = run({**env, "BOOMERANG_ENV": "production"}, "status")
    assert r.returncode == 1
    assert "BOOMERANG_SECRET_KEY is required" in r.stderr and "Traceback" not in r.stderr
    r = run(
        {**env, "BOOMERANG_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}, "init"
    )
    assert r.returncode == 1 and r.stderr.startswith("error: cannot use the database")


@pytest.fixture
def postgres_env(env: dict[str, str], postgres_base_url: str) -> Iterator[dict[str, str]]:
    from tests.conftest import _postgres_schema_url

    schema = f"boomerang_cli_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield {**env, "BOOMERANG_DATABASE_URL": _postgres_schema_url(postgres_base_url, schema)}
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
def test_init_and_users_on_postgres(postgres_env: dict[str, str]) -> None:
    assert run(postgres_env, "init").returncode == 0
    assert run(postgres_env, "init").returncode == 0
    r = run(postgres_env, "users", "create", "--email", "pg@example.com", "--role", "admin")
    assert r.returncode == 0, r.stderr
    status = run(postgres_env, "status")
    assert status.returncode == 0 and "postgresql+psycopg://" in status.stdout
