"""Health on a small hand-built company: every measure's raw value worked out by hand,
snapshots stored and replaced, versions recorded, explanations, API, page and CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, ContactRole
from boomerang.analytics.source import EventSource
from boomerang.billing.models import Invoice
from boomerang.errors import Conflict, Invalid
from boomerang.events.store import EventStore
from boomerang.flows.daily import DailyHealth
from boomerang.health import measures, scorecard, service, vectors
from boomerang.health.models import HealthMeasure, HealthScore, ScorecardVersion
from boomerang.health.scorecard import Measure
from boomerang.support.models import Ticket, TicketStatus
from boomerang.surveys.models import SurveyKind, SurveyResponse
from boomerang.timeline.models import EntryKind, TimelineEntry
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import add_contact, add_line, make_account, make_user
from tests.support import run_cli
from tests.web.test_ui import login, soup

AS_OF = date(2026, 6, 30)
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)
FEATURES = ["Report Created", "Export Generated", "Comment Added", "Workflow Automated"]


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _events(store: EventStore) -> None:
    rows = [
        ("u1", "Report Created", "2026-06-30 10:00"),
        ("u1", "Signed In", "2026-06-30 11:00"),
        ("u2", "Export Generated", "2026-06-20 09:00"),
        ("u3", "Signed In", "2026-06-05 09:00"),
        ("u1", "Signed In", "2026-05-10 09:00"),  # the previous 30 days
        ("u1", "Signed In", "2026-05-20 09:00"),
        ("u1", "Signed In", "2026-07-01 00:00:01"),  # after the as-of day
    ]
    store.append(
        pa.table(
            {
                "message_id": [f"m{i}" for i in range(len(rows))],
                "type": ["track"] * len(rows),
                "event": [e for _, e, _ in rows],
                "user_id": [u for u, _, _ in rows],
                "group_id": ["acme"] * len(rows),
                "timestamp": [_t(ts) for _, _, ts in rows],
                "received_at": [_t(ts) for _, _, ts in rows],
            }
        )
    )


@pytest.fixture
def world(session: Session, event_store: EventStore) -> dict[str, Account]:
    acme = make_account(session, external_id="acme", name="Acme", created_at=LONG_AGO)
    globex = make_account(session, external_id="globex", name="Globex", created_at=LONG_AGO)
    make_account(
        session, external_id="gone", name="Gone", created_at=LONG_AGO, churned_at=_t("2026-05-01")
    )
    make_account(session, external_id="new", name="New", created_at=_t("2026-07-15"))
    add_line(session, acme, 12000, start=date(2025, 1, 1), seats=10)
    add_contact(session, acme, "Cham Pion", ContactRole.champion)
    add_contact(session, acme, "Spon Sor", ContactRole.sponsor, ContactRole.user)
    add_contact(session, globex, "Only User", ContactRole.user)

    def ticket(severity: int, opened: str, solved: str | None, status: TicketStatus) -> None:
        session.add(
            Ticket(
                account_id=acme.id,
                severity=severity,
                status=status,
                subject="x",
                opened_at=_t(opened),
                solved_at=_t(solved) if solved else None,
            )
        )

    ticket(1, "2026-06-01 00:00", None, TicketStatus.open)  # open: 10
    ticket(3, "2026-06-02 00:00", "2026-06-29 00:00", TicketStatus.solved)  # solved before
    ticket(2, "2026-06-15 00:00", "2026-07-05 00:00", TicketStatus.solved)  # open then: 5
    ticket(1, "2026-07-02 00:00", None, TicketStatus.open)  # opened after
    ticket(4, "2026-03-01 00:00", None, TicketStatus.closed)  # closed, no time: not open

    def invoice(due: date, paid: date | None) -> None:
        session.add(
            Invoice(
                account_id=acme.id,
                amount=100,
                issued_on=due,
                due_on=due,
                paid_on=paid,
            )
        )

    invoice(date(2026, 6, 10), None)  # 20 days overdue
    invoice(date(2026, 5, 1), date(2026, 7, 10))  # paid after the as-of day: 60 days then
    invoice(date(2026, 7, 15), None)  # not yet due
    invoice(date(2026, 4, 1), date(2026, 4, 2))  # paid

    for kind, when in (
        (EntryKind.call, "2026-06-25 15:00"),  # the last touch: 5 days
        (EntryKind.system, "2026-06-29 10:00"),  # not a touch
        (EntryKind.meeting, "2026-07-03 10:00"),  # after
    ):
        session.add(TimelineEntry(account_id=acme.id, kind=kind, body="", occurred_at=_t(when)))
    session.flush()
    _events(event_store)
    return {"acme": acme, "globex": globex}


def _measure(kind: str, **extra: Any) -> Measure:
    return Measure.model_validate(
        {
            "key": kind,
            "kind": kind,
            "weight": 1,
            "scoring": {"type": "linear", "worst": 0, "best": 1},
            **extra,
        }
    )


EXPECTED_RAW = {
    # measure: (acme, globex)
    "active_days": (3, None),
    "active_users": (3, None),
    "adoption_breadth": (0.3, None),  # 3 users / 10 seats; globex has no seats
    "feature_depth": (0.5, None),  # 2 of 4 key features
    "usage_trend": (2.0, None),  # 4 events against 2
    "recency": (0, None),
    "support_burden": (15, 0),  # severity 1 (10) + severity 2 open then (5)
    "billing_overdue": (60, 0),
    "engagement": (5, None),
    "relationship": (2, 0),
}


def test_every_measure_by_hand(
    session: Session, event_store: EventStore, world: dict[str, Account]
) -> None:
    accounts = measures.population(session=session, as_of=AS_OF)
    assert sorted(accounts.external_ids) == ["acme", "globex"]
    wanted = [
        _measure(kind, features=FEATURES) if kind == "feature_depth" else _measure(kind)
        for kind in EXPECTED_RAW
    ]
    with EventSource(event_store).open() as events:
        raw = measures.compute(session=session, measures=wanted, events=events, accounts=accounts)
    for key, expected in EXPECTED_RAW.items():
        got = {
            ext: None if np.isnan(v) else round(float(v), 6)
            for ext, v in zip(accounts.external_ids, raw[key], strict=True)
        }
        assert got == {"acme": expected[0], "globex": expected[1]}, key


def test_compute_stores_snapshots_and_versions(
    session: Session, event_store: EventStore, world: dict[str, Account]
) -> None:
    source = EventSource(event_store)
    loaded = scorecard.default()
    first = service.compute(session=session, source=source, loaded=loaded, as_of=AS_OF)
    assert (first.accounts, first.version, sum(first.colours.values())) == (2, 1, 2)
    again = service.compute(session=session, source=source, loaded=loaded, as_of=AS_OF)
    assert again.version == 1
    assert session.scalar(select(func.count()).select_from(HealthScore)) == 2
    assert session.scalar(select(func.count()).select_from(HealthMeasure)) == 2 * len(
        loaded.scorecard.measures
    )

    edited = scorecard.parse(
        loaded.source.replace("description: ", "description: Edited. "), origin="edited.yaml"
    )
    later = service.compute(session=session, source=source, loaded=edited, as_of=date(2026, 7, 7))
    assert later.version == 2
    assert session.scalar(select(func.count()).select_from(ScorecardVersion)) == 2

    explained = service.explain(session=session, account=world["acme"])
    assert explained is not None
    assert (explained.as_of, explained.version, explained.previous_as_of) == (
        date(2026, 7, 7),
        2,
        AS_OF,
    )
    assert explained.score is not None
    assert abs(sum(m.contribution for m in explained.measures) - explained.score) < 0.05
    assert abs(sum(m.weight for m in explained.measures) - 1) < 1e-6
    # A week on, acme's usage has gone quiet: the score fell, and the trend says by how much.
    assert explained.previous_score is not None and explained.score < explained.previous_score
    assert explained.trend[7] == round(explained.score - explained.previous_score, 2)
    assert explained.trend[30] is None
    assert [d for d, _ in explained.history] == [AS_OF, date(2026, 7, 7)]
    assert explained.drags and explained.drags[0].drag >= explained.drags[-1].drag
    by_key = {m.key: m for m in explained.measures}
    assert by_key["billing_overdue"].raw == 67  # the May invoice, a week later
    assert by_key["active_days"].previous_score is not None

    globex = service.explain(session=session, account=world["globex"], as_of=AS_OF)
    assert globex is not None and globex.as_of == AS_OF
    skipped = {m.key for m in globex.measures if m.score is None}
    assert skipped == {"usage_trend", "adoption_breadth"}  # missing: skip in the default


def test_api_page_and_missing_scores(
    client: TestClient, session: Session, event_store: EventStore, world: dict[str, Account]
) -> None:
    user = make_user(session, Role.csm)
    token = users_service.create_token(session=session, user=user, name="t")[1]
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/accounts/acme/health", headers=auth).status_code == 404
    login(client, user)
    page = soup(client.get(f"/accounts/{world['acme'].id}").text)
    assert page.select_one("#health-none") is not None

    service.compute(
        session=session, source=EventSource(event_store), loaded=scorecard.default(), as_of=AS_OF
    )
    body = client.get("/api/v1/accounts/acme/health", headers=auth).json()
    assert body["account_id"] == world["acme"].id and body["as_of"] == "2026-06-30"
    assert body["scorecard"] == "default" and body["scorecard_version"] == 1
    assert body["colour"] in {"red", "yellow", "green"}
    measures_by_key = {m["key"]: m for m in body["measures"]}
    assert measures_by_key["support_burden"]["raw"] == 15
    assert abs(sum(m["contribution"] for m in body["measures"]) - body["score"]) < 0.1

    page = soup(client.get(f"/accounts/{world['acme'].id}").text)
    assert page.select_one("#health-score").text.strip() == str(round(body["score"]))
    assert "health-" + body["colour"] in (page.select_one("#health-score").get("class") or [])
    rows = page.select("#health-measures tbody tr")
    assert [r["data-key"] for r in rows] == [m["key"] for m in body["measures"]]
    assert client.get("/api/v1/accounts/nope/health", headers=auth).status_code == 404


def test_cli_compute_and_show_on_a_demo_company(
    tmp_path: Path, demo_company: Callable[..., Path]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    data_dir = demo_company("--accounts", "40", "--months", "6", into=tmp_path)
    env.update(BOOMERANG_DATA_DIR=str(data_dir), COLUMNS="200")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(args, env=env)

    computed = run("health", "compute", "--json")
    assert computed.returncode == 0, computed.stderr
    result = json.loads(computed.stdout)
    assert result["scorecards"] == {"default": result["accounts"]}
    assert result["accounts"] == sum(result["colours"].values()) > 0

    listed = run("health", "show", "a-000001", "--json")
    assert listed.returncode == 0, listed.stderr
    body = json.loads(listed.stdout)
    assert body["scorecard_version"] == 1
    assert abs(sum(m["contribution"] for m in body["measures"]) - body["score"]) < 0.1
    journey = run("journey", "show", "a-000001")
    assert journey.returncode == 0, journey.stderr
    assert "key features in use" in journey.stdout
    table = run("health", "show", "a-000001")
    assert table.returncode == 0, table.stderr
    # The demo keeps weekly snapshots: a change over 7 days, none yet over 90.
    assert "Active days (30 d)" in table.stdout
    assert re.search(r"change over 7 d: [+-]?\d+, 30 d: \S+, 90 d: n/a", table.stdout)

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncategories: []\n")
    refused = run("health", "compute", "--scorecard", str(bad))
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"error: {bad}:2: categories: List should have at least 1")


def test_success_vectors_by_rules_with_changes_on_the_timeline(
    session: Session, event_store: EventStore, world: dict[str, Account]
) -> None:
    source = EventSource(event_store)
    loaded = scorecard.default()
    rules = vectors.parse(
        session=session,
        text="""
