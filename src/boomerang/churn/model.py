"""The churn model itself: preparation of mixed columns, the classifier, its explanation and
its evaluation. Shared by the account model and ``boomerang churn evaluate FILE``.

The default is an L2-regularised logistic regression on standardised numbers (blanks
imputed with the median, with a "was blank" indicator) and one-hot categories (rare ones
pooled). Its explanation is exact: an account's log-odds are the average account's plus one
contribution per input column, ``coefficient x (value - training mean)`` summed over the
column's encoded features, so the drivers shown add up to the probability shown. A
histogram gradient-boosting model is available for comparison (``model="gbm"``); it is
scored and evaluated the same way but has no per-prediction contributions.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from boomerang.errors import Invalid

FloatArray = npt.NDArray[np.float64]
ModelKind = Literal["logistic", "gbm"]
TRUE_WORDS = {"yes", "y", "true", "t", "1", "churned", "churn", "exited", "lost", "positive"}
FALSE_WORDS = {"no", "n", "false", "f", "0", "retained", "stayed", "active", "negative"}
BLANKS = {"", " ", "na", "n/a", "nan", "null", "none", "-"}


# -- preparing a plain table -----------------------------------------------------------------


@dataclass
class Prepared:
    """A table made ready for the model: typed columns and what was done to them."""

    frame: pd.DataFrame
    numeric: list[str]
    categorical: list[str]
    dropped: dict[str, str] = field(default_factory=dict)  # column -> why


def _blank(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip().str.lower()
    return series.isna() | text.isin(BLANKS).fillna(True)


def prepare(frame: pd.DataFrame, *, exclude: set[str] = frozenset()) -> Prepared:  # type: ignore[assignment]
    """Type each column by its contents: numbers (text that parses as numbers counts, blanks
    allowed), yes/no flags (become 0/1), categories; identifier-like and constant columns are
    dropped, with the reason."""
    out: dict[str, pd.Series] = {}
    numeric, categorical, dropped = [], [], {}
    n = len(frame)
    for name in frame.columns:
        if name in exclude:
            continue
        col = frame[name]
        blank = _blank(col)
        present = col[~blank]
        if present.empty:
            dropped[name] = "every cell is blank"
            continue
        as_number = pd.to_numeric(present.astype("string").str.strip(), errors="coerce")
        if as_number.notna().all():
            values = pd.Series(np.nan, index=col.index, dtype="float64")
            values[~blank] = as_number.astype("float64")
            whole = bool((as_number == as_number.round()).all())
            if whole and present.nunique() == n and n > 20:
                dropped[name] = "a distinct whole number on every row: an identifier"
                continue
            if values.nunique(dropna=True) < 2:
                dropped[name] = "the same value on every row"
                continue
            out[name] = values
            numeric.append(name)
            continue
        lowered = present.astype("string").str.strip().str.lower()
        words = set(lowered.unique())
        if words <= TRUE_WORDS | FALSE_WORDS and len(words) == 2:
            values = pd.Series(np.nan, index=col.index, dtype="float64")
            values[~blank] = lowered.isin(TRUE_WORDS).astype("float64")
            out[name] = values
            numeric.append(name)
            continue
        distinct = present.nunique()
        if distinct > max(50, 0.5 * n) or (distinct > 255 and distinct > 0.05 * n):
            dropped[name] = f"{distinct:,} distinct texts: an identifier, a name or free text"
            continue
        if distinct < 2:
            dropped[name] = "the same value on every row"
            continue
        text = col.astype("string").str.strip()
        text[blank] = pd.NA
        out[name] = text.astype("object").where(~blank, None)
        categorical.append(name)
    if not out:
        raise Invalid(
            "no usable feature column: " + "; ".join(f"{k}: {v}" for k, v in dropped.items())
        )
    return Prepared(pd.DataFrame(out, index=frame.index), numeric, categorical, dropped)


def target_labels(series: pd.Series, *, name: str, positive: str | None = None) -> pd.Series:
    """0/1 labels from yes/no, true/false, 1/0 (or any two values with ``positive``); blank
    targets become NA and their rows are left out by the caller."""
    blank = _blank(series)
    text = series.astype("string").str.strip()
    values = set(text[~blank].unique())
    if positive is not None:
        if positive not in values:
            raise Invalid(
                f"--positive {positive!r} does not occur in column {name!r} "
                f"(values: {', '.join(sorted(values)[:10])})"
            )
        labels = (text == positive).astype("float64")
    else:
        lowered = {v.lower() for v in values}
        if len(values) != 2:
            raise Invalid(
                f"target column {name!r} must hold exactly two values, found {len(values)}: "
                + ", ".join(sorted(values)[:10])
            )
        if not lowered <= TRUE_WORDS | FALSE_WORDS or not (lowered & TRUE_WORDS):
            raise Invalid(
                f"target column {name!r}: cannot tell which of {sorted(values)} means churned; "
                "say it with --positive VALUE"
            )
        labels = text.str.lower().isin(TRUE_WORDS).astype("float64")
    labels[blank] = np.nan
    return labels


# -- the classifier --------------------------------------------------------------------------


@dataclass
class RiskModel:
    """A fitted pipeline and what its explanation needs."""

    kind: ModelKind
    pipeline: Pipeline
    numeric: list[str]
    categorical: list[str]
    encoded_mean: FloatArray | None = None  # mean of the encoded training rows (logistic)
    groups: list[str] = field(default_factory=list)  # input column of each encoded feature

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical

    def probability(self, frame: pd.DataFrame) -> FloatArray:
        return np.asarray(self.pipeline.predict_proba(frame[self.features])[:, 1], dtype=np.float64)

    def contributions(self, frame: pd.DataFrame) -> tuple[float, FloatArray]:
        """Average log-odds and each row's contribution per input column (logistic only):
        ``base + contributions.sum(1)`` is each row's log-odds."""
        if self.kind != "logistic" or self.encoded_mean is None:
            raise Invalid("per-prediction contributions need the logistic model")
        prep = self.pipeline.named_steps["prep"]
        clf = self.pipeline.named_steps["model"]
        encoded = _dense(prep.transform(frame[self.features]))
        coef = clf.coef_[0]
        base = float(clf.intercept_[0] + coef @ self.encoded_mean)
        parts = (encoded - self.encoded_mean) * coef
        out = np.zeros((len(frame), len(self.features)))
        index = {f: i for i, f in enumerate(self.features)}
        for j, group in enumerate(self.groups):
            out[:, index[group]] += parts[:, j]
        return base, out


