"""Scorecards load from YAML; a wrong one is refused naming the file, line and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from boomerang.errors import Invalid
from boomerang.health import scorecard
from boomerang.health.scorecard import Bands, Categorical, Linear, MeasureKind
from boomerang.health.scoring import rollup, score_values

DEFAULT = scorecard.default()


def test_the_shipped_scorecard_loads() -> None:
    card = DEFAULT.scorecard
    assert card.name == "default"
    assert {m.kind for m in card.measures} >= {
        MeasureKind.active_days,
        MeasureKind.usage_trend,
        MeasureKind.adoption_breadth,
        MeasureKind.support_burden,
        MeasureKind.billing_overdue,
        MeasureKind.relationship,
        MeasureKind.engagement,
    }
    assert len(DEFAULT.digest) == 64


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("worst: 4, best: 20", "worst: 4, best: 4", ":21: categories[0].measures[0].scoring: "),
        ("kind: recency", "kind: recenty", ":33: categories[0].measures[2].kind: Input should be"),
        ("        weight: 15\n", "        weight: -1\n", ":34: categories[0].measures[2].weight:"),
        ("colours: {red: 50, yellow: 75}", "colours: {red: 80, yellow: 75}", ":11: colours: "),
        ("key: recency", "key: active_days", "measure key 'active_days' is used twice"),
        (
            "features: [Report Created, Comment Added, Export Generated, Workflow Automated, "
            "Integration Connected]",
            "features: []",
            ":37: categories[0].measures[3]: Value error, a feature_depth measure needs",
        ),
        (
            "        missing: 0\n  - name: Adoption",
            "        colour: red\n  - name: Adoption",
            ":44: categories[0].measures[3].colour: Extra inputs are not permitted",
        ),
        ("{below: 8, score: 75}", "{below: 1, score: 75}", "ascending order"),
        ("name: default", "name: Default Card", ":9: name: String should match pattern"),
        ("missing: skip", "missing: sometimes", "missing"),
    ],
)
def test_errors_point_at_the_line_and_field(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in DEFAULT.source
    path = tmp_path / "card.yaml"
    path.write_text(DEFAULT.source.replace(old, new, 1))
    with pytest.raises(Invalid) as caught:
        scorecard.load_file(path)
    assert caught.value.message.startswith(str(path))
    assert message in caught.value.message


def test_broken_yaml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "card.yaml"
    path.write_text("name: x\ncategories: [\n")
    with pytest.raises(Invalid, match=r"card.yaml:3: not valid YAML"):
        scorecard.load_file(path)
    with pytest.raises(Invalid, match="cannot read the scorecard"):
        scorecard.load_file(tmp_path / "nope.yaml")


def test_scoring_functions() -> None:
    raw = np.array([np.nan, -1.0, 0.0, 5.0, 10.0, 20.0])
    linear = Linear(type="linear", worst=0, best=10)
    assert score_values(linear, raw).tolist()[1:] == [0.0, 0.0, 50.0, 100.0, 100.0]
    # Less is better: worst above best.
    falling = Linear(type="linear", worst=10, best=0)
    assert score_values(falling, raw).tolist()[1:] == [100.0, 100.0, 50.0, 0.0, 0.0]
    bands = Bands.model_validate(
        {
            "type": "bands",
            "bands": [{"below": 0, "score": 5}, {"below": 10, "score": 60}],
            "otherwise": 90,
        }
    )
    assert score_values(bands, raw).tolist()[1:] == [5.0, 60.0, 60.0, 90.0, 90.0]
    cats = Categorical(type="categorical", values={"0": 0, "5": 70}, otherwise=40)
    assert score_values(cats, raw).tolist()[1:] == [40.0, 0.0, 70.0, 40.0, 40.0]
    for scoring in (linear, bands, cats):
        assert np.isnan(score_values(scoring, raw)[0])


def test_rollup_renormalises_skipped_measures_and_categories() -> None:
    card = scorecard.Scorecard.model_validate(
        {
            "name": "t",
            "categories": [
                {
                    "name": "Usage",
                    "weight": 3,
                    "measures": [
                        {
                            "key": "a",
                            "kind": "active_days",
                            "weight": 1,
                            "scoring": {"type": "linear", "worst": 0, "best": 100},
                        },
                        {
                            "key": "b",
                            "kind": "active_users",
                            "weight": 3,
                            "scoring": {"type": "linear", "worst": 0, "best": 100},
                        },
                    ],
                },
                {
                    "name": "Support",
                    "weight": 1,
                    "measures": [
                        {
                            "key": "c",
                            "kind": "support_burden",
                            "weight": 1,
                            "missing": 20,
                            "scoring": {"type": "linear", "worst": 0, "best": 100},
                        },
                    ],
                },
            ],
        }
    )
    raw = {
        "a": np.array([100.0, np.nan, np.nan]),
        "b": np.array([0.0, 60.0, np.nan]),
        "c": np.array([40.0, np.nan, np.nan]),
    }
    r = rollup(card, raw)
    # Account 0: usage (1*100 + 3*0)/4 = 25, support 40 -> (3*25 + 1*40)/4 = 28.75.
    # Account 1: a skipped -> usage 60; c missing -> 20: (3*60 + 20)/4 = 50.
    # Account 2: usage skipped entirely -> support alone: 20.
    assert r.total.tolist() == [28.75, 50.0, 20.0]
    assert np.allclose(r.weights.sum(axis=1), 1.0)
    assert r.weights[0].tolist() == [0.1875, 0.5625, 0.25]
    assert r.weights[2].tolist() == [0.0, 0.0, 1.0]
    assert np.allclose(r.contribution().sum(axis=1), r.total)
