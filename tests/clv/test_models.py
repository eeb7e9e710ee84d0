"""The CLV and retention models against published results and against lifetimes.

Reference data, never copied into this repository:
- CDNOW as the ``lifetimes`` package (a dev dependency) ships it: CDNOW_sample.txt (the
  transactions of 2,357 customers) and cdnow_customers_summary_with_transactions.csv (their
  39-week calibration summary: x, t_x, T in weeks and mean repeat spend zbar);
- the sBG example of Fader & Hardie (2007) in ../shared/data (skipped when absent).

Published values: BG/NBD from Fader, Hardie & Lee (2005) "Counting your customers the easy
way"; Pareto/NBD from Fader & Hardie (2005) "A note on deriving the Pareto/NBD model";
Gamma-Gamma from Fader & Hardie (2013) "The Gamma-Gamma model of monetary value"; sBG from
Fader & Hardie (2007) "How to project customer retention".
"""

from __future__ import annotations

import csv
import importlib.resources
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from scipy.special import gammaln

from boomerang.clv import models, pareto_nbd, retention
from boomerang.clv.models import BGNBD, GammaGamma, ModelDoesNotSuit, ParetoNBD
from boomerang.clv.retention import ShiftedBetaGeometric
from boomerang.clv.summary import summarize
from boomerang.errors import Invalid

with warnings.catch_warnings():
    # lifetimes 0.11.3 touches a pandas option that pandas 3 deprecates.
    warnings.simplefilter("ignore")
    import lifetimes  # type: ignore[import-untyped]

# The project is laid out as <root>/main beside <root>/shared.
SHARED_DATA = Path(__file__).parents[2].parent / "shared" / "data"
SBG_CSV = SHARED_DATA / "sbg_retention_fader_hardie_2007.csv"
CALIBRATION_END = date(1997, 9, 30)

BGNBD_PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
BGNBD_LL = -9582.4
PARETO_PUBLISHED = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
PARETO_LL = -9595.0
GAMMA_GAMMA_PUBLISHED = {"p": 6.25, "q": 3.74, "gamma": 15.44}
SBG_PUBLISHED = {
    "highend": {"alpha": 0.668, "beta": 3.806},
    "regular": {"alpha": 0.704, "beta": 1.182},
}
# Fader & Hardie (2007), table 1: customers still active at years 1..7 of 1,000.
SBG_SURVIVORS = {
    "highend": [869, 743, 653, 593, 551, 517, 491],
    "regular": [631, 468, 382, 326, 289, 262, 241],
}


def lifetimes_dataset(name: str) -> Path:
    return Path(str(importlib.resources.files(lifetimes) / "datasets" / name))


def write_cdnow_csv(out: Path) -> Path:
    """CDNOW_sample.txt (whitespace-separated: master id, customer id 1..2357, YYYYMMDD, CDs,
    dollars) as a CSV with a header."""
    with lifetimes_dataset("CDNOW_sample.txt").open() as src, out.open("w", newline="") as dst:
        writer = csv.writer(dst)
        writer.writerow(["master_id", "customer", "date", "quantity", "amount"])
        writer.writerows(line.split() for line in src if line.strip())
    return out


def require_sbg_csv() -> Path:
    if not SBG_CSV.is_file():
        pytest.skip(f"reference data absent: {SBG_CSV}")
    return SBG_CSV


def assert_sig3(actual: float, published: float, what: str = "") -> None:
    """Equal to the third significant figure: within half a unit of it."""
    unit = 10.0 ** (np.floor(np.log10(abs(published))) - 2)
    assert abs(actual - published) <= unit / 2, f"{what}: {actual} vs published {published}"


@dataclass(frozen=True)
class Cdnow:
    customer: list[str]
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary_value: np.ndarray


