"""Surveys over real parts: SMTP delivery, the public page, the API, the pages, the job,
the CLI, and the shipped detractor playbook firing on a real answer."""

from __future__ import annotations

import json
import os
import re
import subprocess
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.config import Settings
from boomerang.jobs import registry
from boomerang.mail.service import deliver_due
from boomerang.playbooks import engine
from boomerang.playbooks.models import PlaybookRun
from boomerang.surveys import service
from boomerang.surveys.models import SurveyRecipient, SurveyResponse
from boomerang.tasks.models import Task
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.mail.conftest import SMTPServer, Transaction, settings_for
from tests.support import run_cli
from tests.surveys.conftest import World
from tests.web.test_ui import csrf, login, soup


def _responses(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(SurveyResponse)) or 0


def test_nps_through_smtp_and_the_public_page_fires_the_detractor_playbook(
    session: Session,
    client: TestClient,
    settings: Settings,
    smtp_server: SMTPServer,
    tx: Transaction,
    world: World,
) -> None:
    mail_settings = settings_for(settings, smtp_server)
    program = service.create_program(session=session, name="NPS", kind="nps", roles=["champion"])
    sent = service.send(
        session=session, settings=mail_settings, program=program, account=world.acme
    )
    assert [r.contact_id for r in sent.invited] == [world.wile.id]
    result = deliver_due(tx, mail_settings)
    assert result.sent == 1, result
    (received,) = smtp_server.received
    assert received.rcpt_tos == ["wile@acme.example"]
    html = received.part("html")
    links = dict(
        (int(n), url)
        for url, n in re.findall(r'href="(http://testserver/s/[^"?]+\?score=(\d+))"', html)
    )
    assert sorted(links) == list(range(11))
    assert links[3] in received.part("plain")

    # The customer clicks "3" in the email: the page opens with 3 chosen, nothing recorded.
    path = urlsplit(links[3]).path
    page = soup(client.get(f"{path}?score=3").text)
    assert page.select_one('input[name="score"][value="3"]').has_attr("checked")
    assert page.find("script") is None and not page.select('link[rel="stylesheet"]')
    assert _responses(session) == 0

    r = client.post(path, data={"score": "3", "comment": "Support is too slow"})
    assert r.status_code == 200 and "Thank you" in r.text
    answer = session.scalars(select(SurveyResponse)).one()
    assert (answer.score, answer.contact_id, answer.account_id) == (3, world.wile.id, world.acme.id)

    # A second submission is refused clearly and changes nothing.
    again = client.post(path, data={"score": "10"})
    assert again.status_code == 409 and "already answered" in again.text
    assert session.scalars(select(SurveyResponse.score)).all() == [3]

    # The shipped detractor playbook fires on evaluation.
    engine.sync_files(session=session, directory=None)
    engine.set_paused(session=session, paused=False, by="test")
    fired = engine.evaluate(
        session=session, source=None, now=datetime.now(UTC) + timedelta(minutes=1)
    ).fired
    assert [(f.playbook, f.account_id, f.why) for f in fired] == [
        ("detractor-follow-up", world.acme.id, "NPS answer 3 (detractor)")
    ]
    run = session.scalars(select(PlaybookRun)).one()
    assert run.reason_key == f"survey:{answer.id}"
    task = session.scalars(select(Task).where(Task.account_id == world.acme.id)).one()
    assert task.title == "Follow up on a detractor at Acme"

    # The answer shows on the account page.
    login(client, world.csm)
    account_page = soup(client.get(f"/accounts/{world.acme.id}").text)
    row = account_page.select_one(f'#account-surveys tr[data-id="{answer.id}"]')
    assert row is not None and "Wile Coyote" in row.text and "detractor" in row.text


