"""Commands that only read open a read session: with another process holding the SQLite
write lock (the server, a job), they answer at once; a command that writes waits for the
lock up to the busy timeout, then says in one line that the store is busy (exit 75)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from boomerang.cli_support import BUSY_LINE, EXIT_BUSY
from tests.support import run_cli

READ_COMMANDS = (
    ("status",),
    ("health", "show", "a-000001"),
    ("health", "show", "a-000001", "--json"),
    ("renewals", "list"),
    ("renewals", "forecast"),
    ("jobs", "list"),
    ("segments", "list"),
    ("users", "list"),
    ("outbox", "status"),
    ("plans", "list"),
    ("reviews", "list"),
    ("escalations", "list"),
    ("metrics", "revenue"),
)


@contextmanager
def write_lock_held(database: Path) -> Iterator[None]:
    """Another writer in the middle of a transaction: the write lock taken, a change made and
    not committed (rolled back when the block ends)."""
    other = sqlite3.connect(database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE users SET name = name")
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_reads_do_not_wait_for_a_writer_and_writes_say_the_store_is_busy(
    tmp_path: Path, demo_company: Callable[..., Path]
) -> None:
    data_dir = demo_company("--accounts", "40", "--months", "6", into=tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env.update(BOOMERANG_DATA_DIR=str(data_dir), COLUMNS="200")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(args, env=env)

    with write_lock_held(data_dir / "boomerang.sqlite3"):
        for command in READ_COMMANDS:
            r = run(*command)
            assert r.returncode == 0, f"{' '.join(command)}: {r.stderr}"
            assert r.stdout.strip() and not r.stderr, " ".join(command)
        # No setting shortens the busy timeout (10 s, db.py): this one command waits it out.
        busy = run("users", "create", "--email", "late@example.com")
        assert busy.returncode == EXIT_BUSY
        assert busy.stderr == f"error: {BUSY_LINE}\n"
        assert "Traceback" not in busy.stderr

    assert "late@example.com" not in run("users", "list").stdout  # nothing was changed
    assert run("users", "create", "--email", "late@example.com").returncode == 0
