"""``boomerang clv`` and ``boomerang retention`` as a user runs them: a real process on
reference data (CDNOW from the lifetimes package, the sBG example from ../shared/data)."""

from __future__ import annotations

import csv
import itertools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.clv.test_models import (
    BGNBD_LL,
    BGNBD_PUBLISHED,
    GAMMA_GAMMA_PUBLISHED,
    PARETO_LL,
    PARETO_PUBLISHED,
    SBG_PUBLISHED,
    assert_sig3,
    require_sbg_csv,
    write_cdnow_csv,
)
from tests.support import run_cli

CDNOW_ARGS = ("--customer", "customer", "--date", "date", "--date-format", "%Y%m%d")
CALIBRATION = ("--calibration-end", "1997-09-30")


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    return run_cli([str(a) for a in args], env={**env, "COLUMNS": "200"})


def run_json(*args: str | Path) -> Any:
    result = run(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def failure(*args: str | Path) -> str:
    """Run a command that must fail cleanly; return its error message."""
    result = run(*args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    return " ".join(result.stderr.split())


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cdnow_csv(tmp_path_factory.mktemp("cdnow") / "cdnow.csv")


@pytest.mark.parametrize(
    ("model", "published", "log_likelihood"),
    [("bg-nbd", BGNBD_PUBLISHED, BGNBD_LL), ("pareto-nbd", PARETO_PUBLISHED, PARETO_LL)],
)
def test_fit_purchase_models_on_cdnow(
    cdnow_csv: Path, model: str, published: dict[str, float], log_likelihood: float
) -> None:
    out = run_json("clv", "fit", cdnow_csv, *CDNOW_ARGS, *CALIBRATION, "--model", model)
    assert out["model"] == model and out["unit"] == "weeks"
    assert out["n"] == 2357 and out["customers"] == 2357
    assert list(out["params"]) == list(published)
    for name, value in published.items():
        assert_sig3(out["params"][name], value, name)
    assert abs(out["log_likelihood"] - log_likelihood) < 0.05


def test_fit_gamma_gamma_on_cdnow(cdnow_csv: Path) -> None:
    out = run_json(
        "clv",
        "fit",
        cdnow_csv,
        *CDNOW_ARGS,
        "--amount",
        "amount",
        *CALIBRATION,
        "--model",
        "gamma-gamma",
    )
    assert list(out["params"]) == ["p", "q", "gamma"]
    for name, value in GAMMA_GAMMA_PUBLISHED.items():
        assert_sig3(out["params"][name], value, name)
    assert out["n"] == 946 and out["customers"] == 2357


def test_fit_prints_a_table_without_json(cdnow_csv: Path) -> None:
    result = run(
        "clv", "fit", cdnow_csv, *CDNOW_ARGS, *CALIBRATION, "--model", "bg-nbd", "--unit", "days"
    )
    assert result.returncode == 0, result.stderr
    for word in ("bg-nbd", "alpha", "log-likelihood", "2,357"):
        assert word in result.stdout
    # alpha is in days now: 7 times the weekly one.
    alpha = next(line for line in result.stdout.splitlines() if " alpha " in line)
    assert_sig3(float(alpha.split()[-2]), BGNBD_PUBLISHED["alpha"] * 7, "alpha in days")


def test_predict_every_customer(cdnow_csv: Path, tmp_path: Path) -> None:
    out_csv = tmp_path / "predictions.csv"
    args = ("clv", "predict", cdnow_csv, *CDNOW_ARGS, "--amount", "amount", *CALIBRATION)
    out = run_json(*args, "--horizon", "6", "--discount-rate", "0.02", "--out", out_csv)
    assert out["model"] == "bg-nbd" and out["horizon_months"] == 6
    for name, value in BGNBD_PUBLISHED.items():
        assert_sig3(out["params"][name], value, name)
    customers = out["customers"]
    assert len(customers) == 2357
    assert list(customers[0]) == [
        "customer",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "probability_alive",
        "expected_purchases",
        "expected_spend",
        "clv",
    ]
    first = customers[0]
    assert first["customer"] == "0001" and first["frequency"] == 2
    assert round(first["recency"], 2) == 30.43 and round(first["T"], 2) == 38.86
    for c in customers:
        assert 0 <= c["probability_alive"] <= 1
        assert c["expected_purchases"] >= 0 and c["expected_spend"] > 0 and c["clv"] >= 0
    # Without repeat purchases, the expected spend is the population mean p gamma / (q - 1).
    gg = out["gamma_gamma"]
    newcomer = next(c for c in customers if c["frequency"] == 0)
    assert newcomer["expected_spend"] == pytest.approx(gg["p"] * gg["gamma"] / (gg["q"] - 1))
    with out_csv.open() as f:
        written = list(csv.DictReader(f))
    assert [r["customer"] for r in written] == [c["customer"] for c in customers]
    assert float(written[0]["clv"]) == pytest.approx(first["clv"])

    table = run(*args, "--model", "pareto-nbd", "--top", "3")
    assert table.returncode == 0, table.stderr
    assert "top 3 of 2,357 customers" in table.stdout and "pareto-nbd" in table.stdout


def test_retention_fit_per_cohort_matches_fader_hardie_2007() -> None:
    out = run_json(
        "retention",
        "fit",
        require_sbg_csv(),
        "--recency",
        "recency",
        "--T",
        "T",
        "--cohort",
        "cohorts",
    )
    # 7 observed renewals plus 5: the 12-year projection of the paper.
    assert out["periods"] == 12
    fits = {f["cohort"]: f for f in out["fits"]}
    assert set(fits) == {"highend", "regular"}
    for cohort, published in SBG_PUBLISHED.items():
        fit = fits[cohort]
        assert fit["n"] == 1000 and fit["log_likelihood"] < 0
        for name, value in published.items():
            assert_sig3(fit["params"][name], value, f"{cohort} {name}")
        projection = fit["projection"]
        assert [p["period"] for p in projection] == list(range(1, 13))
        survival = [p["survival"] for p in projection]
        assert all(a > b for a, b in itertools.pairwise(survival))
        assert fit["derl"]["renewals"] == 7 and fit["derl"]["value"] > 1


def test_retention_fit_all_together_as_a_table() -> None:
    result = run(
        "retention", "fit", require_sbg_csv(), "--recency", "recency", "--T", "T", "--periods", "3"
    )
    assert result.returncode == 0, result.stderr
    assert "all" in result.stdout and "alpha" in result.stdout and "2,000" in result.stdout


def test_bad_input_gives_a_clear_error(cdnow_csv: Path, tmp_path: Path) -> None:
    fit = ("clv", "fit", cdnow_csv, *CALIBRATION, "--model", "bg-nbd")
    message = failure(*fit, "--customer", "cust_id", "--date", "date")
    assert "has no column 'cust_id' (--customer)" in message and "customer, date" in message
    message = failure(*fit, "--customer", "customer", "--date", "date")
    assert "line 2: column 'date': cannot read '19970101' as a date" in message
    assert "--date-format" in message
    message = failure("clv", "fit", cdnow_csv, *CDNOW_ARGS, *CALIBRATION, "--model", "gamma-gamma")
    assert "--model gamma-gamma needs --amount" in message
    negative = tmp_path / "negative.csv"
    negative.write_text("id,day,spend\na,2024-01-01,10\na,2024-01-05,-2\n")
    message = failure(
        "clv",
        "predict",
        negative,
        "--customer",
        "id",
        "--date",
        "day",
        "--amount",
        "spend",
        "--calibration-end",
        "2024-03-01",
    )
    assert "negative.csv, line 3: column 'spend' is negative (-2)" in message
    message = failure("retention", "fit", negative, "--recency", "spend", "--T", "tenure")
    assert "has no column 'tenure' (--T)" in message