def test_public_page_refuses_bad_input_and_changes_nothing(
    session: Session, client: TestClient, settings: Settings, world: World
) -> None:
    program = service.create_program(session=session, name="NPS", kind="nps", expires_days=5)
    t0 = datetime.now(UTC)
    sent = service.send(session=session, settings=settings, program=program, account=world.initech)
    path = urlsplit(service.response_url(settings, sent.invited[0].id)).path

    forged = client.get(path[:-5] + ("A" if path[-5] != "A" else "B") + path[-4:])
    assert forged.status_code == 400 and "not valid" in forged.text
    assert (
        client.post(
            path[:-5] + ("A" if path[-5] != "A" else "B") + path[-4:], data={"score": "9"}
        ).status_code
        == 400
    )
    odd = soup(client.get(f"{path}?score=42").text)
    assert "off the nps scale" in odd.select_one("#error").text
    for bad in ({"score": "11"}, {"score": "-1"}, {"score": "nine"}, {}):
        r = client.post(path, data=bad)
        assert r.status_code == 422, (bad, r.status_code)
        assert "score" in soup(r.text).select_one("#error").text
    assert client.post(path, data={"score": "9", "comment": "x" * 6000}).status_code == 422
    assert _responses(session) == 0

    recipient = session.get(SurveyRecipient, sent.invited[0].id)
    assert recipient is not None
    recipient.expires_at = t0 - timedelta(minutes=1)
    session.flush()
    expired = client.post(path, data={"score": "9"})
    assert expired.status_code == 410 and "expired" in expired.text
    assert client.get(path).status_code == 410
    assert _responses(session) == 0


def _auth(session: Session, role: Role) -> dict[str, str]:
    from tests.factories import make_user

    user = make_user(session, role)
    token = users_service.create_token(session=session, user=user, name="t")[1]
    return {"Authorization": f"Bearer {token}"}


def test_api(session: Session, client: TestClient, settings: Settings, world: World) -> None:
    manager, csm, viewer = (
        _auth(session, Role.manager),
        _auth(session, Role.csm),
        _auth(session, Role.viewer),
    )
    body = {"name": "NPS", "kind": "nps", "roles": ["champion"], "trigger": "manual"}
    assert client.post("/api/v1/surveys/programs", json=body).status_code == 401
    assert client.post("/api/v1/surveys/programs", json=body, headers=csm).status_code == 403
    for bad, field in (
        ({**body, "kind": "stars"}, "kind"),
        ({**body, "roles": ["boss"]}, "roles"),
        ({**body, "trigger": "schedule"}, "every_days"),
        ({**body, "throttle_days": -1}, "throttle_days"),
    ):
        r = client.post("/api/v1/surveys/programs", json=bad, headers=manager)
        assert r.status_code == 422 and field in r.text, r.text
    r = client.post("/api/v1/surveys/programs", json=body, headers=manager)
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/surveys/programs", json=body, headers=manager).status_code == 409

    r = client.post("/api/v1/surveys/programs/NPS/send", json={}, headers=viewer)
    assert r.status_code == 403
    r = client.post("/api/v1/surveys/programs/NPS/send", json={"account": "nope"}, headers=csm)
    assert r.status_code == 404
    r = client.post("/api/v1/surveys/programs/NPS/send", json={}, headers=csm)
    assert r.status_code == 200, r.text
    invited = r.json()["invited"]
    assert sorted(i["contact_id"] for i in invited) == sorted([world.wile.id, world.peter.id])

    peter = next(i for i in invited if i["contact_id"] == world.peter.id)
    token = service.token_for(settings, peter["id"])
    url = f"/api/v1/surveys/respond/{token}"
    assert client.post(url, json={"score": 11}).status_code == 422
    assert client.post(f"/api/v1/surveys/respond/{token}x", json={"score": 9}).status_code == 422
    r = client.post(url, json={"score": 9, "comment": "Love the price"})
    assert r.status_code == 201, r.text
    r = client.post(url, json={"score": 0})
    assert r.status_code == 409 and "already answered" in r.json()["detail"]

    r = client.put(
        "/api/v1/surveys/themes", json={"name": "Pricing", "keywords": ["price"]}, headers=manager
    )
    assert r.status_code == 200, r.text
    found = client.get("/api/v1/surveys/comments", params={"theme": "Pricing"}, headers=csm).json()
    assert [(c["score"], c["themes"][0]["why"]) for c in found] == [(9, "contains 'price'")]

    rows = client.get("/api/v1/surveys/rollup", params={"by": "tier"}, headers=csm).json()
    by_tier = {r["group"]: r for r in rows}
    assert by_tier["smb"]["nps"] == 100.0 and by_tier["smb"]["response_rate"] == 100.0
    assert by_tier["enterprise"]["responses"] == 0 and by_tier["enterprise"]["invited"] == 1
    assert client.get("/api/v1/surveys/rollup", params={"by": "x"}, headers=csm).status_code == 422

    r = client.post(
        "/api/v1/surveys/responses",
        json={"account": world.acme.external_id, "kind": "csat", "score": 9},
        headers=csm,
    )
    assert r.status_code == 422 and "csat scale" in r.text
    r = client.post(
        "/api/v1/surveys/responses",
        json={"account": world.acme.external_id, "kind": "csat", "score": 5},
        headers=csm,
    )
    assert r.status_code == 201
    listed = client.get(
        "/api/v1/surveys/responses", params={"account": world.acme.external_id}, headers=csm
    ).json()
    assert [(x["survey"], x["score"]) for x in listed] == [("csat", 5)]