@pytest.fixture(scope="module")
def cdnow() -> Cdnow:
    with lifetimes_dataset("cdnow_customers_summary_with_transactions.csv").open() as f:
        rows = list(csv.DictReader(f))
    return Cdnow(
        customer=[r["ID"] for r in rows],
        frequency=np.array([float(r["x"]) for r in rows]),
        recency=np.array([float(r["t_x"]) for r in rows]),
        T=np.array([float(r["T"]) for r in rows]),
        monetary_value=np.array([float(r["zbar"]) for r in rows]),
    )


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cdnow_csv(tmp_path_factory.mktemp("cdnow") / "cdnow.csv")


def _lifetimes(cls: Any, params: dict[str, float]) -> Any:
    fitter = cls()
    fitter.params_ = pd.Series(params)
    # lifetimes sets this alias in fit(); its customer_lifetime_value calls it.
    fitter.predict = getattr(fitter, "conditional_expected_number_of_purchases_up_to_time", None)
    return fitter


# --- the RFM summary ---------------------------------------------------------------------


def test_summary_reproduces_the_cdnow_calibration_summary(cdnow: Cdnow, cdnow_csv: Path) -> None:
    s = summarize(
        cdnow_csv,
        customer="customer",
        date="date",
        amount="amount",
        calibration_end=CALIBRATION_END,
        date_format="%Y%m%d",
    )
    assert len(s) == 2357 and s.unit == "weeks"
    # Ids are kept as written ("0001"); the published file numbers them 1..2357.
    assert s.customer[0] == "0001"
    assert [int(c) for c in s.customer] == [int(c) for c in cdnow.customer]
    np.testing.assert_array_equal(s.frequency, cdnow.frequency)
    np.testing.assert_array_equal(np.round(s.recency, 2), cdnow.recency)
    np.testing.assert_array_equal(np.round(s.T, 2), cdnow.T)
    assert s.monetary_value is not None
    # zbar is rounded to cents in the file.
    assert np.max(np.abs(s.monetary_value - cdnow.monetary_value)) <= 0.005 + 1e-9


def test_summary_from_an_in_memory_table_with_a_holdout(cdnow_csv: Path) -> None:
    table = pd.read_csv(cdnow_csv)  # dates as integers 19970101
    s = summarize(
        table,
        customer="customer",
        date="date",
        calibration_end=CALIBRATION_END,
        observation_end=date(1998, 6, 30),
        date_format="%Y%m%d",
        unit="days",
    )
    assert s.monetary_value is None and s.monetary_value_holdout is None
    assert s.duration_holdout == 273 and s.T.max() == 272
    assert s.frequency_holdout is not None
    # Check the holdout counts against the raw rows: distinct purchase days after the end.
    raw = table.assign(day=pd.to_datetime(table["date"].astype(str), format="%Y%m%d"))
    later = raw[raw["day"] > pd.Timestamp(CALIBRATION_END)]
    expected = later.groupby("customer")["day"].nunique()
    got = dict(zip(s.customer.tolist(), s.frequency_holdout.tolist(), strict=True))
    assert all(got[str(c)] == n for c, n in expected.items())
    assert sum(got.values()) == expected.sum()


