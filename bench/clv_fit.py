"""Benchmark: fit BG/NBD and Gamma-Gamma on 100,000 customers, ours against lifetimes.

Simulates customers from the BG/NBD model with the CDNOW parameters of Fader, Hardie & Lee
(2005) (r=0.243, alpha=4.414, a=0.793, b=2.426; first purchases spread over the first 12 of
39 weeks, times at day resolution as a transaction summary gives them) and their mean spend
per repeat purchase from the Gamma-Gamma model with the CDNOW parameters of Fader & Hardie
(2013) (p=6.25, q=3.74, gamma=15.44). Then fits both models on the same data in the same
run with:

- ``boomerang``: boomerang.clv.models (the unique (x, t_x, T) rows weighted by their counts);
- ``lifetimes``: lifetimes' BetaGeoFitter and GammaGammaFitter as documented (one row per
  customer): the baseline of the ratio;
- ``lifetimes-grouped``: lifetimes' BetaGeoFitter given the same unique rows and counts as
  ``weights`` (its Gamma-Gamma fit as above: mean spends are all distinct).

Prints the times, the ratio to lifetimes, both parameter sets and whether they agree to the
third significant figure (exit status 1 when they do not).

    .venv/bin/python bench/clv_fit.py [--customers 100000] [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from boomerang.clv.models import BGNBD, GammaGamma

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifetimes 0.11.3 touches a deprecated pandas option
    import lifetimes  # type: ignore[import-untyped]
    import pandas as pd

console = Console()
BGNBD_TRUE = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GAMMA_GAMMA_TRUE = {"p": 6.25, "q": 3.74, "gamma": 15.44}
WEEKS = 39.0


def simulate(n: int, seed: int) -> dict[str, np.ndarray]:
    """frequency, recency, T (weeks, rounded to days) and mean repeat spend per customer."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = BGNBD_TRUE.values()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    start = rng.integers(0, 12 * 7, n) / 7.0
    age = WEEKS - start
    x = np.zeros(n)
    tx = np.zeros(n)
    clock = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():  # one repeat purchase (or its absence) per round, for all at once
        idx = np.flatnonzero(alive)
        clock[idx] += rng.exponential(1.0 / lam[idx])
        bought = clock[idx] <= age[idx]
        buyers = idx[bought]
        x[buyers] += 1
        tx[buyers] = clock[buyers]
        alive[idx[~bought]] = False
        alive[buyers[rng.random(len(buyers)) < p[buyers]]] = False  # drops out after buying
    tx = np.floor(tx * 7) / 7  # purchase days
    pq, q, gamma = GAMMA_GAMMA_TRUE.values()
    nu = rng.gamma(q, 1.0 / gamma, n)
    spend = np.where(x > 0, rng.gamma(pq * np.maximum(x, 1), 1.0 / nu) / np.maximum(x, 1), 0.0)
    return {"frequency": x, "recency": tx, "T": age, "monetary_value": spend}


def timed(fn: Callable[[], dict[str, float]]) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    params = fn()
    return time.perf_counter() - started, params


def ours(data: dict[str, np.ndarray]) -> dict[str, Any]:
    x, tx, t, m = data["frequency"], data["recency"], data["T"], data["monetary_value"]
    bg_s, bg = timed(lambda: BGNBD.fit(x, tx, t).params)
    gg_s, gg = timed(lambda: GammaGamma.fit(x, m).params)
    return {"bg_seconds": bg_s, "gg_seconds": gg_s, "bg": bg, "gg": gg}


def _lifetimes_gg(data: dict[str, np.ndarray]) -> dict[str, float]:
    repeat = data["frequency"] > 0
    fitter = lifetimes.GammaGammaFitter()
    fitter.fit(pd.Series(data["frequency"][repeat]), pd.Series(data["monetary_value"][repeat]))
    params = fitter.params_
    return {"p": float(params["p"]), "q": float(params["q"]), "gamma": float(params["v"])}