def test_surveys_page_and_forms(session: Session, client: TestClient, world: World) -> None:
    from tests.factories import make_user

    manager = make_user(session, Role.manager)
    service.record(session=session, account=world.acme, kind="nps", score=10, comment="Great")
    service.record(session=session, account=world.initech, kind="nps", score=2)
    login(client, manager)
    page = soup(client.get("/surveys?by=owner").text)
    assert page.select_one('tr[data-group="Ana"] .nps').text == "+100"
    assert page.select_one('tr[data-group="Bo"] .nps').text == "-100"
    assert page.select_one("#nps-overall").text == "+0"
    token = csrf(client, "/surveys")
    r = client.post(
        "/surveys/programs",
        data={"csrf_token": token, "name": "Q NPS", "kind": "nps", "trigger": "schedule"},
    )
    assert r.status_code == 422 and "every_days" in r.text
    r = client.post(
        "/surveys/programs",
        data={"csrf_token": token, "name": "Q NPS", "kind": "nps", "trigger": "schedule",
              "every_days": "90", "roles": "champion"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    assert service.get_program(session=session, ref="Q NPS").roles == ["champion"]
    r = client.post(
        "/surveys/themes",
        data={"csrf_token": token, "name": "Praise", "keywords": "great, love"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    praise = soup(client.get("/surveys?theme=Praise").text)
    assert "contains 'great'" in praise.select_one("#survey-comments tbody").text


def test_the_send_job(session: Session, settings: Settings, world: World) -> None:
    registry.load()
    assert "surveys.send" in {p.kind for p in registry.PERIODIC}
    service.create_program(
        session=session,
        name="NPS",
        kind="nps",
        trigger="schedule",
        every_days=30,
        roles=["champion"],
    )
    context = registry.Context(
        transaction=lambda: nullcontext(session),  # type: ignore[arg-type,return-value]
        settings=settings,
        source=None,  # type: ignore[arg-type]
        now=datetime(2026, 3, 2, 9, tzinfo=UTC),
    )
    assert registry.HANDLERS["surveys.send"](context, {}) == {
        "invited": 2,
        "refused": 0,
        "reminded": 0,
    }
    assert registry.HANDLERS["surveys.send"](context, {})["invited"] == 0  # type: ignore[index]


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env=env)


def test_cli(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env = {**clean, "BOOMERANG_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    assert _run(env, "init").returncode == 0
    (tmp_path / "accounts.csv").write_text("external_id,name,tier\nA-1,Acme,enterprise\n")
    (tmp_path / "contacts.csv").write_text(
        "external_id,email,account,name,roles\nC-1,wile@acme.example,A-1,Wile,champion\n"
    )
    for kind in ("accounts", "contacts"):
        r = _run(env, "import", kind, str(tmp_path / f"{kind}.csv"))
        assert r.returncode == 0, r.stderr
    r = _run(env, "surveys", "create", "NPS", "--kind", "nps", "--role", "boss")
    assert r.returncode == 1 and "unknown role 'boss'" in r.stderr + r.stdout
    r = _run(env, "surveys", "create", "NPS", "--kind", "nps", "--role", "champion")
    assert r.returncode == 0, r.stderr
    r = _run(env, "surveys", "send", "NPS")
    assert r.returncode == 0 and "1 invited" in r.stdout, r.stdout + r.stderr
    r = _run(env, "surveys", "respond", "forged.token", "--score", "9")
    assert r.returncode == 1 and "not valid" in r.stderr + r.stdout
    r = _run(env, "surveys", "record", "A-1", "--kind", "nps", "--score", "12")
    assert r.returncode == 1 and "off the nps scale" in r.stderr + r.stdout
    r = _run(env, "surveys", "record", "A-1", "--kind", "nps", "--score", "6")
    assert r.returncode == 0, r.stderr
    r = _run(env, "surveys", "nps", "--by", "tier", "--json")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert (row["group"], row["nps"], row["invited"], row["response_rate"]) == (
        "enterprise",
        -100.0,
        1,
        0.0,
    )
