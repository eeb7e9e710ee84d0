"""Playbooks from the API, the web app and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.playbooks import engine
from boomerang.playbooks.models import PlaybookVersion
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import make_account, make_user
from tests.support import run_cli
from tests.web.test_ui import csrf, login, soup


def _auth(session: Session, role: Role) -> dict[str, str]:
    user = make_user(session, role)
    return {
        "Authorization": f"Bearer {users_service.create_token(session=session, user=user, name='t')[1]}"
    }


def test_api(session: Session, client: TestClient) -> None:
    make_account(session, name="Fresh")
    viewer, manager = _auth(session, Role.viewer), _auth(session, Role.manager)
    listed = client.get("/api/v1/playbooks", headers=viewer).json()
    assert {p["name"] for p in listed["data"]} >= {"health-turned-red", "detractor-follow-up"}
    one = client.get("/api/v1/playbooks/health-turned-red", headers=viewer).json()
    assert one["version"] == 1 and "colour = 'red'" in one["source"]
    assert one["effectiveness"]["treated"]["runs"] == 0
    dry = client.post("/api/v1/playbooks/health-turned-red/dry-run", headers=viewer)
    assert dry.status_code == 200 and dry.json()["data"] == []  # nobody is red
    # Editing: managers only; the text is validated with the line at fault.
    text = one["source"].replace("cooldown_days: 30", "cooldown_days: 45")
    assert (
        client.put("/api/v1/playbooks/health-turned-red", content=text, headers=viewer).status_code
        == 403
    )
    saved = client.put(
        "/api/v1/playbooks/health-turned-red",
        content=text,
        headers={**manager, "content-type": "text/yaml"},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"name": "health-turned-red", "version": 2, "changed": True}
    broken = client.put(
        "/api/v1/playbooks/health-turned-red",
        content=text.replace("colour = 'red'", "color = 'red'"),
        headers={**manager, "content-type": "text/yaml"},
    )
    assert broken.status_code == 422 and "unknown field 'color'" in broken.json()["detail"]
    assert client.post("/api/v1/playbooks/pause", headers=viewer).status_code == 403
    assert client.post("/api/v1/playbooks/pause", headers=manager).json()["paused"] is True
    ran = client.post("/api/v1/playbooks/run", headers=manager).json()
    assert ran["paused"] is True and ran["fired"] == []
    assert client.get("/api/v1/playbooks/nope", headers=viewer).status_code == 422


def test_pages(session: Session, client: TestClient) -> None:
    login(client, make_user(session, Role.manager))
    page = soup(client.get("/playbooks").text)
    assert page.select_one('tr[data-name="renewal-120-days"]') is not None
    token = csrf(client, "/playbooks")
    detail = client.get("/playbooks/renewal-120-days")
    assert detail.status_code == 200
    dry = client.post(
        "/playbooks/renewal-120-days/dry-run", data={"csrf_token": token, "since": ""}
    )
    assert dry.status_code == 200 and soup(dry.text).select_one("#fired-count") is not None
    bad_day = client.post(
        "/playbooks/renewal-120-days/dry-run", data={"csrf_token": token, "since": "soon"}
    )
    assert bad_day.status_code == 422 and "is not a date" in bad_day.text
    source = session.scalars(
        select(PlaybookVersion.source).where(PlaybookVersion.name == "renewal-120-days")
    ).one()
    broken = client.post(
        "/playbooks/renewal-120-days",
        data={"csrf_token": token, "source": source.replace("steps:", "stepz:")},
    )
    assert broken.status_code == 422
    assert "steps: Field required" in soup(broken.text).select_one("#playbook-error").text
    paused = client.post(
        "/playbooks/pause", data={"csrf_token": token, "paused": "1"}, follow_redirects=False
    )
    assert paused.status_code == 303 and engine.paused(session=session)


def test_cli(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env["BOOMERANG_DATA_DIR"] = str(tmp_path / "var")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(args, env=env)

    assert run("init").returncode == 0
    listed = json.loads(run("playbooks", "list", "--json").stdout)
    assert len(listed["playbooks"]) == 6 and listed["paused"] is False
    good = tmp_path / "good.yaml"
    good.write_text(
        'name: big\ntitle: Big\ntrigger: {condition: "arr > 100000"}\nsteps:\n  - task: {title: Hi}\n'
    )
    ok = run("playbooks", "validate", str(good))
    assert ok.returncode == 0 and "valid (big, condition trigger, 1 steps)" in " ".join(
        ok.stdout.split()
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("arr >", "arrr >"))
    refused = run("playbooks", "validate", str(bad))
    assert refused.returncode == 1 and "unknown field 'arrr'" in " ".join(refused.stderr.split())
    dry = run("playbooks", "dry-run", "health-turned-red", "--json")
    assert dry.returncode == 0 and json.loads(dry.stdout) == []
    assert run("playbooks", "pause").returncode == 0
    paused = json.loads(run("playbooks", "run", "--json").stdout)
    assert paused["paused"] is True
    assert run("playbooks", "resume").returncode == 0
    done = json.loads(run("playbooks", "run", "--json").stdout)
    assert done["paused"] is False and done["errors"] == {}
    missing = run("playbooks", "dry-run", "nope")
    assert missing.returncode == 1 and "no playbook named 'nope'" in missing.stderr