def _bg_params(fitter: Any) -> dict[str, float]:
    return {k: float(fitter.params_[k]) for k in ("r", "alpha", "a", "b")}


def theirs(data: dict[str, np.ndarray], grouped: bool) -> dict[str, Any]:
    x, tx, t = data["frequency"], data["recency"], data["T"]

    def bg() -> dict[str, float]:
        fitter = lifetimes.BetaGeoFitter()
        if grouped:
            rows, counts = np.unique(np.column_stack([x, tx, t]), axis=0, return_counts=True)
            fitter.fit(
                pd.Series(rows[:, 0]),
                pd.Series(rows[:, 1]),
                pd.Series(rows[:, 2]),
                weights=pd.Series(counts),
            )
        else:
            fitter.fit(pd.Series(x), pd.Series(tx), pd.Series(t))
        return _bg_params(fitter)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg_s, bg_params = timed(bg)
        gg_s, gg_params = timed(lambda: _lifetimes_gg(data))
    return {"bg_seconds": bg_s, "gg_seconds": gg_s, "bg": bg_params, "gg": gg_params}


def same_to_3_figures(a: dict[str, float], b: dict[str, float]) -> bool:
    for k, ref in b.items():
        unit = 10.0 ** (np.floor(np.log10(abs(ref))) - 2)
        if abs(a[k] - ref) > unit / 2:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    data = simulate(args.customers, args.seed)
    unique = len(
        np.unique(np.column_stack([data["frequency"], data["recency"], data["T"]]), axis=0)
    )
    repeaters = int(np.sum(data["frequency"] > 0))
    console.print(
        f"{args.customers:,} simulated customers, {unique:,} unique (x, t_x, T) rows, "
        f"{repeaters:,} with repeat purchases, {int(data['frequency'].sum()):,} repeat purchases"
    )
    results = {
        "boomerang": ours(data),
        "lifetimes": theirs(data, grouped=False),
        "lifetimes-grouped": theirs(data, grouped=True),
    }
    base = results["lifetimes"]
    base_total = base["bg_seconds"] + base["gg_seconds"]
    table = Table(title="fit BG/NBD + Gamma-Gamma")
    for col in ("contender", "BG/NBD s", "Gamma-Gamma s", "total s", "vs lifetimes"):
        table.add_column(col, justify="left" if col == "contender" else "right")
    for name, r in results.items():
        total = r["bg_seconds"] + r["gg_seconds"]
        table.add_row(
            name,
            f"{r['bg_seconds']:.3f}",
            f"{r['gg_seconds']:.3f}",
            f"{total:.3f}",
            f"{total / base_total:.3f}x",
        )
    console.print(table)

    params = Table(title="parameters (simulated with the CDNOW values)")
    params.add_column("parameter")
    params.add_column("true", justify="right")
    for name in results:
        params.add_column(name, justify="right")
    truth = {**BGNBD_TRUE, **GAMMA_GAMMA_TRUE}
    for key, true in truth.items():
        model = "bg" if key in BGNBD_TRUE else "gg"
        params.add_row(key, f"{true:g}", *(f"{r[model][key]:.5g}" for r in results.values()))
    console.print(params)

    mine = results["boomerang"]
    agree = all(
        same_to_3_figures(mine[m], results[other][m])
        for other in ("lifetimes", "lifetimes-grouped")
        for m in ("bg", "gg")
    )
    speedup = base_total / (mine["bg_seconds"] + mine["gg_seconds"])
    console.print(
        f"boomerang {speedup:.1f}x faster than lifetimes "
        f"(BG/NBD {base['bg_seconds'] / mine['bg_seconds']:.1f}x, "
        f"Gamma-Gamma {base['gg_seconds'] / mine['gg_seconds']:.1f}x); "
        f"parameters agree to 3 significant figures: {agree}"
    )
    if not agree:
        sys.exit(1)


if __name__ == "__main__":
    main()