def _tx(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tx.csv"
    path.write_text(text)
    return path


def test_summary_definitions(tmp_path: Path) -> None:
    path = _tx(
        tmp_path,
        "who,when,spend\n"
        "a,2024-01-01,10\n"
        "a,2024-01-01T15:30:00Z,5\n"  # the same day: one purchase day, 15 spent
        "a,2024-01-08,20\n"
        "a,2024-01-08,4\n"
        "a,2024-01-22,30\n"
        "a,2024-02-20,99\n"  # after the calibration end
        "b,2024-01-29,7\n"
        "c,2024-02-10,1\n",  # first purchase after the end: not a customer yet
    )
    s = summarize(
        path,
        customer="who",
        date="when",
        amount="spend",
        calibration_end=date(2024, 1, 29),
        observation_end=date(2024, 2, 29),
    )
    assert s.customer.tolist() == ["a", "b"]
    assert s.frequency.tolist() == [2, 0]
    assert s.recency.tolist() == [3, 0]  # 21 days
    assert s.T.tolist() == [4, 0]  # 28 days
    assert s.monetary_value is not None
    assert s.monetary_value.tolist() == [(24 + 30) / 2, 0]
    assert s.frequency_holdout is not None and s.frequency_holdout.tolist() == [1, 0]
    assert s.monetary_value_holdout is not None
    assert s.monetary_value_holdout.tolist() == [99, 0]
    days = summarize(
        path, customer="who", date="when", calibration_end=date(2024, 1, 29), unit="days"
    )
    assert days.recency.tolist() == [21, 0] and days.T.tolist() == [28, 0]


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("id,day\na,2024-01-01\n", {"customer": "customer"}, "has no column 'customer'"),
        ("id,day\na,2024-01-01\n", {"date": "Day"}, "did you mean 'day'?"),
        (
            "id,day,amt\na,2024-01-01,1\na,2024-13-01,2\n",
            {},
            "line 3: column 'day': cannot read '2024-13-01' as a date",
        ),
        ("id,day,amt\na,2024-01-01,1\na,,2\n", {}, "line 3: column 'day' is empty"),
        (
            "id,day,amt\na,2024-01-01,1\nb,2024-01-02,-3.5\n",
            {},
            "line 3: column 'amt' is negative (-3.5)",
        ),
        (
            "id,day,amt\na,2024-01-01,12 USD\n",
            {},
            "line 2: column 'amt': cannot read '12 USD' as a number",
        ),
        (
            "id,day\na,2025-01-01\n",
            {"amount": None},
            "no transactions on or before the calibration end",
        ),
    ],
)
def test_summary_errors_say_what_and_where(
    tmp_path: Path, text: str, kwargs: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"customer": "id", "date": "day", "amount": "amt"}
    if "amt" not in text.splitlines()[0]:
        args["amount"] = None
    args.update(kwargs)
    with pytest.raises(Invalid) as exc:
        summarize(_tx(tmp_path, text), calibration_end=date(2024, 6, 30), **args)
    assert message in exc.value.message
    assert "tx.csv" in exc.value.message


def test_summary_asks_for_a_date_format_for_numbers(cdnow_csv: Path) -> None:
    with pytest.raises(Invalid, match="--date-format"):
        summarize(
            pd.read_csv(cdnow_csv),
            customer="customer",
            date="date",
            calibration_end=CALIBRATION_END,
        )


def test_summary_reads_parquet(tmp_path: Path, cdnow_csv: Path, cdnow: Cdnow) -> None:
    path = tmp_path / "tx.parquet"
    frame = pd.read_csv(cdnow_csv)
    frame["date"] = pd.to_datetime(frame["date"].astype(str), format="%Y%m%d")
    frame.to_parquet(path)
    s = summarize(path, customer="customer", date="date", calibration_end=CALIBRATION_END)
    # Integer ids (read by pandas) sort numerically, as in the published summary.
    assert s.customer.tolist() == cdnow.customer
    np.testing.assert_array_equal(s.frequency, cdnow.frequency)
    np.testing.assert_array_equal(np.round(s.recency, 2), cdnow.recency)


# --- BG/NBD, Pareto/NBD, Gamma-Gamma against the published fits --------------------------


def test_bgnbd_fit_matches_fader_hardie_lee_2005(cdnow: Cdnow) -> None:
    fit = BGNBD.fit(cdnow.frequency, cdnow.recency, cdnow.T)
    for name, published in BGNBD_PUBLISHED.items():
        assert_sig3(fit.params[name], published, name)
    assert fit.log_likelihood == pytest.approx(BGNBD_LL, abs=0.05)
    assert fit.n == 2357
    # And the published parameters give the published log-likelihood.
    at_published = BGNBD(BGNBD_PUBLISHED).total_log_likelihood(
        cdnow.frequency, cdnow.recency, cdnow.T
    )
    assert at_published == pytest.approx(BGNBD_LL, abs=0.05)


