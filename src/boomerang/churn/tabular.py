"""``boomerang churn evaluate FILE``: the churn model on a plain table someone brings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from boomerang.churn import model as churn_model
from boomerang.errors import Invalid


def read_table(path: Path) -> pd.DataFrame:
    """A CSV (any delimiter pandas sniffs as comma), Parquet or JSON-lines file, every cell
    kept as it was written (no guessing of blanks here: :func:`model.prepare` does that)."""
    if not path.is_file():
        raise Invalid(f"{path}: no such file")
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith(".parquet"):
            return pd.read_parquet(path)
        if suffixes.endswith((".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")):
            return pd.read_json(path, lines=True, dtype=False)
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=False)
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise Invalid(f"{path}: cannot read it as a table: {exc}") from None


@dataclass
class Evaluation:
    model: str
    target: str
    n_train: int
    n_test: int
    positive_rate: float
    scores: dict[str, float | None]
    deciles: list[churn_model.DecileRow]
    calibration: list[dict[str, Any]]
    numeric: list[str]
    categorical: list[str]
    dropped: dict[str, str]
    skipped_rows: int
    top_drivers: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: (None if v is None else round(v, 6)) for k, v in self.scores.items()},
            "n_train": self.n_train,
            "n_test": self.n_test,
            "positive_rate": round(self.positive_rate, 6),
            "model": self.model,
            "target": self.target,
            "numeric": self.numeric,
            "categorical": self.categorical,
            "dropped": self.dropped,
            "skipped_rows": self.skipped_rows,
            "lift_by_decile": [
                {
                    "decile": d.decile,
                    "rows": d.rows,
                    "positives": d.positives,
                    "mean_predicted": round(d.mean_predicted, 4),
                    "lift": None if d.lift is None else round(d.lift, 3),
                }
                for d in self.deciles
            ],
            "calibration": self.calibration,
            "top_drivers": self.top_drivers,
        }


def evaluate(
    frame: pd.DataFrame,
    *,
    target: str,
    id_column: str | None = None,
    test_size: float = 0.3,
    seed: int = 0,
    kind: churn_model.ModelKind = "logistic",
    positive: str | None = None,
) -> Evaluation:
    """Train on a stratified random split and score the held-out rows."""
    _check(frame, target=target, id_column=id_column, test_size=test_size)
    labels = churn_model.target_labels(frame[target], name=target, positive=positive)
    keep = labels.notna()
    skipped = int((~keep).sum())
    frame, labels = frame[keep], labels[keep].astype("int64")
    if len(frame) < 20:
        raise Invalid(f"only {len(frame)} rows with a target: too few to train and test")
    exclude = {target} | ({id_column} if id_column else set())
    prepared = churn_model.prepare(frame, exclude=exclude)
    y = labels.to_numpy()
    if np.bincount(y, minlength=2).min() < 2:
        raise Invalid(f"target column {target!r} has fewer than two rows of one outcome")
    train, test = train_test_split(
        np.arange(len(y)), test_size=test_size, random_state=seed, stratify=y
    )
    fitted = churn_model.fit(
        prepared.frame.iloc[train],
        y[train],
        numeric=prepared.numeric,
        categorical=prepared.categorical,
        kind=kind,
        seed=seed,
    )
    held = prepared.frame.iloc[test]
    probability = fitted.probability(held)
    drivers = _top_drivers(fitted, held) if kind == "logistic" else []
    return Evaluation(
        model=kind,
        target=target,
        n_train=len(train),
        n_test=len(test),
        positive_rate=float(y.mean()),
        scores=churn_model.scores(y[test], probability),
        deciles=churn_model.deciles(y[test], probability),
        calibration=churn_model.calibration(y[test], probability),
        numeric=prepared.numeric,
        categorical=prepared.categorical,
        dropped=prepared.dropped,
        skipped_rows=skipped,
        top_drivers=drivers,
    )


def _check(frame: pd.DataFrame, *, target: str, id_column: str | None, test_size: float) -> None:
    """Invalid when the target or id column is not in ``frame`` or the test size is off."""
    if target not in frame.columns:
        raise Invalid(
            f"--target {target!r} is not a column; columns: {', '.join(map(str, frame.columns))}"
        )
    if id_column is not None and id_column not in frame.columns:
        raise Invalid(
            f"--id {id_column!r} is not a column; columns: {', '.join(map(str, frame.columns))}"
        )
    if not 0.05 <= test_size <= 0.9:
        raise Invalid(f"--test-size must be between 0.05 and 0.9, got {test_size}")


def _top_drivers(fitted: churn_model.RiskModel, held: pd.DataFrame) -> list[dict[str, Any]]:
    """The ten input columns that move the held-out rows' log-odds the most, on average."""
    _, parts = fitted.contributions(held)
    spread = np.abs(parts).mean(axis=0)
    return [
        {"feature": fitted.features[i], "mean_abs_log_odds": round(float(spread[i]), 4)}
        for i in np.argsort(-spread)[:10].tolist()
    ]
