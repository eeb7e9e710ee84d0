"""The model lab over HTTP: the API and the web form, with bad uploads refused."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import make_user
from tests.web.test_ui import csrf, login, soup

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
TELCO = DATA / "telco_churn.csv"
SBG = DATA / "sbg_retention_fader_hardie_2007.csv"
needs_data = pytest.mark.skipif(not SBG.is_file(), reason=f"reference data absent: {SBG}")


def _auth(session: Session) -> dict[str, str]:
    user = make_user(session, Role.viewer)
    return {
        "Authorization": f"Bearer {users_service.create_token(session=session, user=user, name='t')[1]}"
    }


def _transactions() -> bytes:
    """300 customers buying at their own rate for a while, then stopping."""
    rng = np.random.default_rng(4)
    lines = ["customer,day,amount"]
    start = date(2024, 1, 1)
    for c in range(300):
        rate, life = rng.gamma(0.8, 0.05), rng.exponential(200)
        day = float(rng.integers(0, 60))
        while day < min(life, 540):
            lines.append(f"c{c},{start + timedelta(days=int(day))},{rng.gamma(4, 10):.2f}")
            day += rng.exponential(1 / max(rate, 1e-3))
    return ("\n".join(lines) + "\n").encode()


@needs_data
def test_api_runs_each_analysis(session: Session, client: TestClient) -> None:
    auth = _auth(session)
    with SBG.open("rb") as f:
        r = client.post(
            "/api/v1/lab/retention-fit",
            headers=auth,
            data={"recency": "recency", "T": "T", "cohort": "cohorts"},
            files={"file": ("sbg.csv", f, "text/csv")},
        )
    assert r.status_code == 200, r.text
    fits = {f["cohort"]: f["params"] for f in r.json()["fits"]}
    assert (
        round(fits["highend"]["alpha"], 3) == 0.668 and round(fits["regular"]["beta"], 3) == 1.182
    )
    with TELCO.open("rb") as f:
        r = client.post(
            "/api/v1/lab/churn-evaluate",
            headers=auth,
            data={"target": "Churn", "id": "customerID"},
            files={"file": ("telco.csv", f, "text/csv")},
        )
    assert r.status_code == 200, r.text
    assert 0.83 <= r.json()["roc_auc"] <= 0.87
    tx = _transactions()
    r = client.post(
        "/api/v1/lab/clv-fit",
        headers=auth,
        data={
            "customer": "customer",
            "date": "day",
            "calibration_end": "2025-03-31",
            "model": "bg-nbd",
        },
        files={"file": ("tx.csv", io.BytesIO(tx), "text/csv")},
    )
    assert r.status_code == 200, r.text
    assert set(r.json()["params"]) == {"r", "alpha", "a", "b"} and r.json()["customers"] > 250
    r = client.post(
        "/api/v1/lab/clv-predict",
        headers=auth,
        data={
            "customer": "customer",
            "date": "day",
            "amount": "amount",
            "calibration_end": "2025-03-31",
        },
        files={"file": ("tx.csv", io.BytesIO(tx), "text/csv")},
    )
    assert r.status_code == 200, r.text
    rows = r.json()["customers"]
    assert all(0 <= c["probability_alive"] <= 1 for c in rows)


def test_bad_uploads_change_nothing_and_say_why(session: Session, client: TestClient) -> None:
    auth = _auth(session)
    assert client.post("/api/v1/lab/retention-fit", data={"recency": "r"}).status_code == 401
    none = client.post("/api/v1/lab/retention-fit", headers=auth, data={"recency": "r", "T": "T"})
    assert none.status_code == 422 and "file: choose a file" in none.json()["detail"]
    exe = client.post(
        "/api/v1/lab/churn-evaluate",
        headers=auth,
        data={"target": "x"},
        files={"file": ("x.exe", io.BytesIO(b"MZ"), "application/octet-stream")},
    )
    assert (
        exe.status_code == 422 and "is not a .csv, .parquet or .jsonl file" in exe.json()["detail"]
    )
    empty = client.post(
        "/api/v1/lab/churn-evaluate",
        headers=auth,
        data={"target": "x"},
        files={"file": ("x.csv", io.BytesIO(b""), "text/csv")},
    )
    assert empty.status_code == 422 and "the file is empty" in empty.json()["detail"]
    missing = client.post(
        "/api/v1/lab/clv-fit",
        headers=auth,
        data={"customer": "customer", "date": "day", "model": "bg-nbd"},
        files={"file": ("tx.csv", io.BytesIO(b"customer,day\na,2024-01-01\n"), "text/csv")},
    )
    assert missing.status_code == 422 and "calibration_end: required" in missing.json()["detail"]
    bad_date = client.post(
        "/api/v1/lab/clv-fit",
        headers=auth,
        data={"customer": "customer", "date": "day", "model": "bg-nbd", "calibration_end": "soon"},
        files={"file": ("tx.csv", io.BytesIO(b"customer,day\na,2024-01-01\n"), "text/csv")},
    )
    assert bad_date.status_code == 422 and "'soon' is not a date" in bad_date.json()["detail"]
    unknown = client.post("/api/v1/lab/forecast", headers=auth, data={})
    assert unknown.status_code == 422 and "is not one of" in unknown.json()["detail"]


@needs_data
def test_the_lab_page(session: Session, client: TestClient) -> None:
    login(client, make_user(session, Role.csm))
    token = csrf(client, "/lab")
    with SBG.open("rb") as f:
        r = client.post(
            "/lab/retention-fit",
            data={"csrf_token": token, "recency": "recency", "T": "T", "cohort": "cohorts"},
            files={"file": ("sbg.csv", f, "text/csv")},
        )
    assert r.status_code == 200, r.text
    rows = soup(r.text).select("#fits tbody tr")
    assert [row["data-cohort"] for row in rows] == ["highend", "regular"]
    bad = client.post(
        "/lab/retention-fit",
        data={"csrf_token": token, "recency": "nope", "T": "T"},
        files={"file": ("sbg.csv", io.BytesIO(SBG.read_bytes()), "text/csv")},
    )
    assert bad.status_code == 422
    assert "nope" in soup(bad.text).select_one("#lab-error").text
    forged = client.post(
        "/lab/retention-fit",
        data={"csrf_token": "forged", "recency": "recency", "T": "T"},
        files={"file": ("sbg.csv", io.BytesIO(SBG.read_bytes()), "text/csv")},
    )
    assert forged.status_code == 403