def test_bgnbd_conditional_expectation_of_customer_1_is_the_published_one() -> None:
    # FHL (2005): a customer with x = 2, t_x = 30.43, T = 38.86 is expected to make 1.226
    # purchases in the next 39 weeks.
    expected = BGNBD(BGNBD_PUBLISHED).expected_purchases(39, 2, 30.43, 38.86)
    assert_sig3(float(expected[0]), 1.226)


def test_pareto_nbd_fit_matches_fader_hardie_2005(cdnow: Cdnow) -> None:
    fit = ParetoNBD.fit(cdnow.frequency, cdnow.recency, cdnow.T)
    for name, published in PARETO_PUBLISHED.items():
        assert_sig3(fit.params[name], published, name)
    assert fit.log_likelihood == pytest.approx(PARETO_LL, abs=0.05)
    assert fit.n == 2357


def test_gamma_gamma_fit_matches_fader_hardie_2013(cdnow: Cdnow) -> None:
    fit = GammaGamma.fit(cdnow.frequency, cdnow.monetary_value)
    for name, published in GAMMA_GAMMA_PUBLISHED.items():
        assert_sig3(fit.params[name], published, name)
    assert fit.n == 946  # the customers with at least one repeat purchase


def test_fits_from_our_own_summary_of_the_transactions(cdnow_csv: Path) -> None:
    s = summarize(
        cdnow_csv,
        customer="customer",
        date="date",
        amount="amount",
        calibration_end=CALIBRATION_END,
        date_format="%Y%m%d",
    )
    fit = BGNBD.fit(s.frequency, s.recency, s.T)
    for name, published in BGNBD_PUBLISHED.items():
        assert_sig3(fit.params[name], published, name)
    assert s.monetary_value is not None
    spend = GammaGamma.fit(s.frequency, s.monetary_value)
    for name, published in GAMMA_GAMMA_PUBLISHED.items():
        assert_sig3(spend.params[name], published, name)


# --- predictions against lifetimes --------------------------------------------------------


@pytest.mark.parametrize("horizon", [1.0, 10.0, 39.0, 52.0, 200.0])
def test_bgnbd_predictions_equal_lifetimes(cdnow: Cdnow, horizon: float) -> None:
    ours = BGNBD(BGNBD_PUBLISHED)
    theirs = _lifetimes(lifetimes.BetaGeoFitter, BGNBD_PUBLISHED)
    x, tx, t = cdnow.frequency, cdnow.recency, cdnow.T
    np.testing.assert_allclose(
        ours.expected_purchases(horizon, x, tx, t),
        theirs.conditional_expected_number_of_purchases_up_to_time(horizon, x, tx, t),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        ours.probability_alive(x, tx, t), theirs.conditional_probability_alive(x, tx, t), rtol=1e-12
    )


