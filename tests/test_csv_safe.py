"""The one CSV helper: formula-looking text is neutralised, numbers stay numbers, and no
CSV is written anywhere in the product without it."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from boomerang import csv_safe

SRC = Path(__file__).resolve().parents[1] / "src" / "boomerang"
HOSTILE = [
    '=HYPERLINK("http://x","click")',
    "+1+1",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\tTAB",
    "\rCR",
]


def _written(rows: list[list[Any]]) -> list[list[str]]:
    out = io.StringIO()
    csv_safe.Writer(out).writerows(rows)
    return list(csv.reader(io.StringIO(out.getvalue(), newline="")))


def test_formula_text_gets_a_quote_and_numbers_stay_numbers() -> None:
    [written] = _written([HOSTILE])
    assert written == ["'" + text for text in HOSTILE]
    [numbers] = _written([[-3.5, -42, Decimal("-0.25"), "-42", "+1.5e3", "-.5", None, True]])
    assert numbers == ["-3.5", "-42", "-0.25", "-42", "+1.5e3", "-.5", "", "True"]
    [plain] = _written([["Acme", "a=b", " =1", "O'Brien", "x-1", "", "2026-01-02"]])
    assert plain == ["Acme", "a=b", " =1", "O'Brien", "x-1", "", "2026-01-02"]
    # Text that only begins like a number is still text a spreadsheet could run.
    [mixed] = _written([["-1+cmd", "+1)", "-inf", "=1"]])
    assert mixed == ["'-1+cmd", "'+1)", "'-inf", "'=1"]


def test_dict_writer_neutralises_every_cell_and_the_header() -> None:
    out = io.StringIO()
    writer = csv_safe.DictWriter(out, fieldnames=["=name", "n"])
    writer.writeheader()
    writer.writerows([{"=name": "@me", "n": -1}, {"=name": "ok", "n": 2.5}])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["'=name", "n"],
        ["'@me", "-1"],
        ["ok", "2.5"],
    ]


WRITERS = re.compile(r"csv\.writer\(|csv\.DictWriter\(|\.to_csv\(|write_csv\(|FORMAT\s+'?csv")


def test_no_csv_is_written_without_the_helper() -> None:
    """Every CSV writer in the product is the helper's: a new one must go through it."""
    found = [
        f"{path.relative_to(SRC)}:{n}"
        for path in sorted(SRC.rglob("*.py"))
        if path.name != "csv_safe.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if WRITERS.search(line)
    ]
    assert found == []