def _dense(matrix: Any) -> FloatArray:
    return np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix, dtype=np.float64)


def fit(
    frame: pd.DataFrame,
    labels: npt.NDArray[Any],
    *,
    numeric: list[str],
    categorical: list[str],
    kind: ModelKind = "logistic",
    seed: int = 0,
) -> RiskModel:
    """Fit the pipeline on ``frame`` (columns ``numeric + categorical``)."""
    y = np.asarray(labels, dtype=np.int64)
    if len(np.unique(y)) < 2:
        raise Invalid("the training rows hold only one outcome: nothing to learn from")
    if kind == "logistic":
        prep, model = _logistic(numeric, categorical, rows=len(frame))
    else:
        prep, model = _boosted(numeric, categorical, seed=seed)
    pipeline = Pipeline([("prep", prep), ("model", model)])
    pipeline.fit(frame[numeric + categorical], y)
    risk = RiskModel(kind=kind, pipeline=pipeline, numeric=numeric, categorical=categorical)
    if kind == "logistic":
        encoded = _dense(prep.transform(frame[numeric + categorical]))
        risk.encoded_mean = encoded.mean(axis=0)
        risk.groups = _groups(prep, numeric, categorical)
    return risk


def _logistic(
    numeric: list[str], categorical: list[str], *, rows: int
) -> tuple[ColumnTransformer, Any]:
    """Numbers imputed with the median (with a "was blank" indicator) and standardised,
    categories one-hot (those under 0.5 % of ``rows``, at least 5, pooled); an
    L2-regularised logistic regression."""
    prep = ColumnTransformer(
        [
            (
                "num",
                Pipeline(
                    [
                        (
                            "impute",
                            SimpleImputer(
                                strategy="median", add_indicator=True, keep_empty_features=True
                            ),
                        ),
                        ("scale", StandardScaler()),
                    ]
                ),
                numeric,
            ),
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="constant", fill_value="(blank)")),
                        (
                            "onehot",
                            OneHotEncoder(
                                handle_unknown="infrequent_if_exist",
                                min_frequency=max(5, int(0.005 * rows)),
                                sparse_output=False,
                            ),
                        ),
                    ]
                ),
                categorical,
            ),
        ],
        verbose_feature_names_out=False,
    )
    return prep, LogisticRegression(C=0.5, max_iter=2000)