@pytest.mark.parametrize("horizon", [1.0, 10.0, 39.0, 52.0, 200.0])
def test_pareto_nbd_predictions_equal_lifetimes(cdnow: Cdnow, horizon: float) -> None:
    ours = ParetoNBD(PARETO_PUBLISHED)
    theirs = _lifetimes(lifetimes.ParetoNBDFitter, PARETO_PUBLISHED)
    x, tx, t = cdnow.frequency, cdnow.recency, cdnow.T
    np.testing.assert_allclose(
        ours.expected_purchases(horizon, x, tx, t),
        theirs.conditional_expected_number_of_purchases_up_to_time(horizon, x, tx, t),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        ours.probability_alive(x, tx, t), theirs.conditional_probability_alive(x, tx, t), rtol=1e-9
    )


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # inside lifetimes
def test_gamma_gamma_spend_and_clv_equal_lifetimes(cdnow: Cdnow) -> None:
    spend = GammaGamma(GAMMA_GAMMA_PUBLISHED)
    theirs_spend = _lifetimes(
        lifetimes.GammaGammaFitter,
        {
            "p": GAMMA_GAMMA_PUBLISHED["p"],
            "q": GAMMA_GAMMA_PUBLISHED["q"],
            "v": GAMMA_GAMMA_PUBLISHED["gamma"],
        },
    )
    x, tx, t, m = cdnow.frequency, cdnow.recency, cdnow.T, cdnow.monetary_value
    np.testing.assert_allclose(
        spend.expected_spend(x, m),
        theirs_spend.conditional_expected_average_profit(pd.Series(x), pd.Series(m)),
        rtol=1e-12,
    )
    for ours, cls, params in (
        (BGNBD(BGNBD_PUBLISHED), lifetimes.BetaGeoFitter, BGNBD_PUBLISHED),
        (ParetoNBD(PARETO_PUBLISHED), lifetimes.ParetoNBDFitter, PARETO_PUBLISHED),
    ):
        theirs = theirs_spend.customer_lifetime_value(
            _lifetimes(cls, params),
            pd.Series(x),
            pd.Series(tx),
            pd.Series(t),
            pd.Series(m),
            time=12,
            discount_rate=0.01,
            freq="W",
        )
        # lifetimes counts a month as 4.345 weeks.
        value = models.clv(ours, spend, x, tx, t, m, months=12, discount_rate=0.01, per_month=4.345)
        np.testing.assert_allclose(value, theirs.to_numpy(), rtol=1e-9, atol=1e-9)


def test_clv_without_discount_is_purchases_times_spend(cdnow: Cdnow) -> None:
    model, spend = BGNBD(BGNBD_PUBLISHED), GammaGamma(GAMMA_GAMMA_PUBLISHED)
    x, tx, t, m = cdnow.frequency, cdnow.recency, cdnow.T, cdnow.monetary_value
    value = models.clv(model, spend, x, tx, t, m, months=6, discount_rate=0.0, unit="weeks")
    weeks = 6 * 365.25 / 12 / 7
    expected = models.expected_purchases_grouped(model, weeks, x, tx, t) * spend.expected_spend(
        x, m
    )
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    assert np.all(
        models.clv(model, spend, x, tx, t, m)
        < models.clv(model, spend, x, tx, t, m, discount_rate=0) + 1e-12
    )


# --- numerical stability of the Pareto/NBD likelihood -------------------------------------


def _pareto_ll_by_quadrature(p: list[float], x: float, tx: float, T: float) -> float:
    """The Pareto/NBD likelihood with A0 as the integral it stands for (FH 2005, eq. 18):
    s * integral over (t_x, T] of (alpha + u)^-(r+x) (beta + u)^-(s+1) du."""
    r, alpha, s, beta = p
    integral = quad(
        lambda u: (alpha + u) ** (-(r + x)) * (beta + u) ** (-(s + 1)),
        tx,
        T,
        epsabs=0,
        epsrel=1e-12,
        limit=200,
    )[0]
    alive = (alpha + T) ** (-(r + x)) * (beta + T) ** (-s)
    return float(
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + s * np.log(beta)
        + np.log(alive + s * integral)
    )


@pytest.mark.parametrize(
    "params",
    [
        [0.553, 10.578, 0.606, 11.669],
        [0.55, 0.1, 0.6, 50.0],  # alpha << beta
        [0.55, 50.0, 0.6, 0.1],  # alpha >> beta
        [2.0, 1.0, 3.0, 1.0],  # alpha == beta
        [0.3, 5.0, 1.0, 7.0],  # s == 1
    ],
)
def test_pareto_nbd_likelihood_is_the_integral_it_stands_for(params: list[float]) -> None:
    cases = [(0, 0, 39), (1, 1, 39), (5, 38, 39), (30, 20, 39), (100, 38.9, 39), (3, 39, 39)]
    model = ParetoNBD(dict(zip(("r", "alpha", "s", "beta"), params, strict=True)))
    for x, tx, t in cases:
        ours = model.total_log_likelihood(x, tx, t)
        assert ours == pytest.approx(_pareto_ll_by_quadrature(params, x, tx, t), rel=1e-9), (
            x,
            tx,
            t,
        )


