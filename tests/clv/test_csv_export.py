"""``boomerang clv predict --out``: customer ids that look like spreadsheet formulas come out
neutralised (a leading ``'``), the numbers as numbers."""

from __future__ import annotations

import csv
import json
import random
from datetime import date, timedelta
from pathlib import Path

from tests.clv.test_cli import run

HOSTILE = [
    '=HYPERLINK("http://x","click")',
    "@SUM(1+1)",
    "+1+1",
    "-2+3+cmd|' /C calc'!A0",
    "\tTAB",
    "\rCR",
]


def _transactions(path: Path, customers: list[str]) -> Path:
    """Purchases of ``customers`` over 2024 (a BG/NBD-like process: a rate, a chance of
    dropping out after each purchase and a typical spend per customer)."""
    rng = random.Random(7)
    start = date(2024, 1, 1)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["customer", "date", "amount"])
        for name in customers:
            rate, dropout = rng.gammavariate(0.5, 1 / 20), rng.betavariate(1, 4)
            spend = rng.gammavariate(4, 10)
            day = rng.randint(0, 60)
            while day <= 364:
                when = (start + timedelta(days=day)).isoformat()
                writer.writerow([name, when, round(rng.gammavariate(6, spend / 6), 2)])
                if rng.random() < dropout:
                    break
                day += int(rng.expovariate(rate)) + 1
    return path


def test_predictions_csv_neutralises_formula_ids(tmp_path: Path) -> None:
    customers = [*HOSTILE, "-42", "acme", *(f"c{i:03d}" for i in range(150))]
    data = _transactions(tmp_path / "tx.csv", customers)
    out_csv = tmp_path / "predictions.csv"
    args = ("clv", "predict", data, "--customer", "customer", "--date", "date")
    result = run(*args, "--amount", "amount", "--calibration-end", "2024-12-31", "--json",
                 "--out", out_csv)  # fmt: skip
    assert result.returncode == 0, result.stderr
    predicted = {c["customer"]: c for c in json.loads(result.stdout)["customers"]}
    assert set(HOSTILE) <= set(predicted)  # the JSON keeps the ids as they are

    with out_csv.open(newline="") as f:
        written = {r["customer"]: r for r in csv.DictReader(f)}
    for name in HOSTILE:
        assert "'" + name in written, name
        assert name not in written
    assert {"-42", "acme"} <= set(written)  # a number-like id and a plain one: unchanged
    hyperlink = written["'" + HOSTILE[0]]
    assert float(hyperlink["clv"]) == predicted[HOSTILE[0]]["clv"]
    assert float(hyperlink["frequency"]) == predicted[HOSTILE[0]]["frequency"]