def _boosted(
    numeric: list[str], categorical: list[str], *, seed: int
) -> tuple[ColumnTransformer, Any]:
    """Numbers as they are, categories as ordinals; histogram gradient boosting."""
    prep = ColumnTransformer(
        [
            ("num", "passthrough", numeric),
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="constant", fill_value="(blank)")),
                        (
                            "ordinal",
                            OrdinalEncoder(
                                handle_unknown="use_encoded_value",
                                unknown_value=-1,
                                encoded_missing_value=-1,
                            ),
                        ),
                    ]
                ),
                categorical,
            ),
        ],
        verbose_feature_names_out=False,
    )
    model = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=300,
        max_leaf_nodes=15,
        l2_regularization=1.0,
        categorical_features=[False] * len(numeric) + [True] * len(categorical),
        early_stopping=True,
        random_state=seed,
    )
    return prep, model


def _groups(prep: ColumnTransformer, numeric: list[str], categorical: list[str]) -> list[str]:
    """The input column behind each encoded feature, in the encoded order."""
    groups = list(numeric)
    imputer = prep.named_transformers_["num"].named_steps["impute"]
    if imputer.indicator_ is not None:
        groups += [numeric[i] for i in imputer.indicator_.features_]
    if categorical:
        encoder = prep.named_transformers_["cat"].named_steps["onehot"]
        names = encoder.get_feature_names_out(categorical)
        # get_feature_names_out prefixes each with its column: map back by category counts.
        for col, cats in zip(categorical, encoder.categories_, strict=True):
            kept = len(cats)
            if encoder.infrequent_categories_ is not None:
                infrequent = encoder.infrequent_categories_[categorical.index(col)]
                if infrequent is not None:
                    kept = kept - len(infrequent) + 1
            groups += [col] * kept
        if len(groups) != len(numeric) + (
            len(imputer.indicator_.features_) if imputer.indicator_ is not None else 0
        ) + len(names):
            raise RuntimeError("encoded feature count does not match its columns")
    return groups


# -- evaluation --------------------------------------------------------------------------


@dataclass(frozen=True)
class DecileRow:
    decile: int  # 1 = the highest predicted risk
    rows: int
    positives: int
    mean_predicted: float
    lift: float | None


def scores(labels: npt.NDArray[Any], risk: FloatArray) -> dict[str, float | None]:
    """ROC-AUC, PR-AUC (average precision) and, for probabilities in [0, 1], Brier."""
    y = np.asarray(labels, dtype=np.int64)
    if len(np.unique(y)) < 2:
        return {"roc_auc": None, "pr_auc": None, "brier": None}
    brier = None
    if risk.min() >= 0 and risk.max() <= 1:
        brier = float(brier_score_loss(y, risk))
    return {
        "roc_auc": float(roc_auc_score(y, risk)),
        "pr_auc": float(average_precision_score(y, risk)),
        "brier": brier,
    }


def deciles(labels: npt.NDArray[Any], risk: FloatArray) -> list[DecileRow]:
    """Rows by tenth of predicted risk (ties kept together by a stable sort), highest first:
    churn rate over the base rate is the lift."""
    y = np.asarray(labels, dtype=np.int64)
    if not len(y):
        return []
    order = np.argsort(-risk, kind="stable")
    base = y.mean()
    out = []
    for d, part in enumerate(np.array_split(order, 10), start=1):
        if not len(part):
            continue
        rate = y[part].mean()
        out.append(
            DecileRow(
                decile=d,
                rows=len(part),
                positives=int(y[part].sum()),
                mean_predicted=float(risk[part].mean()),
                lift=float(rate / base) if base else None,
            )
        )
    return out


def calibration(
    labels: npt.NDArray[Any], probability: FloatArray, bins: int = 10
) -> list[dict[str, Any]]:
    """Mean predicted probability against the observed rate, by bin of predicted probability."""
    y = np.asarray(labels, dtype=np.int64)
    out = []
    edges = np.linspace(0, 1, bins + 1)
    for lo, hi in itertools.pairwise(edges):
        inside = (probability >= lo) & ((probability < hi) | (hi == 1.0))
        if inside.any():
            out.append(
                {
                    "bin": f"{lo:.1f}-{hi:.1f}",
                    "rows": int(inside.sum()),
                    "mean_predicted": round(float(probability[inside].mean()), 4),
                    "observed_rate": round(float(y[inside].mean()), 4),
                }
            )
    return out


def logit(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log(p / (1 - p))
