"""`boomerang import` as a user runs it, on the public RavenStack data set with the shipped mappings."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support import run_cli

ROOT = Path(__file__).parents[2]
MAPPINGS = ROOT / "examples" / "mappings"
RAVENSTACK = ROOT.parent / "shared" / "data" / "ravenstack_saas"


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env=env)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env = {**clean, "BOOMERANG_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    assert run(env, "init").returncode == 0
    return env


@pytest.mark.skipif(not RAVENSTACK.exists(), reason=f"reference data absent: {RAVENSTACK}")
def test_ravenstack_with_the_shipped_mappings(env: dict[str, str]) -> None:
    files = {
        "accounts": "ravenstack_accounts.csv",
        "subscriptions": "ravenstack_subscriptions.csv",
        "tickets": "ravenstack_support_tickets.csv",
    }
    expected = {"accounts": 500, "subscriptions": 5000, "tickets": 2000}
    for kind, name in files.items():
        mapping = MAPPINGS / f"ravenstack_{kind}.yaml"
        r = run(env, "import", kind, str(RAVENSTACK / name), "--mapping", str(mapping), "--json")
        assert r.returncode == 0, r.stderr
        report = json.loads(r.stdout)
        assert report["status"] == "succeeded"
        assert report["inserted"] == expected[kind] == report["rows"]
    usage = RAVENSTACK / "ravenstack_feature_usage.csv"
    mapping = MAPPINGS / "ravenstack_feature_usage.yaml"
    r = run(env, "import", "events", str(usage), "--mapping", str(mapping), "--json")
    assert r.returncode == 0, r.stderr
    rows = sum(1 for _ in usage.open()) - 1
    assert json.loads(r.stdout)["inserted"] == rows
    # Every usage row found its account through its subscription.
    r = run(env, "status")
    assert r.returncode == 0 and f"{rows:,}" in r.stdout
    # Importing the accounts again changes nothing.
    r = run(
        env,
        "import",
        "accounts",
        str(RAVENSTACK / files["accounts"]),
        "--mapping",
        str(MAPPINGS / "ravenstack_accounts.yaml"),
    )
    assert r.returncode == 0
    assert "0 inserted, 0 updated, 500 unchanged" in " ".join(r.stdout.split())


def test_a_rejected_file_prints_the_bad_rows_and_exits_1(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("external_id,name,stage\nA-1,Acme,adoption\nA-2,Beta,sideways\n")
    r = run(env, "import", "accounts", str(path))
    assert r.returncode == 1
    out = " ".join(r.stderr.split())
    assert "rejected" in out and "nothing was changed" in out
    assert "3 │ stage │ stage: 'sideways' is not one of onboarding" in out
    r = run(env, "import", "accounts", str(path), "--json")
    assert r.returncode == 1
    report = json.loads(r.stdout)
    assert report["status"] == "rejected" and report["error_count"] == 1
    assert report["errors"][0]["line"] == 3
    r = run(env, "status")
    assert "│ accounts         │ 0 " in r.stdout


def test_file_level_errors_are_one_line(env: dict[str, str], tmp_path: Path) -> None:
    r = run(env, "import", "accounts", str(tmp_path / "missing.csv"))
    assert r.returncode == 1
    assert r.stderr.strip() == f"error: {tmp_path / 'missing.csv'}: no such file"
    r = run(env, "import", "events", "--fields")
    assert r.returncode == 0 and "timestamp" in r.stdout and "properties.NAME" in r.stdout