rules:
  - vector: negative
    name: support is drowning
    when: score.support_burden < 50
  - vector: positive
    name: scored
    when: health >= 0
otherwise: neutral
""",
        origin="rules.yaml",
    )
    first = service.compute(
        session=session, source=source, loaded=loaded, as_of=AS_OF, vector_rules=rules
    )
    # Acme has severity 1 + 2 tickets open (burden 15, score 25); Globex none.
    assert first.vectors == {"positive": 1, "neutral": 0, "negative": 1}
    acme = service.explain(session=session, account=world["acme"])
    assert acme is not None
    assert (acme.vector, acme.vector_rule) == ("negative", "support is drowning")

    calmer = vectors.parse(
        session=session,
        text="rules:\n  - vector: positive\n    name: all\n    when: health >= 0\n",
        origin="calmer.yaml",
    )
    service.compute(
        session=session, source=source, loaded=loaded, as_of=date(2026, 7, 7), vector_rules=calmer
    )
    notes = session.scalars(
        select(TimelineEntry.subject).where(
            TimelineEntry.account_id == world["acme"].id,
            TimelineEntry.kind == EntryKind.system,
            TimelineEntry.subject.like("Success vector%"),
        )
    ).all()
    assert notes == ["Success vector: negative → positive"]
    globex_notes = session.scalars(
        select(TimelineEntry.subject).where(TimelineEntry.account_id == world["globex"].id)
    ).all()
    assert globex_notes == []  # positive both times: no change, no note


def test_bad_vector_rules_are_refused(session: Session) -> None:
    with pytest.raises(Invalid, match=r"rules.yaml: rules\[0\].when: column 1: unknown field"):
        vectors.parse(
            session=session,
            text="rules:\n  - vector: negative\n    name: x\n    when: helth < 5\n",
            origin="rules.yaml",
        )
    with pytest.raises(Invalid, match=r"rules.yaml: rules.0.vector: Input should be"):
        vectors.parse(
            session=session,
            text="rules:\n  - vector: sideways\n    name: x\n    when: health < 5\n",
            origin="rules.yaml",
        )
    assert vectors.load(session=session).otherwise == "neutral"  # the shipped rules load


def test_daily_job_computes_once_a_day_after_its_hour(
    session: Session, event_store: EventStore, world: dict[str, Account]
) -> None:
    @contextmanager
    def transaction() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    now = [datetime(2026, 6, 30, 1, 30, tzinfo=UTC)]
    job = DailyHealth(
        transaction=transaction, source=EventSource(event_store), hour=2, clock=lambda: now[0]
    )
    assert job.run_once() is None  # before 02:00 UTC
    now[0] = datetime(2026, 6, 30, 2, 5, tzinfo=UTC)
    done = job.run_once()
    assert done is not None and done.as_of == AS_OF and done.accounts == 2
    assert sum(done.vectors.values()) == 2
    assert job.run_once() is None  # the day is done
    assert session.scalar(select(func.count()).select_from(HealthScore)) == 2


def test_overrides_apply_show_expire_and_are_audited(
    session: Session, event_store: EventStore, world: dict[str, Account]
) -> None:
    source = EventSource(event_store)
    service.compute(session=session, source=source, loaded=scorecard.default(), as_of=AS_OF)
    before = service.explain(session=session, account=world["acme"])
    assert before is not None and before.score is not None
    kim = make_user(session, Role.csm)
    with pytest.raises(Invalid, match="score: must be between 0 and 100"):
        service.create_override(
            session=session, account=world["acme"], score=120, reason="x", author=kim
        )
    with pytest.raises(Invalid, match="reason: say why"):
        service.create_override(
            session=session, account=world["acme"], score=50, reason=" ", author=kim
        )
    with pytest.raises(Invalid, match="measure: 'nps' is not one of active_days"):
        service.create_override(
            session=session,
            account=world["acme"],
            score=50,
            reason="x",
            author=kim,
            measure_key="nps",
        )

    # Overrides made now apply to snapshots of days they are in force: today's.
    today = datetime.now(UTC).date()
    service.compute(session=session, source=source, loaded=scorecard.default(), as_of=today)
    on_measure = service.create_override(
        session=session,
        account=world["acme"],
        score=100,
        reason="tickets are a known bug, fixed next release",
        author=kim,
        measure_key="support_burden",
    )
    on_total = service.create_override(
        session=session, account=world["globex"], score=10, reason="exec sponsor left", author=kim
    )
    for account in world.values():
        service.recompute_account(session=session, source=source, account=account)
    acme = service.explain(session=session, account=world["acme"])
    globex = service.explain(session=session, account=world["globex"])
    assert acme is not None and globex is not None
    line = next(m for m in acme.measures if m.key == "support_burden")
    # The score is overridden; the measured value stays: two severity-1 tickets open today.
    assert line.score == 100 and line.raw == 20 and line.override is not None
    assert line.override.id == on_measure.id and acme.override is None
    assert (globex.score, globex.colour) == (10, "red")
    assert globex.override is not None and globex.override.reason == "exec sponsor left"
    # An older day's snapshot is untouched: the overrides did not exist then.
    old = service.explain(session=session, account=world["globex"], as_of=AS_OF)
    assert old is not None and old.override is None and old.score != 10

    service.revoke_override(session=session, override=on_total, by=kim)
    with pytest.raises(Conflict):
        service.revoke_override(session=session, override=on_total, by=kim)
    service.recompute_account(session=session, source=source, account=world["globex"])
    back = service.explain(session=session, account=world["globex"])
    assert back is not None and back.override is None and back.score != 10
    audit = session.scalars(
        select(TimelineEntry.subject)
        .where(TimelineEntry.subject.like("Health override%"))
        .order_by(TimelineEntry.occurred_at)
    ).all()
    assert audit == [
        "Health override: measure support_burden set to 100",
        "Health override: health score set to 10",
        "Health override revoked: health score",
    ]


def test_override_api(
    client: TestClient, session: Session, event_store: EventStore, world: dict[str, Account]
) -> None:
    service.compute(
        session=session,
        source=EventSource(event_store),
        loaded=scorecard.default(),
        as_of=datetime.now(UTC).date(),
    )
    csm = make_user(session, Role.csm)
    viewer = make_user(session, Role.viewer)

    def auth(user: Any) -> dict[str, str]:
        token = users_service.create_token(session=session, user=user, name="t")[1]
        return {"Authorization": f"Bearer {token}"}

    url = "/api/v1/accounts/globex/health/overrides"
    body = {"score": 20, "reason": "renewal call went badly", "days": 14}
    assert client.post(url, json=body, headers=auth(viewer)).status_code == 403
    assert client.post(url, json={**body, "score": 101}, headers=auth(csm)).status_code == 422
    made = client.post(url, json=body, headers=auth(csm))
    assert made.status_code == 201, made.text
    health = client.get("/api/v1/accounts/globex/health", headers=auth(csm)).json()
    assert health["score"] == 20 and health["override"]["reason"] == "renewal call went badly"
    assert [o["id"] for o in client.get(url, headers=auth(csm)).json()] == [made.json()["id"]]
    gone = client.delete(f"{url}/{made.json()['id']}", headers=auth(csm))
    assert gone.status_code == 200 and gone.json()["revoked_at"] is not None
    assert (
        client.get("/api/v1/accounts/globex/health", headers=auth(csm)).json()["override"] is None
    )
    assert client.delete(f"{url}/hov_nope", headers=auth(csm)).status_code == 404


def test_override_from_the_account_page(
    client: TestClient, session: Session, event_store: EventStore, world: dict[str, Account]
) -> None:
    service.compute(
        session=session,
        source=EventSource(event_store),
        loaded=scorecard.default(),
        as_of=datetime.now(UTC).date(),
    )
    login(client, make_user(session, Role.csm))
    page = f"/accounts/{world['acme'].id}"
    token = soup(client.get(page).text).select_one('#override-form input[name="csrf_token"]')
    assert token is not None
    sent = client.post(
        f"{page}/health/overrides",
        data={"score": "55", "reason": "QBR went well", "days": "10", "csrf_token": token["value"]},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    html = soup(client.get(page).text)
    assert html.select_one("#journey") is not None
    assert html.select_one("#health-score").text.strip() == "55"
    assert "QBR went well" in html.select_one("#health-override").text
    revoke = html.select_one("#health-overrides form").get("action")
    assert (
        client.post(
            str(revoke), data={"csrf_token": token["value"]}, follow_redirects=False
        ).status_code
        == 303
    )
    html = soup(client.get(page).text)
    assert (
        html.select_one("#health-override") is None and html.select_one("#health-overrides") is None
    )


def test_custom_peer_and_manual_measures(
    session: Session, event_store: EventStore, world: dict[str, Account]
) -> None:
    world["acme"].attributes = {"seats_purchased": "12", "sso": True, "plan": "Gold"}
    session.flush()
    card = scorecard.Scorecard.model_validate(
        {
            "name": "custom",
            "categories": [
                {
                    "name": "All",
                    "weight": 1,
                    "measures": [
                        {
                            "key": "logins",
                            "kind": "event_count",
                            "events": ["Signed In"],
                            "weight": 1,
                            "scoring": {"type": "linear", "worst": 0, "best": 10},
                        },
                        {
                            "key": "seats",
                            "kind": "attribute",
                            "attribute": "seats_purchased",
                            "weight": 1,
                            "scoring": {"type": "linear", "worst": 0, "best": 10},
                        },
                        {
                            "key": "sso",
                            "kind": "attribute",
                            "attribute": "sso",
                            "weight": 1,
                            "scoring": {"type": "categorical", "values": {"1": 100, "0": 0}},
                        },
                        {
                            "key": "plan",
                            "kind": "attribute",
                            "attribute": "plan",
                            "weight": 1,
                            "scoring": {"type": "linear", "worst": 0, "best": 1},
                        },
                        {
                            "key": "support",
                            "kind": "support_burden",
                            "weight": 1,
                            "scoring": {"type": "linear", "worst": 20, "best": 0},
                        },
                        {
                            "key": "support_rank",
                            "kind": "peer_percentile",
                            "of": "support",
                            "peers": "all",
                            "weight": 1,
                            "scoring": {"type": "linear", "worst": 100, "best": 0},
                        },
                        {
                            "key": "nps",
                            "kind": "survey_sentiment",
                            "survey": "nps",
                            "half_life_days": 90,
                            "weight": 1,
                            "scoring": {"type": "linear", "worst": 0, "best": 10},
                        },
                        {
                            "key": "sentiment",
                            "kind": "manual",
                            "weight": 1,
                            "scoring": {"type": "linear", "worst": 0, "best": 100},
                        },
                    ],
                }
            ],
        }
    )
    for score, when in ((2, "2026-01-10 00:00"), (10, "2026-04-02 00:00"), (0, "2026-07-02 00:00")):
        session.add(
            SurveyResponse(
                account_id=world["acme"].id,
                survey=SurveyKind.nps,
                score=score,
                responded_at=_t(when),
            )
        )
    session.flush()
    accounts = measures.population(session=session, as_of=AS_OF)
    with EventSource(event_store).open() as events:
        raw = measures.compute(
            session=session, measures=card.measures, events=events, accounts=accounts
        )
    got = {
        k: dict(
            zip(
                accounts.external_ids,
                [None if np.isnan(v) else float(v) for v in raw[k]],
                strict=True,
            )
        )
        for k in raw
    }
    assert got["logins"] == {"acme": 2.0, "globex": 0.0}  # u1 on 06-30, u3 on 06-05
    assert got["seats"] == {"acme": 12.0, "globex": None}
    assert got["sso"] == {"acme": 1.0, "globex": None}
    assert got["plan"] == {"acme": None, "globex": None}  # text is not a number
    assert got["support_rank"] == {"acme": 100.0, "globex": 0.0}  # 15 vs 0 open-ticket weight
    assert got["sentiment"] == {"acme": None, "globex": None}
    # The latest answer before the day's end (10, exactly one half-life old) fades halfway
    # toward the middle of the 0-10 scale: 5 + (10 - 5) / 2.
    assert got["nps"] == {"acme": 7.5, "globex": None}

    with pytest.raises(Exception, match="`of` names no measure"):
        scorecard.Scorecard.model_validate(
            {
                "name": "x",
                "categories": [
                    {
                        "name": "a",
                        "weight": 1,
                        "measures": [
                            {
                                "key": "r",
                                "kind": "peer_percentile",
                                "of": "nothing",
                                "weight": 1,
                                "scoring": {"type": "linear", "worst": 0, "best": 100},
                            }
                        ],
                    }
                ],
            }
        )


def test_scorecards_by_segment_and_secondary_ones(
    session: Session, event_store: EventStore, world: dict[str, Account], tmp_path: Path
) -> None:
    world["acme"].tier = "enterprise"
    world["globex"].tier = "smb"
    session.flush()
    base = scorecard.default().source
    folder = tmp_path / "cards"
    folder.mkdir()
    (folder / "10-enterprise.yaml").write_text(
        base.replace("name: default", "name: enterprise\napplies_to: tier = 'enterprise'").replace(
            "weight: 45", "weight: 90"
        )
    )
    (folder / "20-default.yaml").write_text(base)
    (folder / "30-product.yaml").write_text(
        base.replace("name: default", "name: product_x\nprimary: false\napplies_to: tier = 'smb'")
    )
    cards = scorecard.load_set(folder)
    assert [c.scorecard.name for c in cards] == ["enterprise", "default", "product_x"]
    done = service.compute_set(
        session=session,
        source=EventSource(event_store),
        cards=cards,
        as_of=AS_OF,
        vector_rules=vectors.load(session=session),
    )
    assert done.by_scorecard == {"enterprise": 1, "default": 1, "product_x": 1}
    assert done.accounts == 2 and sum(done.vectors.values()) == 2
    acme = service.explain(session=session, account=world["acme"])
    globex = service.explain(session=session, account=world["globex"])
    assert acme is not None and globex is not None
    assert (acme.scorecard, globex.scorecard) == ("enterprise", "default")
    product = service.explain(session=session, account=world["globex"], scorecard_name="product_x")
    assert product is not None and product.scorecard == "product_x"
    assert (
        service.explain(session=session, account=world["acme"], scorecard_name="product_x") is None
    )

    (folder / "20-default.yaml").unlink()
    with pytest.raises(Invalid, match="no primary scorecard without applies_to"):
        scorecard.load_set(folder)
    (folder / "20-default.yaml").write_text(base)
    (folder / "40-copy.yaml").write_text(base)
    with pytest.raises(Invalid, match="name 'default' is also the name of"):
        scorecard.load_set(folder)
    (folder / "40-copy.yaml").unlink()
    (folder / "10-enterprise.yaml").write_text(
        base.replace("name: default", "name: enterprise\napplies_to: teir = 'enterprise'")
    )
    with pytest.raises(Invalid, match=r"10-enterprise.yaml: applies_to: column 1: unknown field"):
        service.compute_set(
            session=session,
            source=EventSource(event_store),
            cards=scorecard.load_set(folder),
            as_of=AS_OF,
        )
