"""``boomerang churn evaluate`` on public tables nobody here wrote, and on bad input."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from boomerang.churn import model as churn_model
from boomerang.churn import tabular
from boomerang.errors import Invalid
from tests.support import run_cli

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
TELCO = DATA / "telco_churn.csv"
BANK = DATA / "bank_churn_modelling.csv"
needs_data = pytest.mark.skipif(not TELCO.is_file(), reason=f"reference data absent: {TELCO}")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["churn", "evaluate", *args], env=dict(os.environ))


@needs_data
def test_telco_is_in_the_honest_range_through_the_cli() -> None:
    done = run(str(TELCO), "--target", "Churn", "--id", "customerID", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    # Published honest held-out ROC-AUC on Telco: about 0.84-0.86 (above 0.90 means leakage).
    assert 0.83 <= out["roc_auc"] <= 0.87, out["roc_auc"]
    assert 0.55 <= out["pr_auc"] <= 0.75
    assert 0.12 <= out["brier"] <= 0.16
    assert (out["n_train"], out["n_test"]) == (4930, 2113)
    assert abs(out["positive_rate"] - 1869 / 7043) < 1e-6
    # TotalCharges is text with 11 blank cells: read as a number, blanks imputed.
    assert "TotalCharges" in out["numeric"] and "Contract" in out["categorical"]
    assert "customerID" not in out["dropped"]  # named with --id: not a feature at all
    assert out["lift_by_decile"][0]["lift"] > 2.0
    assert {d["feature"] for d in out["top_drivers"][:5]} & {"tenure", "Contract", "TotalCharges"}


@needs_data
def test_the_seed_and_split_change_the_answer_deterministically() -> None:
    frame = tabular.read_table(TELCO)
    a = tabular.evaluate(frame, target="Churn", seed=1, test_size=0.25).as_dict()
    b = tabular.evaluate(frame, target="Churn", seed=1, test_size=0.25).as_dict()
    c = tabular.evaluate(frame, target="Churn", seed=2, test_size=0.25).as_dict()
    assert a == b and a["roc_auc"] != c["roc_auc"]
    assert a["n_test"] == 1761
    # Without --id the identifier is found and left out, with the reason.
    assert "identifier" in a["dropped"]["customerID"]


@needs_data
def test_bank_ids_and_names_are_left_out_and_gbm_captures_what_is_not_linear() -> None:
    frame = tabular.read_table(BANK)
    linear = tabular.evaluate(frame, target="Exited").as_dict()
    boosted = tabular.evaluate(frame, target="Exited", kind="gbm").as_dict()
    assert set(linear["dropped"]) == {"RowNumber", "CustomerId", "Surname"}
    assert 0.72 <= linear["roc_auc"] <= 0.80
    assert boosted["roc_auc"] > linear["roc_auc"] + 0.05  # age and products are not linear


def test_contributions_add_up_to_the_probability() -> None:
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame(
        {
            "usage": rng.normal(size=n),
            "plan": rng.choice(["a", "b", "c"], n),
            "blanky": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        }
    )
    logit = 1.5 * frame["usage"] + (frame["plan"] == "c") * 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    fitted = churn_model.fit(
        frame, y, numeric=["usage", "blanky"], categorical=["plan"], kind="logistic"
    )
    base, parts = fitted.contributions(frame)
    p = fitted.probability(frame)
    assert np.allclose(1 / (1 + np.exp(-(base + parts.sum(axis=1)))), p)
    # The signal is where it was put.
    spread = np.abs(parts).mean(axis=0)
    assert spread[0] == spread.max()


def test_bad_input_is_answered_clearly(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text(
        "id,x,churn\n" + "".join(f"{i},{i % 7},{'yes' if i % 3 else 'no'}\n" for i in range(60))
    )
    missing = run(str(table), "--target", "gone", "--json")
    assert missing.returncode == 1
    assert "--target 'gone' is not a column; columns: id, x, churn" in missing.stderr
    nofile = run(str(tmp_path / "nope.csv"), "--target", "churn")
    assert nofile.returncode == 1 and "no such file" in nofile.stderr
    size = run(str(table), "--target", "churn", "--test-size", "1.5")
    assert size.returncode == 1 and "--test-size must be between" in size.stderr
    model = run(str(table), "--target", "churn", "--model", "forest")
    assert model.returncode == 1 and "--model must be logistic or gbm" in model.stderr
    three = tmp_path / "three.csv"
    three.write_text("x,churn\n" + "".join(f"{i},{['a', 'b', 'c'][i % 3]}\n" for i in range(60)))
    done = run(str(three), "--target", "churn")
    assert done.returncode == 1 and "must hold exactly two values, found 3" in done.stderr
    odd = tmp_path / "odd.csv"
    odd.write_text(
        "x,status\n" + "".join(f"{i % 10},{'gold' if i % 2 else 'silver'}\n" for i in range(60))
    )
    unclear = run(str(odd), "--target", "status")
    assert unclear.returncode == 1 and "say it with --positive VALUE" in unclear.stderr
    told = run(str(odd), "--target", "status", "--positive", "gold", "--json")
    assert told.returncode == 0, told.stderr


def test_blank_targets_are_skipped_and_counted() -> None:
    rng = np.random.default_rng(1)
    n = 200
    frame = pd.DataFrame(
        {"x": rng.normal(size=n).astype(str), "y": np.where(rng.random(n) < 0.3, "Yes", "No")}
    )
    frame.loc[:9, "y"] = ""
    out = tabular.evaluate(frame, target="y").as_dict()
    assert out["skipped_rows"] == 10 and out["n_train"] + out["n_test"] == 190
    with pytest.raises(Invalid, match="no usable feature column"):
        tabular.evaluate(frame.assign(x="1"), target="y")
