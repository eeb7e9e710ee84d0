"""Every CSV the product writes goes through here, safe to open in a spreadsheet.

A cell whose text begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a
formula to Excel, LibreOffice and Google Sheets (``=HYPERLINK("http://x", "click")``,
``-2+3+cmd|' /C calc'!A0``), and the text of a CSV often comes from people outside the
company (customer ids, account names sent with a write key). Such a cell is written with a
leading ``'`` (OWASP's advice), which spreadsheets show as text. Numbers stay numbers: a
value of type int, float or Decimal is written as it is, and so is a string that is just a
number (``-42``, ``+1.5e3``), which no spreadsheet reads as anything but that number.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def cell(value: Any) -> Any:
    """``value`` as a CSV cell that no spreadsheet runs: text beginning like a formula
    gets a leading ``'``; None, numbers and number-like text are left alone."""
    if value is None or isinstance(value, (int, float, Decimal)):
        return value
    text = str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def row(values: Iterable[Any]) -> list[Any]:
    """Every cell of a row made safe (see :func:`cell`)."""
    return [cell(v) for v in values]


class Writer:
    """``csv.writer`` whose every cell is made safe (see :func:`cell`)."""

    def __init__(self, f: IO[str], **options: Any) -> None:
        self._writer = csv.writer(f, **options)

    def writerow(self, values: Iterable[Any]) -> None:
        self._writer.writerow(row(values))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for values in rows:
            self.writerow(values)


class DictWriter:
    """``csv.DictWriter`` whose every cell (header included) is made safe."""

    def __init__(self, f: IO[str], fieldnames: Collection[str], **options: Any) -> None:
        self.fieldnames = list(fieldnames)
        self._writer = csv.DictWriter(f, fieldnames=self.fieldnames, **options)

    def writeheader(self) -> None:
        self._writer.writerow({name: cell(name) for name in self.fieldnames})

    def writerow(self, values: Mapping[str, Any]) -> None:
        self._writer.writerow({key: cell(value) for key, value in values.items()})

    def writerows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for values in rows:
            self.writerow(values)
