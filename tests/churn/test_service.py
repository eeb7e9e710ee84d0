"""The account churn model on a generated company: out-of-time split, beats the health score,
predictions with drivers, over the API and in the UI."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.churn import features, service
from boomerang.churn.models import ChurnModel, ChurnPrediction
from boomerang.demo.generator import generate
from boomerang.events.store import EventStore
from boomerang.health import measures
from boomerang.segments.facts import account_facts
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import make_account, make_user
from tests.web.test_ui import login, soup

END = date(2026, 10, 31)


def test_churn_model_end_to_end(
    session: Session, event_store: EventStore, app: FastAPI, client: TestClient
) -> None:
    generate(
        session=session,
        store=event_store,
        end=END,
        password="demo-pass-1",
        accounts=300,
        months=20,
        seed=11,
    )
    source = app.state.event_source
    trained = service.train(session=session, source=source, currency="USD", today=END)
    report = trained.report
    test_from = date.fromisoformat(report["test_days"][0])
    # Time split: every training label (day + horizon) is known before the first test day.
    assert all(date.fromisoformat(d) + timedelta(days=90) < test_from for d in report["train_days"])
    assert date.fromisoformat(report["test_days"][-1]) <= END - timedelta(days=90)
    assert report["n_test"] > 0 and 0 < report["test_positive_rate"] < 0.5
    # It must earn its place: better than the health score alone, out of time.
    assert report["model"]["roc_auc"] > report["health_score_alone"]["roc_auc"]
    assert report["roc_auc_gain"] == round(
        report["model"]["roc_auc"] - report["health_score_alone"]["roc_auc"], 6
    )
    assert sum(d["rows"] for d in report["lift_by_decile"]["model"]) == report["n_test"]
    assert trained.model.version == 1
    assert isinstance(service.load_model(trained.model), type(trained.risk))

    scored = service.score(session=session, source=source, currency="USD", today=END)
    alive = measures.population(session=session, as_of=END)
    assert scored.accounts == len(alive) == sum(scored.bands.values())
    assert scored.model_version == 1
    n = session.scalar(select(func.count()).select_from(ChurnPrediction))
    assert n == len(alive)
    # Scoring the same day again replaces, never duplicates.
    service.score(session=session, source=source, currency="USD", today=END)
    assert session.scalar(select(func.count()).select_from(ChurnPrediction)) == n

    top = service.most_at_risk(session=session, limit=5)
    assert [r.probability for r in top] == sorted((r.probability for r in top), reverse=True)
    base = report["base_rate"]
    for row in session.scalars(select(ChurnPrediction)).all():
        assert 0 <= row.probability <= 1
        assert row.band == service.band(row.probability, base)
        sizes = [abs(d["contribution"]) for d in row.drivers]
        assert sizes == sorted(sizes, reverse=True) and len(sizes) <= service.DRIVERS
    # The drivers are the model's own arithmetic: recompute one account's contributions.
    risky = top[0]
    frame_obs = service.FeatureBuilder(
        session=session,
        card=features.health_card(session=session, directory=None),
        currency="USD",
        today=END,
        horizon_days=90,
    )
    with source.open() as events:
        obs = frame_obs.observe(events, END, None)
    i = obs.ids.index(risky.account_id)
    base_logit, parts = trained.risk.contributions(obs.frame.iloc[[i]])
    assert np.isclose(1 / (1 + np.exp(-(base_logit + parts.sum()))), risky.probability)
    first = risky.drivers[0]
    j = trained.risk.features.index(first["feature"])
    assert np.isclose(parts[0, j], first["contribution"], atol=1e-3)

    # Segment conditions (and so playbooks) see the latest prediction.
    facts = account_facts(session=session, today=END, only={"churn_risk", "churn_band"})
    by_id = dict(zip(facts["account_id"].to_pylist(), facts["churn_band"].to_pylist(), strict=True))
    risk_of = dict(
        zip(facts["account_id"].to_pylist(), facts["churn_risk"].to_pylist(), strict=True)
    )
    assert risk_of[risky.account_id] == risky.probability and by_id[risky.account_id] == risky.band

    # API
    viewer = make_user(session, Role.viewer)
    token = users_service.create_token(session=session, user=viewer, name="t")[1]
    auth = {"Authorization": f"Bearer {token}"}
    r = client.get(f"/api/v1/accounts/{risky.account_id}/churn-risk", headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["probability"] == round(risky.probability, 6)
    assert body["model_version"] == 1 and body["horizon_days"] == 90
    assert body["drivers"] == risky.drivers
    fresh = make_account(session, name="No prediction yet")
    missing = client.get(f"/api/v1/accounts/{fresh.id}/churn-risk", headers=auth)
    assert missing.status_code == 404 and "no churn prediction yet" in missing.json()["detail"]
    assert client.get("/api/v1/accounts/acc_nope/churn-risk", headers=auth).status_code == 404
    model = client.get("/api/v1/churn/model", headers=auth).json()
    assert model["version"] == 1 and model["report"]["n_test"] == report["n_test"]
    assert client.post("/api/v1/churn/train", headers=auth).status_code == 403

    # UI: the account page, the churn page, the revenue dashboard
    login(client, make_user(session, Role.csm))
    page = soup(client.get(f"/accounts/{risky.account_id}").text)
    assert page.select_one("#churn-probability").text.strip() == f"{risky.probability * 100:.1f}%"
    assert page.select_one("#churn-band").text.strip() == risky.band
    assert len(page.select("#churn-drivers tbody tr")) == len(risky.drivers)
    assert soup(client.get(f"/accounts/{fresh.id}").text).select_one("#churn-none") is not None
    churn_page = soup(client.get("/churn").text)
    assert churn_page.select_one("#gain") is not None
    assert len(churn_page.select("#at-risk tbody tr")) == min(50, len(alive))
    revenue_page = client.get("/metrics/revenue", params={"from": "2026-01-01", "to": "2026-09-30"})
    assert revenue_page.status_code == 200
    assert soup(revenue_page.text).select_one("#nrr").text.strip().endswith("%")

    # A second training is a new version; predictions keep the version that made them.
    again = service.train(session=session, source=source, currency="USD", today=END)
    assert again.model.version == 2
    assert session.scalar(select(func.count()).select_from(ChurnModel)) == 2
    assert {p.model_version for p in session.scalars(select(ChurnPrediction))} == {1}
    assert session.get(Account, risky.account_id) is not None