def test_predictions_stay_finite_for_heavy_buyers() -> None:
    x, tx, t = np.array([0, 500, 2000]), np.array([0, 38.0, 38.0]), np.array([39.0, 39.0, 39.0])
    for model in (
        BGNBD(BGNBD_PUBLISHED),
        ParetoNBD(PARETO_PUBLISHED),
        ParetoNBD({"r": 0.55, "alpha": 0.1, "s": 0.6, "beta": 50.0}),
    ):
        for values in (model.expected_purchases(52, x, tx, t), model.probability_alive(x, tx, t)):
            assert np.all(np.isfinite(values)) and np.all(values >= 0)


def _hyp2f1_1_by_summation(d: float, c: float, z: float) -> float:
    total, term, n = 1.0, 1.0, 0
    while term > 1e-18 * total:
        term *= (d + n) / (c + n) * z
        total += term
        n += 1
    return total


@pytest.mark.parametrize(
    ("d", "c", "z"),
    [
        (4.0, 105.0, 0.99),
        (4.0, 105.0, 0.999),
        (101.0, 104.0, 0.5),
        (1.6, 2.1, 0.9),
        (0.6, 30.0, 0.0),
    ],
)
def test_log_hyp2f1_1_where_scipy_fails(d: float, c: float, z: float) -> None:
    # SciPy's hyp2f1(1, 4, 105, 0.99) is inf; the series itself converges to 1.0396.
    assert np.exp(pareto_nbd.log_hyp2f1_1(d, c, z)) == pytest.approx(
        _hyp2f1_1_by_summation(d, c, z), rel=1e-13
    )


def _alive_purchases_by_summation(
    r: float, alpha: float, a: float, b: float, x: float, T: float, t: float
) -> float:
    """Independent of the closed form: sum over j of P(survive j-1 purchases) P(N(t) >= j),
    with p ~ Beta(a, b+x) and N(t) ~ NBD(r+x, (alpha+T)/(alpha+T+t))."""
    from scipy.special import betainc, betaln

    j = np.arange(1, 60_000, dtype=np.float64)
    survive = np.exp(betaln(a, b + x + j - 1) - betaln(a, b + x))
    return float(np.sum(survive * betainc(j, r + x, t / (alpha + T + t))))


@pytest.mark.parametrize(
    ("params", "x", "t"),
    [
        ((0.243, 4.414, 0.793, 2.426), 2, 39.0),  # CDNOW
        ((0.1, 0.1, 0.3, 0.5), 100, 520.0),  # hyp2f1 gives inf in both of its forms
        ((0.1, 0.1, 0.3, 50.0), 10, 520.0),  # the two forms disagree
        ((1.0, 0.1, 10.0, 50.0), 500, 520.0),
        ((0.243, 4.414, 0.793, 2.426), 2000, 52.0),  # a very heavy buyer
    ],
)
def test_bgnbd_expectation_over_long_horizons(
    params: tuple[float, ...], x: float, t: float
) -> None:
    model = BGNBD(dict(zip(("r", "alpha", "a", "b"), params, strict=True)))
    tx, T = min(38.0, x), 39.0
    alive = float(model.expected_purchases(t, x, tx, T)[0] / model.probability_alive(x, tx, T)[0])
    r, alpha, a, b = params
    assert alive == pytest.approx(_alive_purchases_by_summation(r, alpha, a, b, x, T, t), rel=1e-7)


