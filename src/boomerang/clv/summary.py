"""The RFM summary of a transaction table, as the BTYD literature (and lifetimes) uses it.

For every customer whose first purchase falls on or before the calibration end:

- ``frequency``: the number of *repeat* purchases, counted on distinct days (days with a
  purchase, minus one);
- ``recency``: the time from the first purchase to the last one (0 without repeats);
- ``T``: the time from the first purchase to the calibration end;
- ``monetary_value``: the mean spend per repeat-purchase day (amounts of one day summed, the
  first day's spend left out, 0 without repeats), as lifetimes'
  ``summary_data_from_transaction_data`` computes it.

Times are whole days divided by the unit's length (``weeks``: 7 days, ``months``: 30.4375).
Transactions after the calibration end are left out of those figures; with an observation end
the summary also counts each customer's purchase days in the holdout period (calibration end,
observation end] for validation.

Tables are read with DuckDB (CSV read as text and then typed, so that a bad value is reported
with its row; Parquet as typed), and summarised with set-based SQL: no Python loop per row or
per customer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final, Literal

import duckdb
import numpy as np
import numpy.typing as npt

from boomerang.errors import Invalid

Unit = Literal["days", "weeks", "months"]
DAYS_PER_UNIT: Final[dict[str, float]] = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12}

FloatArray = npt.NDArray[np.float64]

_PARQUET = (".parquet", ".pq", ".parq")
_INTEGER_TYPES: tuple[str, ...] = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
)


@dataclass(frozen=True)
class RFMSummary:
    """One entry per customer (sorted by customer id, numerically where ids are numbers)."""

    customer: npt.NDArray[np.str_]
    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    #: None when the table has no amount column.
    monetary_value: FloatArray | None
    unit: str
    calibration_end: date
    #: Holdout figures, only with an observation end.
    observation_end: date | None = None
    frequency_holdout: FloatArray | None = None
    monetary_value_holdout: FloatArray | None = None
    duration_holdout: float | None = None

    def __len__(self) -> int:
        return len(self.customer)


def rows_are(n: int) -> str:
    """'1 row is' or 'N rows are'."""
    return "1 row is" if n == 1 else f"{n:,} rows are"


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Source:
    """An open table: the DuckDB connection holding it as the view ``src``."""

    con: duckdb.DuckDBPyConnection
    #: How messages name it: the file's path, or "the table".
    name: str
    #: A CSV file with a header: rows are reported by their line in the file.
    csv: bool

    def column_types(self) -> dict[str, str]:
        return {str(row[0]): str(row[1]) for row in self.con.execute("DESCRIBE src").fetchall()}

    def locate(self, condition: str, raw: str) -> tuple[str, Any]:
        """Where the first row meeting ``condition`` is ("FILE, line N" for a CSV, else
        "NAME, row N"), and its ``raw`` value."""
        found = self.con.execute(
            f"SELECT rn, raw FROM (SELECT row_number() OVER () AS rn, {raw} AS raw, * FROM src) "
            f"WHERE {condition} ORDER BY rn LIMIT 1"
        ).fetchone()
        if not found:
            return self.name, None
        row = int(found[0])
        return (f"{self.name}, line {row + 1}" if self.csv else f"{self.name}, row {row}"), found[1]


@contextmanager
def open_table(source: Path | str | Any) -> Iterator[Source]:
    """``source`` opened in a fresh DuckDB connection as the view ``src``.

    ``source`` is a CSV or Parquet file (CSV columns are read as text, to be typed by the
    caller), or any in-memory table DuckDB scans (a pandas DataFrame, a pyarrow Table).
    DuckDB errors raised in the block become :class:`Invalid` naming the source.
    """
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        parquet = False
        if isinstance(source, str | Path):
            path = Path(source)
            name = str(path)
            if not path.is_file():
                raise Invalid(f"{name}: no such file")
            parquet = path.suffix.lower() in _PARQUET
            reader = (
                f"read_parquet({_literal(name)})"
                if parquet
                else f"read_csv({_literal(name)}, header = true, all_varchar = true)"
            )
            try:
                con.execute(f"CREATE VIEW src AS SELECT * FROM {reader}")
                con.execute("DESCRIBE src").fetchall()
            except duckdb.Error as exc:
                kind = "Parquet" if parquet else "CSV"
                reason = str(exc).strip().splitlines()[0]
                raise Invalid(f"{name}: cannot read it as {kind}: {reason}") from None
        else:
            name = "the table"
            con.register("src", source)
        try:
            yield Source(con, name, csv=isinstance(source, str | Path) and not parquet)
        except duckdb.Error as exc:
            reason = str(exc).strip().splitlines()[0]
            raise Invalid(f"{name}: cannot read it: {reason}") from None
    finally:
        con.close()


def require_columns(types: dict[str, str], source: str, **roles: str | None) -> None:
    """Raise Invalid naming a column asked for (``--role``) that the table lacks."""
    for role, column in roles.items():
        if column is not None and column not in types:
            similar = [c for c in types if c.lower() == column.lower()]
            hint = f" (did you mean {similar[0]!r}?)" if similar else ""
            raise Invalid(
                f"{source} has no column {column!r} (--{role.replace('_', '-')}){hint}; "
                f"its columns: {', '.join(types)}"
            )


def _date_expr(column: str, col_type: str, date_format: str | None, source: str) -> str:
    q = quote(column)
    if date_format is not None:
        return f"CAST(try_strptime(CAST({q} AS VARCHAR), {_literal(date_format)}) AS DATE)"
    if col_type == "DATE":
        return q
    if col_type.startswith("TIMESTAMP"):
        return f"CAST({q} AS DATE)"
    if col_type == "VARCHAR":
        return f"CAST(TRY_CAST({q} AS TIMESTAMPTZ) AS DATE)"
    if col_type in _INTEGER_TYPES:
        raise Invalid(
            f"{source}: column {column!r} holds numbers, not dates: give its format "
            "(--date-format, e.g. %Y%m%d)"
        )
    raise Invalid(f"{source}: column {column!r} is {col_type}, not a date")


def _number_expr(column: str, col_type: str, source: str) -> str:
    q = quote(column)
    if col_type == "VARCHAR":
        return f"TRY_CAST(trim({q}) AS DOUBLE)"
    if (
        col_type in _INTEGER_TYPES
        or col_type in ("FLOAT", "DOUBLE")
        or col_type.startswith("DECIMAL")
    ):
        return f"CAST({q} AS DOUBLE)"
    raise Invalid(f"{source}: column {column!r} is {col_type}, not a number")


def _check_typed(src: Source, checks: list[tuple[str, str, str, str]]) -> None:
    """Each check: (column, raw SQL, typed SQL, what it should be). Raise on the first bad row."""
    conditions = [f"count(*) FILTER (WHERE ({typed}) IS NULL)" for _, _, typed, _ in checks]
    counts = src.con.execute(f"SELECT {', '.join(conditions)} FROM src").fetchone() or ()
    for (column, raw, typed, what), bad in zip(checks, counts, strict=True):
        if not bad:
            continue
        where, value = src.locate(f"({typed}) IS NULL", raw)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise Invalid(f"{where}: column {column!r} is empty ({rows_are(bad)})")
        raise Invalid(f"{where}: column {column!r}: cannot read {value!r} as {what}")


def summarize(
    source: Path | str | Any,
    *,
    customer: str,
    date: str,
    calibration_end: date,
    amount: str | None = None,
    observation_end: date | None = None,
    unit: Unit = "weeks",
    date_format: str | None = None,
) -> RFMSummary:
    """The RFM summary of the transactions in ``source`` (see the module docstring).

    ``source`` is a CSV or Parquet file, or an in-memory table (pandas, pyarrow). ``date``
    may be a DATE or TIMESTAMP column or text (ISO 8601, or ``date_format`` in strptime
    notation); timestamps count by their UTC day. Raise :class:`Invalid` naming the missing
    column, the unparseable value and its row, or a negative amount and its row.
    """
    if unit not in DAYS_PER_UNIT:
        raise Invalid(f"unknown time unit {unit!r}: use one of {', '.join(DAYS_PER_UNIT)}")
    if observation_end is not None and observation_end < calibration_end:
        raise Invalid(
            f"the observation end {observation_end} is before the calibration end {calibration_end}"
        )
    per_unit = DAYS_PER_UNIT[unit]
    with open_table(source) as src:
        _load_transactions(
            src, customer=customer, date=date, amount=amount, date_format=date_format
        )
        query = _summary_sql(calibration_end, observation_end, per_unit)
        rows = src.con.execute(query).fetchnumpy()
    if len(rows["customer"]) == 0:
        raise Invalid(
            f"{src.name}: no transactions on or before the calibration end "
            f"{calibration_end.isoformat()}"
        )

    def floats(key: str) -> FloatArray:
        return np.asarray(rows[key], dtype=np.float64)

    holdout = observation_end is not None
    return RFMSummary(
        customer=np.asarray(rows["customer"], dtype=np.str_),
        frequency=floats("frequency"),
        recency=floats("recency"),
        T=floats("t"),
        monetary_value=floats("monetary") if amount is not None else None,
        unit=unit,
        calibration_end=calibration_end,
        observation_end=observation_end,
        frequency_holdout=floats("frequency_holdout") if holdout else None,
        monetary_value_holdout=(
            floats("monetary_holdout") if holdout and amount is not None else None
        ),
        duration_holdout=(
            (observation_end - calibration_end).days / per_unit
            if observation_end is not None
            else None
        ),
    )


def _load_transactions(
    src: Source, *, customer: str, date: str, amount: str | None, date_format: str | None
) -> None:
    """Check and type the table's columns into the temporary table ``tx`` (c, d, a); raise
    Invalid naming the first bad value or negative amount and its row."""
    con, name = src.con, src.name
    types = src.column_types()
    require_columns(types, name, customer=customer, date=date, amount=amount)
    cust_sql = f"CAST({quote(customer)} AS VARCHAR)"
    date_sql = _date_expr(date, types[date], date_format, name)
    what = (
        f"a date in the format {date_format}"
        if date_format
        else "a date (ISO 8601 expected; else give --date-format, e.g. %Y%m%d or %d/%m/%Y)"
    )
    checks = [
        (customer, quote(customer), cust_sql, "a customer id"),
        (date, quote(date), date_sql, what),
    ]
    amount_sql = "CAST(NULL AS DOUBLE)"
    if amount is not None:
        amount_sql = _number_expr(amount, types[amount], name)
        checks.append((amount, quote(amount), amount_sql, "a number"))
    _check_typed(src, checks)
    if amount is not None:
        negative = con.execute(f"SELECT count(*) FROM src WHERE {amount_sql} < 0").fetchone()
        if negative and negative[0]:
            where, value = src.locate(f"{amount_sql} < 0", quote(amount))
            raise Invalid(
                f"{where}: column {amount!r} is negative ({value}); "
                f"{rows_are(negative[0])}: amounts must be 0 or more"
            )
    con.execute(
        f"CREATE TEMP TABLE tx AS SELECT {cust_sql} AS c, {date_sql} AS d, "
        f"{amount_sql} AS a FROM src"
    )


def _summary_sql(calibration_end: date, observation_end: date | None, per_unit: float) -> str:
    """The query summarising ``tx`` per customer (with the holdout figures when
    ``observation_end`` is given), sorted by customer id."""
    cal = calibration_end.isoformat()
    holdout_cols = holdout_join = ""
    if observation_end is not None:
        obs = observation_end.isoformat()
        holdout_cols = (
            ", coalesce(h.n, 0) AS frequency_holdout, "
            "CASE WHEN h.n > 0 THEN h.spend / h.n ELSE 0 END AS monetary_holdout"
        )
        holdout_join = (
            "LEFT JOIN (SELECT c, count(DISTINCT d) AS n, sum(a) AS spend FROM tx "
            f"WHERE d > DATE '{cal}' AND d <= DATE '{obs}' GROUP BY c) h USING (c)"
        )
    return f"""
        WITH days AS (
            SELECT c, d, sum(a) AS a FROM tx WHERE d <= DATE '{cal}' GROUP BY c, d
        ),
        cust AS (
            SELECT c, count(*) - 1 AS frequency, min(d) AS first, max(d) AS last,
                   sum(a) - arg_min(a, d) AS repeat_spend
            FROM days GROUP BY c
        )
        SELECT c AS customer,
               CAST(frequency AS DOUBLE) AS frequency,
               date_diff('day', first, last) / {per_unit!r} AS recency,
               date_diff('day', first, DATE '{cal}') / {per_unit!r} AS t,
               CASE WHEN frequency > 0 THEN repeat_spend / frequency ELSE 0 END AS monetary
               {holdout_cols}
        FROM cust {holdout_join}
        ORDER BY TRY_CAST(c AS HUGEINT) NULLS LAST, c
        """
