"""Back-testing: the weight suggestion on made-up data whose answer is known, and the
default scorecard on the demo company, end to end through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from boomerang.health import scorecard, scoring, weights
from tests.support import run_cli

CARD = scorecard.default().scorecard
KEYS = [m.key for m in CARD.measures]


def test_reweighted_card_scores_with_exactly_those_weights() -> None:
    wanted = np.linspace(1, 9, len(KEYS))
    wanted = wanted / wanted.sum()
    variant = weights.reweighted(CARD, wanted)
    raw = {k: np.array([0.5]) for k in KEYS}
    assert np.allclose(scoring.rollup(variant, raw).weights[0], wanted)


def _synthetic(signal: bool, seed: int = 0):  # type: ignore[no-untyped-def]
    """12 days x 300 accounts; with ``signal``, churners score low on one measure only."""
    rng = np.random.default_rng(seed)
    days, labels, raws = [], [], []
    for d in range(12):
        churn = rng.random(300) < 0.1
        raw = {}
        for m in CARD.measures:
            # Raw values mid-range of each measure's scoring, so scores spread over 0-100.
            raw[m.key] = rng.uniform(0, 1, 300)
        if signal:
            raw["billing_overdue"] = np.where(churn, rng.uniform(30, 90, 300), 0.0)
        raws.append(raw)
        days += [date(2026, 1, 1) + timedelta(days=30 * d)] * 300
        labels += churn.astype(int).tolist()
    rolled = [scoring.rollup(CARD, r) for r in raws]
    return dict(
        card=CARD,
        raw=raws,
        days=np.array(days, dtype=object),
        label=np.array(labels),
        scores=np.vstack([r.scores for r in rolled]),
        weights=np.vstack([r.weights for r in rolled]),
        total=np.concatenate([r.total for r in rolled]),
    )


def test_a_measure_that_foretells_churn_gets_the_weight() -> None:
    sug = weights.suggest(**_synthetic(signal=True))
    assert sug is not None
    assert max(sug.fitted, key=lambda k: sug.fitted[k]) == "billing_overdue"
    assert sug.moved > 0 and sug.better
    assert sug.auc_suggested_test is not None and sug.auc_current_test is not None
    assert sug.auc_suggested_test > sug.auc_current_test
    assert sug.suggested["billing_overdue"] > sug.current["billing_overdue"]
    assert abs(sum(sug.suggested.values()) - 1) < 1e-3


def test_noise_leaves_the_weights_alone() -> None:
    sug = weights.suggest(**_synthetic(signal=False, seed=3))
    assert sug is not None
    assert sug.moved == 0 and not sug.better
    assert sug.suggested == sug.current
    assert sug.auc_suggested_test == sug.auc_current_test


def test_default_scorecard_separates_churners_on_the_demo_company(
    tmp_path: Path, demo_company: Callable[..., Path]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    data_dir = demo_company("--end", "2026-11-01", into=tmp_path)
    env.update(BOOMERANG_DATA_DIR=str(data_dir))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(args, env=env)

    done = run("health", "backtest", "--until", "2026-11-01", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["observations"] == sum(c["observations"] for c in report["colours"])
    assert report["churned"] == sum(c["churned"] for c in report["colours"]) > 50
    rates = {c["colour"]: c["churn_rate"] for c in report["colours"]}
    # Clearly separated: a fair AUC, and red churns far more often than green.
    assert report["roc_auc"] >= 0.72, report["roc_auc"]
    assert rates["red"] > rates["yellow"] > 2 * rates["green"]
    assert rates["red"] > 4 * rates["green"]
    sug = report["suggestion"]
    assert sug["roc_auc_suggested_test"] >= sug["roc_auc_current_test"]
    assert report["days"][-1] == "2026-08-03"  # a 90-day horizon before --until

    too_long = run("health", "backtest", "--horizon", "700", "--until", "2026-11-01")
    assert too_long.returncode == 1
    assert "not enough history to back-test with a 700-day horizon" in too_long.stderr
