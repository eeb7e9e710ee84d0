"""Warehouse mode end to end: the app and the CLI read a DuckDB file in place."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.config import Settings
from boomerang.users.models import Role
from tests.factories import make_account, make_user
from tests.support import run_cli
from tests.web.test_ui import csrf, login, soup

COLUMNS = "account_id=org_id,timestamp=ts"


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A DuckDB file with three recent events of account wh-001 and one of wh-002."""
    path = tmp_path / "warehouse.duckdb"
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE tracks (org_id VARCHAR, user_id VARCHAR, event VARCHAR, ts TIMESTAMP)"
    )
    con.executemany(
        "INSERT INTO tracks VALUES (?, ?, ?, ?)",
        [
            ("wh-001", "ana", "Report Exported", now - timedelta(hours=2)),
            ("wh-001", "ana", "Report Exported", now - timedelta(days=3)),
            ("wh-001", "ben", "Dashboard Viewed", now - timedelta(days=3, hours=1)),
            ("wh-002", "cy", "Dashboard Viewed", now - timedelta(days=1)),
        ],
    )
    con.close()
    return path


@pytest.fixture
def settings(settings: Settings, warehouse: Path) -> Settings:
    return settings.model_copy(
        update={
            "events_source": f"duckdb://{warehouse}",
            "events_table": "tracks",
            "events_columns": COLUMNS,
        }
    )


def test_account_page_reads_usage_from_the_warehouse(client: TestClient, session: Session) -> None:
    account = make_account(session, external_id="wh-001", name="Warehouse Co")
    login(client, make_user(session, Role.csm))
    usage = soup(client.get(f"/accounts/{account.id}").text).select_one("#usage")
    facts = {
        dt.text: dd.text for dt, dd in zip(usage.select("dt"), usage.select("dd"), strict=True)
    }
    assert facts["Events"] == "3" and facts["Active users"] == "2" and facts["Active days"] == "2"
    assert "Report Exported (2), Dashboard Viewed (1)" in usage.text


def test_data_sources_page_describes_and_tests_the_warehouse(
    client: TestClient, session: Session, warehouse: Path
) -> None:
    login(client, make_user(session, Role.admin))
    page = soup(client.get("/admin/data-sources").text)
    assert page.select_one("#source-description").text == (
        f"warehouse table tracks at duckdb://{warehouse} (account_id = org_id, timestamp = ts)"
    )
    checked = soup(
        client.post(
            "/admin/data-sources/test-connection",
            data={"csrf_token": csrf(client, "/admin/data-sources")},
        ).text
    )
    assert checked.select_one("#check").text.startswith("OK: 4 events of 2 accounts readable")


def test_an_unreadable_warehouse_is_reported_not_fatal(
    client: TestClient, session: Session, warehouse: Path
) -> None:
    account = make_account(session, external_id="wh-001", name="Warehouse Co")
    warehouse.unlink()
    login(client, make_user(session, Role.admin))
    page = client.get(f"/accounts/{account.id}")
    assert page.status_code == 200
    assert soup(page.text).select_one("#usage-error").text == (
        f"Usage cannot be shown: DuckDB file {warehouse} does not exist"
    )
    checked = soup(
        client.post(
            "/admin/data-sources/test-connection",
            data={"csrf_token": csrf(client, "/admin/data-sources")},
        ).text
    )
    assert checked.select_one("#check").text.startswith(
        f"Failed: DuckDB file {warehouse} does not exist"
    )


def test_cli_status_counts_the_warehouse(tmp_path: Path, warehouse: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env.update(
        BOOMERANG_DATA_DIR=str(tmp_path / "var"),
        BOOMERANG_EVENTS_SOURCE=f"duckdb://{warehouse}",
        BOOMERANG_EVENTS_TABLE="tracks",
        BOOMERANG_EVENTS_COLUMNS=COLUMNS,
        COLUMNS="250",
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(args, env=env)

    assert run("init").returncode == 0
    status = run("status")
    assert status.returncode == 0, status.stderr
    assert f"events: warehouse table tracks at duckdb://{warehouse}" in status.stdout
    assert re.search(r"│ events\s+│ 4\s+│", status.stdout), status.stdout
    env["BOOMERANG_EVENTS_COLUMNS"] = "account_id=org"
    broken = run("status")
    assert broken.returncode == 1
    assert "has no column org (for account_id), timestamp" in broken.stderr
    assert "Traceback" not in broken.stderr
