"""The demo admin's password is printed once, by the ``demo`` that made it; afterwards only
where it is kept (a file only its owner can read) is shown."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tests.support import run_cli


def test_demo_if_empty_on_a_loaded_company_points_to_the_login_file(
    tmp_path: Path, demo_company: Callable[..., Path]
) -> None:
    data_dir = demo_company("--accounts", "40", "--months", "6", into=tmp_path)
    login = data_dir / "demo-login.txt"
    assert login.stat().st_mode & 0o077 == 0
    password = login.read_text().split("password:")[1].strip()
    assert len(password) >= 12

    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env.update(BOOMERANG_DATA_DIR=str(data_dir))
    again = run_cli(["demo", "--if-empty"], env=env)
    assert again.returncode == 0, again.stderr
    assert "already hold data: keeping it" in again.stdout
    assert f"demo login: see {login}\n" in again.stdout
    assert password not in again.stdout and "password" not in again.stdout
