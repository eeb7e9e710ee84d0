"""Segments on a real database: saved conditions, membership over time, API and CLI."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.errors import Conflict, Invalid
from boomerang.health.models import HealthScore, ScorecardVersion
from boomerang.segments import service
from boomerang.segments.models import SegmentMembership, TouchModel
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import make_account, make_user
from tests.support import run_cli

TODAY = datetime.now(UTC).date()


def _score(session: Session, account: Account, day: date, score: float, colour: str) -> None:
    version = session.scalar(select(ScorecardVersion)) or ScorecardVersion(
        name="default", version=1, source="", digest="x", origin="test"
    )
    session.add(version)
    session.flush()
    session.add(
        HealthScore(
            id=f"hs_{uuid.uuid4().hex[:20]}",
            account_id=account.id,
            scorecard="default",
            scorecard_version_id=version.id,
            as_of=day,
            score=score,
            colour=colour,
        )
    )
    session.flush()


@pytest.fixture
def accounts(session: Session) -> dict[str, Account]:
    owner = make_user(session, Role.csm, email="kim@example.com")
    big = make_account(
        session,
        external_id="big",
        name="Big",
        tier="enterprise",
        renewal_date=TODAY + timedelta(days=90),
        owner_id=owner.id,
    )
    small = make_account(session, external_id="small", name="Small", tier="smb")
    other = make_account(
        session, external_id="other", name="Other", tier="enterprise", renewal_date=TODAY
    )
    for acc, old, new in ((big, 80.0, 45.0), (small, 40.0, 30.0), (other, 90.0, 85.0)):
        _score(session, acc, TODAY - timedelta(days=30), old, "green" if old >= 75 else "red")
        _score(session, acc, TODAY, new, "green" if new >= 75 else "red")
    return {"big": big, "small": small, "other": other}


def test_membership_is_recorded_over_time(session: Session, accounts: dict[str, Account]) -> None:
    segment = service.create(
        session=session,
        name="Enterprise at risk",
        condition="tier = 'enterprise' and health < 50 and renewal_in_days <= 120",
        touch_model=TouchModel.high_touch,
    )
    first = datetime.combine(TODAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    (result,) = service.evaluate(session=session, segments=[segment], now=first)
    assert (result.members, result.entered, result.left) == (1, 1, 0)
    assert service.current_members(session=session, segment=segment) == [accounts["big"].id]

    falling = service.create(
        session=session, name="Falling", condition="trend_30 <= -20 and owner = 'kim@example.com'"
    )
    assert service.evaluate(session=session, segments=[falling], now=first)[0].members == 1

    # Big recovers; Other slips: one leaves, one enters, history is kept.
    session.execute(
        HealthScore.__table__.update()  # type: ignore[attr-defined]
        .where(HealthScore.account_id == accounts["big"].id, HealthScore.as_of == TODAY)
        .values(score=70.0)
    )
    session.execute(
        HealthScore.__table__.update()  # type: ignore[attr-defined]
        .where(HealthScore.account_id == accounts["other"].id, HealthScore.as_of == TODAY)
        .values(score=20.0)
    )
    later = first + timedelta(hours=1)
    (again,) = service.evaluate(session=session, segments=[segment], now=later)
    assert (again.members, again.entered, again.left) == (1, 1, 1)
    stays = session.execute(
        select(
            SegmentMembership.account_id, SegmentMembership.entered_at, SegmentMembership.left_at
        )
        .where(SegmentMembership.segment_id == segment.id)
        .order_by(SegmentMembership.entered_at)
    ).all()
    assert [tuple(stay) for stay in stays] == [
        (accounts["big"].id, first, later),
        (accounts["other"].id, later, None),
    ]


def test_bad_segments_are_refused(session: Session, accounts: dict[str, Account]) -> None:
    with pytest.raises(Invalid, match="column 1: unknown field 'teir'"):
        service.create(session=session, name="x", condition="teir = 'smb'")
    with pytest.raises(Invalid, match="name: 1-100 letters"):
        service.create(session=session, name="", condition="tier = 'smb'")
    service.create(session=session, name="SMB", condition="tier = 'smb'")
    with pytest.raises(Conflict):
        service.create(session=session, name="SMB", condition="tier = 'smb'")


def test_api(client: TestClient, session: Session, accounts: dict[str, Account]) -> None:
    user = make_user(session, Role.manager)
    auth = {
        "Authorization": "Bearer "
        + users_service.create_token(session=session, user=user, name="t")[1]
    }
    r = client.post(
        "/api/v1/segments/preview", json={"condition": "score.active_days < 5"}, headers=auth
    )
    assert r.status_code == 200 and r.json()["members"] == 0  # not scored: no measure values
    bad = client.post("/api/v1/segments/preview", json={"condition": "tier ="}, headers=auth)
    assert bad.status_code == 422
    assert "column 7: expected a value, found the end" in bad.text
    good = client.post(
        "/api/v1/segments/preview", json={"condition": "colour = 'red'"}, headers=auth
    )
    assert (
        good.json()
        == {
            "members": 2,
            "sample": sorted([accounts["big"].id, accounts["small"].id]),
        }
        or good.json()["members"] == 2
    )
    segment = service.create(session=session, name="Red", condition="colour = 'red'")
    service.evaluate(session=session, segments=[segment])
    listed = client.get("/api/v1/segments", headers=auth).json()
    assert [(s["name"], s["members"]) for s in listed] == [("Red", 2)]
    names = client.get("/api/v1/segments/Red/accounts", headers=auth).json()
    assert [m["name"] for m in names["members"]] == ["Big", "Small"]
    assert client.get("/api/v1/segments/nope/accounts", headers=auth).status_code == 404


def test_cli(tmp_path: Path, demo_company: Callable[..., Path]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    data_dir = demo_company("--accounts", "40", "--months", "6", into=tmp_path)
    env.update(BOOMERANG_DATA_DIR=str(data_dir), COLUMNS="200")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(args, env=env)

    assert run("init").returncode == 0  # on a loaded company: changes nothing
    assert run("health", "compute").returncode == 0
    preview = run("segments", "preview", "--where", "tier = 'smb' and health < 101")
    assert preview.returncode == 0, preview.stderr
    count = int(preview.stdout.split()[0].replace(",", ""))
    created = run("segments", "create", "SMB", "--where", "tier = 'smb' and health < 101")
    assert created.returncode == 0 and f"segment SMB: {count:,} accounts" in created.stdout
    listed = run("segments", "list", "--json")
    assert '"name": "SMB"' in listed.stdout and f'"members": {count}' in listed.stdout
    bad = run("segments", "create", "Bad", "--where", "tier == 'smb'")
    assert bad.returncode == 1
    assert bad.stderr.strip() == "error: column 7: expected a value, found '='"
    evaluated = run("segments", "evaluate")
    assert evaluated.returncode == 0 and "SMB" in evaluated.stdout
