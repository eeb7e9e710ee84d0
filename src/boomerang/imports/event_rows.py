"""Where an event file's rows are: the file's own line numbers for the rows DuckDB reports.

DuckDB numbers records, not lines: it skips blank lines and reads a quoted CSV cell across
lines. The rarely taken paths that name rows (the bad rows of a refused file, the rows of a
message id given twice) number them in one ordered query, then :func:`lines_of` reads the
file with Python, only as far as the last row wanted, to turn record numbers into lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb

from boomerang.errors import Invalid
from boomerang.imports.readers import (
    FileFormat,
    Source,
    find_undecodable,
    first_read_error,
    physical_lines,
)
from boomerang.imports.readers import record_lines as _record_lines
from boomerang.imports.records.rows import MAX_REPORTED, Errors


def q(name: str) -> str:
    """An SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """An SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def short(exc: Exception) -> str:
    """The first line of an error, for people."""
    text = str(exc).strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__


def unreadable(source: Source, exc: duckdb.Error, what: str) -> Invalid:
    """DuckDB could not read the file: say on which line when Python finds it (DuckDB's
    own is that of its read buffer for a byte that is not UTF-8, and skips blank lines in
    JSON Lines), else pass on its reason."""
    bad = find_undecodable(source)  # fast, in large blocks: the usual reason
    if bad is not None:
        return Invalid(f"{source.path}: line {bad.line}: {bad.reason}")
    found = first_read_error(source)
    if found is not None:
        return Invalid(f"{source.path}: line {found.line}: {found.reason}")
    return Invalid(f"{what}: {short(exc)}")


def numbered(select: str, problem: str) -> str:
    """``select`` with each row's problem (or NULL) and its record number ``_n``."""
    return select.replace(
        " AS date\n", f" AS date, ({problem}) AS _problem, row_number() OVER () AS _n\n", 1
    )


def _in_file_order(con: duckdb.DuckDBPyConnection) -> None:
    # One thread, in order: the row numbers are the file's.
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET threads = 1")


def lines_of(
    con: duckdb.DuckDBPyConnection, source: Source, numbers: Iterable[int]
) -> dict[int, int]:
    """``{record number: line in the file}``; a record the file's reading cannot place
    keeps its number after the header (the old guess)."""
    wanted = sorted(set(numbers))
    options: dict[str, Any] = {}
    if source.format is FileFormat.csv:
        options = _csv_dialect(con, source)
    found = physical_lines(wanted, _record_lines(source, **options))
    base = 1 if source.format is FileFormat.csv else 0
    return {n: found.get(n, n + base) for n in wanted}


def _csv_dialect(con: duckdb.DuckDBPyConnection, source: Source) -> dict[str, Any]:
    """The delimiter and quote DuckDB detected, for Python's csv reader to split the same."""
    compression = "'gzip'" if source.gzip else "'none'"
    try:
        row = con.execute(
            f"SELECT Delimiter, Quote FROM sniff_csv({lit(str(source.path))}, "
            f"compression = {compression})"
        ).fetchone()
    except duckdb.Error:
        return {}
    if row is None or len(str(row[0])) != 1:
        return {}
    quote = str(row[1])
    return {"delimiter": str(row[0]), "quotechar": quote if len(quote) == 1 else None}


def collect_errors(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    select: str,
    problem: str,
    params: dict[str, Any],
    errors: Errors,
) -> None:
    """The bad rows, with their lines (rows for Parquet)."""
    rows_sql = numbered(select, problem)
    _in_file_order(con)
    count_row = con.execute(
        f"SELECT count(*) FROM ({rows_sql}) WHERE _problem IS NOT NULL", params
    ).fetchone()
    rows = con.execute(
        f"SELECT _n, _problem FROM ({rows_sql}) WHERE _problem IS NOT NULL "
        f"ORDER BY _n LIMIT {MAX_REPORTED}",
        params,
    ).fetchall()
    lines = lines_of(con, source, (int(r[0]) for r in rows))
    for number, text in rows:
        column, _, reason = str(text).partition(chr(31))
        errors.add(lines[int(number)], column, reason)
    total = int(count_row[0]) if count_row else 0
    errors.count = max(errors.count, total)


def conflict_errors(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    select: str,
    params: dict[str, Any],
    ids: list[str],
    column: str,
    errors: Errors,
) -> None:
    """Each later row of a message id whose rows differ, naming the line of its first."""
    listed = ", ".join(lit(i) for i in ids)
    _in_file_order(con)
    rows = con.execute(
        f"SELECT _n, message_id FROM ({numbered(select, 'NULL')}) "
        f"WHERE message_id IN ({listed}) ORDER BY _n",
        params,
    ).fetchall()
    lines = lines_of(con, source, (int(r[0]) for r in rows))
    first: dict[str, int] = {}
    for number, message_id in rows:
        line = lines[int(number)]
        if message_id in first:
            errors.add(
                line,
                column,
                f"message_id {message_id!r} is also on line {first[message_id]}, with "
                "other values (if the column is not a unique id, leave message_id unmapped)",
            )
        else:
            first[message_id] = line