def test_a_model_that_does_not_suit_the_data_says_so() -> None:
    # Everybody buys about weekly and nobody drops out: the BG/NBD maximum is not finite.
    rng = np.random.default_rng(1)
    T = rng.integers(20, 40, 500).astype(float)
    x = rng.poisson(T).astype(float)
    tx = np.where(x > 0, T - rng.exponential(0.5, 500).clip(0, 1), 0.0).clip(0)
    # Which symptom the optimiser meets first (no convergence, a parameter running off to 0 or
    # infinity) depends on the machine's floating-point path: the error's type is what is
    # promised, and every variant says that the model does not suit the data.
    with pytest.raises(ModelDoesNotSuit, match=r"(may|does) not suit these data"):
        BGNBD.fit(x, tx, T)


def test_fits_reject_impossible_input() -> None:
    with pytest.raises(Invalid, match="recency is larger than T"):
        BGNBD.fit([1, 2], [5, 1], [4, 4])
    with pytest.raises(Invalid, match="whole numbers"):
        ParetoNBD.fit([1.5, 2], [1, 1], [4, 4])
    with pytest.raises(Invalid, match="repeat purchases"):
        BGNBD.fit([0, 0], [0, 0], [4, 4])
    with pytest.raises(Invalid, match="positive mean spend"):
        GammaGamma.fit([1, 2, 3], [0.0, 5.0, 6.0])


# --- the shifted-beta-geometric model ------------------------------------------------------


def test_sbg_matches_fader_hardie_2007() -> None:
    data = retention.read_retention(require_sbg_csv(), recency="recency", T="T", cohort="cohorts")
    fits = retention.fit_cohorts(data.recency, data.T, data.cohort)
    assert set(fits) == {"highend", "regular"}
    for cohort, published in SBG_PUBLISHED.items():
        fit = fits[cohort]
        assert fit.n == 1000
        for name, value in published.items():
            assert_sig3(fit.params[name], value, f"{cohort} {name}")
        # The fitted survival curve follows the published survivors (Fader & Hardie's fig. 2).
        survival = fit.survival(np.arange(1, 8))
        np.testing.assert_allclose(survival, np.array(SBG_SURVIVORS[cohort]) / 1000, atol=0.025)


def test_sbg_identities() -> None:
    model = ShiftedBetaGeometric(SBG_PUBLISHED["highend"])
    t = np.arange(1, 30)
    survival = model.survival(t)
    # S(t) = S(t - 1) r(t) and S(t - 1) - S(t) = P(lifetime = t).
    previous = np.concatenate([[1.0], survival[:-1]])
    np.testing.assert_allclose(survival, previous * model.retention_rate(t), rtol=1e-12)
    np.testing.assert_allclose(previous - survival, model.churn_probability(t), rtol=1e-10)
    # DERL is the discounted sum it is defined as (Fader & Hardie 2010).
    for renewals in (0, 3, 7):
        n = renewals + 1
        later = np.arange(n, 5000)
        direct = np.sum(model.survival(later) / model.survival(n - 1) / 1.1 ** (later - n))
        assert model.derl(0.1, renewals) == pytest.approx(direct, rel=1e-10)


def test_sbg_reading_errors(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("rec,obs\n1,3\n4,3\n")
    with pytest.raises(Invalid, match=r"r\.csv, line 3: recency \('rec'\) is larger than T"):
        retention.read_retention(path, recency="rec", T="obs")
    path.write_text("rec,obs\n1,3\n0,3\n")
    with pytest.raises(Invalid, match=r"line 3: column 'rec' is '0': it must be a whole number"):
        retention.read_retention(path, recency="rec", T="obs")
    with pytest.raises(Invalid, match="has no column 'T'"):
        retention.read_retention(path, recency="rec", T="T")
    with pytest.raises(Invalid, match="no customer churned"):
        ShiftedBetaGeometric.fit([3, 3], [3, 3])
