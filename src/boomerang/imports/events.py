"""Importing events: one streaming DuckDB query from the file to staged Parquet, then one commit.

The file is never loaded whole: DuckDB reads it, maps and validates each row, and writes the
rows into day-partitioned Parquet in a staging directory with bounded memory. A row with a
problem gets no day, so it lands in a ``date=NULL`` partition; seeing one after the copy
means the file is refused (the staging directory is deleted and a second, rarely taken
query lists the bad rows with their line numbers and reasons, :mod:`.event_rows`). A clean
file loses the events the store already holds and its own repeats (:mod:`.event_dedupe`:
each ``message_id`` is stored once) and is made live in one atomic manifest commit
(:meth:`EventStore.adopt`): readers see all of it or none.

Event times are kept to 1970-01-01..2200-12-31, as every other import time
(:data:`boomerang.imports.values.MIN_TIME`).
"""

from __future__ import annotations

import contextlib
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from boomerang.errors import Invalid
from boomerang.events.store import EventStore
from boomerang.events.types import EVENT_TYPES
from boomerang.imports import event_dedupe
from boomerang.imports.event_rows import collect_errors, conflict_errors, unreadable
from boomerang.imports.event_rows import lit as _lit
from boomerang.imports.event_rows import q as _q
from boomerang.imports.mapping import Mapping
from boomerang.imports.readers import FileFormat, Source
from boomerang.imports.records.rows import Counts, Errors, Resolved
from boomerang.imports.values import DAY_RANGE, MAX_TIME, MIN_TIME

Progress = Callable[[float], None]

TEXT_FIELDS = ("message_id", "type", "event", "name", "user_id", "anonymous_id", "group_id")
FIELDS = (*TEXT_FIELDS, "timestamp", "properties", "context", "subscription")
FIELD_HELP = {
    "message_id": "unique id of the event (else one from the row's content); stored once",
    "type": "track (default), page, screen, identify, group or alias",
    "event": "the event name (required for track)",
    "name": "page or screen name",
    "user_id": "the user's id",
    "anonymous_id": "an anonymous id (a user_id or anonymous_id or group_id is required)",
    "group_id": "the account's external id",
    "timestamp": "when it happened: ISO 8601, a date, or epoch seconds/milliseconds",
    "properties": "a JSON object column (else properties.NAME columns, else every unmapped column)",
    "context": "a JSON object column",
    "subscription": "a subscription external id; its account becomes group_id",
}
MAX_ID = 200
EPOCH_MS_FROM = 100_000_000_000


def _reader(source: Source) -> str:
    path = _lit(str(source.path))
    compression = "'gzip'" if source.gzip else "'none'"
    if source.format is FileFormat.parquet:
        return f"read_parquet({path})"
    if source.format is FileFormat.csv:
        return f"read_csv({path}, header = true, all_varchar = true, compression = {compression})"
    return (
        f"read_json({path}, format = 'newline_delimited', compression = {compression}, "
        "sample_size = 20000, union_by_name = true)"
    )


def _connect(memory_limit: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = {_lit(memory_limit)}")
    # Order inside the output does not matter; not preserving it lets DuckDB stream.
    con.execute("SET preserve_insertion_order = false")
    # Rows buffered per day before they are written: bounds memory when a file spans
    # many days.
    con.execute("SET partitioned_write_flush_threshold = 16384")
    # Progress is read with query_progress() for our own bar; DuckDB prints nothing.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return con


def _describe(con: duckdb.DuckDBPyConnection, source: Source) -> dict[str, str]:
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {_reader(source)}").fetchall()
    except duckdb.Error as exc:
        raise unreadable(source, exc, f"{source.path}: cannot read the file") from None
    return {str(r[0]): str(r[1]) for r in rows}


def _text_expr(column: str) -> str:
    return f"nullif(trim(CAST({_q(column)} AS VARCHAR)), '')"


def _timestamp_expr(column: str, dtype: str) -> str:
    c = _q(column)
    upper = dtype.upper()
    if upper.startswith("TIMESTAMP") or upper == "DATE":
        return f"CAST({c} AS TIMESTAMPTZ)"
    if any(t in upper for t in ("INT", "DOUBLE", "FLOAT", "DECIMAL", "REAL")):
        return _epoch(f"CAST({c} AS DOUBLE)")
    text = f"trim(CAST({c} AS VARCHAR))"
    return (
        f"coalesce(try_cast({text} AS TIMESTAMPTZ), "
        f"CASE WHEN regexp_full_match({text}, '-?[0-9]+(\\.[0-9]+)?') THEN "
        f"{_epoch(f'try_cast({text} AS DOUBLE)')} END)"
    )


def _epoch(x: str) -> str:
    """Epoch seconds or milliseconds (by magnitude) as a time; NULL when out of range."""
    return (
        f"try(to_timestamp(CASE WHEN abs({x}) >= {EPOCH_MS_FROM} THEN {x} / 1000.0 ELSE {x} END))"
    )


def _json_expr(column: str, dtype: str) -> str:
    c = _q(column)
    upper = dtype.upper()
    if upper.startswith(("STRUCT", "MAP")):
        return f"CAST(to_json({c}) AS VARCHAR)"
    return f"nullif(trim(CAST({c} AS VARCHAR)), '')"


def _csv_json(column: str) -> str:
    """A CSV cell as JSON: numbers and true/false typed, blank as null, the rest a string."""
    c = _q(column)
    return (
        f"CASE WHEN {c} IS NULL OR trim({c}) = '' THEN NULL "
        f"WHEN regexp_full_match({c}, '-?(0|[1-9][0-9]{{0,15}})(\\.[0-9]+)?') THEN json({c}) "
        f"WHEN lower({c}) IN ('true', 'false') THEN json(lower({c})) ELSE to_json({c}) END"
    )


def leftover_columns(columns: dict[str, str], resolved: Resolved) -> list[str]:
    """The columns no field reads: they become the properties unless some are mapped."""
    used = set(resolved.columns.values())
    return [c for c in columns if c not in used]


def resolve(columns: dict[str, str], mapping: Mapping) -> Resolved:
    """Which file column feeds which event field."""
    resolved: dict[str, str] = {}
    for target, column in mapping.columns.items():
        if target not in FIELDS and not target.startswith("properties."):
            raise Invalid(
                f"--map: events have no field {target!r}; fields: {', '.join(FIELDS)}, "
                "properties.NAME"
            )
        if column not in columns:
            raise Invalid(
                f"--map {target}={column}: the file has no column {column!r} "
                f"(its columns: {', '.join(columns) or 'none'})"
            )
        resolved[target] = column
    for name in FIELDS:
        if name not in resolved and name in columns and name not in mapping.columns.values():
            resolved[name] = name
    for name in mapping.defaults:
        if name not in TEXT_FIELDS:
            raise Invalid(f"defaults: only text fields take defaults: {', '.join(TEXT_FIELDS)}")
    if "timestamp" not in resolved:
        raise Invalid(
            "no column for 'timestamp' (when it happened): the file's columns are "
            f"{', '.join(columns)}; map one with --map timestamp=COLUMN"
        )
    used = set(resolved.values())
    leftovers = [c for c in columns if c not in used]
    explicit = "properties" in resolved or any(t.startswith("properties.") for t in resolved)
    # Without a properties mapping, every other column is kept as a property.
    return Resolved(columns=resolved, ignored=leftovers if explicit else [])


def _select(
    source: Source, columns: dict[str, str], resolved: Resolved, mapping: Mapping
) -> tuple[str, str]:
    """The mapped-rows query, and the expression naming a row's first problem (or NULL)."""
    cols = resolved.columns
    exprs = _field_exprs(source, columns, resolved, mapping)
    ts_col = cols["timestamp"]
    # The inner query computes each column once; the outer one checks them by name.
    inner = {name: exprs[name] for name in (*TEXT_FIELDS, "timestamp", "properties", "context")}
    inner["_ts_given"] = f"{_q(ts_col)} IS NOT NULL"
    problems = _problems(cols)
    join = ""
    if "subscription" in cols:
        sub = _text_expr(cols["subscription"])
        join = f" LEFT JOIN _subs ON _subs.subscription = {sub}"
        inner["_sub_missing"] = f"{sub} IS NOT NULL AND _subs.account IS NULL"
        problems.insert(
            0, ("_sub_missing", cols["subscription"], "subscription: no such subscription")
        )
    problem = "CASE " + " ".join(
        f"WHEN {cond} THEN {_lit(column + chr(31) + reason)}" for cond, column, reason in problems
    )
    problem += " END"
    inner_sql = ",\n            ".join(f"{expr} AS {_q(name)}" for name, expr in inner.items())
    # Columns that are NULL in every row are left out of the files (readers take the
    # union of columns by name): writing them costs DuckDB as much as real data.
    present = {
        "name": "name" in cols or "name" in mapping.defaults,
        "anonymous_id": "anonymous_id" in cols or "anonymous_id" in mapping.defaults,
        "context": "context" in cols,
    }
    output = ", ".join(
        name if present.get(name, True) else f"CAST(NULL AS VARCHAR) AS {name}"
        for name in ("type", "event", "user_id", "group_id", "timestamp")
    )
    output = f"{event_dedupe.generated_id('message_id')} AS message_id, {output}"
    optional = "".join(f"{name}, " for name, keep in present.items() if keep)
    select = f"""
        SELECT
            {output}, {optional}
            CAST($received_at AS TIMESTAMPTZ) AS received_at,
            properties,
            CASE WHEN ({problem}) IS NULL THEN strftime(timestamp, '%Y-%m-%d') END AS date
        FROM (
            SELECT
            {inner_sql}
            FROM {_reader(source)} AS src{join}
        )
    """
    return select, problem


def _field_exprs(
    source: Source, columns: dict[str, str], resolved: Resolved, mapping: Mapping
) -> dict[str, str]:
    """The SQL of each event field from the file's columns, with the mapping's value
    translations and defaults applied."""
    cols = resolved.columns
    exprs: dict[str, str] = {}
    for name in TEXT_FIELDS:
        expr = _text_expr(cols[name]) if name in cols else "NULL"
        if name in mapping.values:
            cases = " ".join(
                f"WHEN {_lit(str(k))} THEN {_lit(str(val))}"
                for k, val in mapping.values[name].items()
            )
            expr = f"(CASE {expr} {cases} ELSE {expr} END)"
        if name in mapping.defaults:
            expr = f"coalesce({expr}, {_lit(str(mapping.defaults[name]))})"
        exprs[name] = f"CAST({expr} AS VARCHAR)"
    exprs["type"] = f"lower(coalesce({exprs['type']}, 'track'))"
    if "subscription" in cols:
        exprs["group_id"] = f"coalesce({exprs['group_id']}, _subs.account)"
    ts_col = cols["timestamp"]
    exprs["timestamp"] = _timestamp_expr(ts_col, columns[ts_col])
    if "properties" in cols:
        props = _json_expr(cols["properties"], columns[cols["properties"]])
    else:
        explicit = {t.removeprefix("properties."): c for t, c in cols.items() if "." in t}
        chosen = explicit or {c: c for c in leftover_columns(columns, resolved)}
        if chosen:
            value = _csv_json if source.format is FileFormat.csv else _q
            pairs = ", ".join(f"{_lit(k)}, {value(c)}" for k, c in chosen.items())
            props = f"CAST(json_object({pairs}) AS VARCHAR)"
        else:
            props = "'{}'"
    exprs["properties"] = props
    exprs["context"] = (
        _json_expr(cols["context"], columns[cols["context"]]) if "context" in cols else "NULL"
    )
    return exprs


def _problems(cols: dict[str, str]) -> list[tuple[str, str, str]]:
    """What makes a row bad, in the order checked: (SQL condition, column, reason)."""
    ts_col = cols["timestamp"]
    problems = [
        ("NOT _ts_given", ts_col, "timestamp is required"),
        ("timestamp IS NULL", ts_col, "timestamp: not a time (ISO 8601 or epoch)"),
        (
            f"timestamp < {_time(MIN_TIME)} OR timestamp > {_time(MAX_TIME)}",
            ts_col,
            f"timestamp: outside {DAY_RANGE}",
        ),
        (
            f"type NOT IN ({', '.join(_lit(t) for t in EVENT_TYPES)})",
            cols.get("type", "type"),
            "type: not one of " + ", ".join(EVENT_TYPES),
        ),
        (
            "type = 'track' AND event IS NULL",
            cols.get("event", "event"),
            "event: a track event needs a name",
        ),
        (
            "user_id IS NULL AND anonymous_id IS NULL AND group_id IS NULL",
            cols.get("user_id", "user_id"),
            "needs a user_id, an anonymous_id or a group_id",
        ),
    ]
    # Properties built by json_object are valid by construction; a given column is checked.
    for name in ("properties", "context"):
        if name in cols:
            problems.append(
                (
                    f"{name} IS NOT NULL AND NOT coalesce(json_valid({name})"
                    f" AND json_type({name}) = 'OBJECT', false)",
                    cols[name],
                    f"{name}: not a JSON object",
                )
            )
    for name in ("message_id", "user_id", "anonymous_id", "group_id", "event"):
        problems.append(
            (
                f"length({name}) > {MAX_ID}",
                cols.get(name, name),
                f"{name}: at most {MAX_ID} characters",
            )
        )
    return problems


def _time(value: datetime) -> str:
    return f"TIMESTAMPTZ {_lit(value.isoformat())}"


def import_events(
    *,
    store: EventStore,
    source: Source,
    mapping: Mapping,
    dry_run: bool,
    subscriptions: pa.Table | None = None,
    progress: Progress | None = None,
    memory_limit: str = "1GB",
) -> tuple[Counts, Errors, Resolved]:
    """Validate and (unless ``dry_run``) store every event of the file, or none of them;
    events whose ``message_id`` the store holds, and repeats in the file, are skipped
    (counted as unchanged).

    ``subscriptions`` (columns ``subscription``, ``account``) resolves a ``subscription``
    column to the account's external id.
    """
    con = _connect(memory_limit)
    try:
        columns = _describe(con, source)
        resolved = resolve(columns, mapping)
        if subscriptions is not None:
            con.register("_subs", subscriptions)
        elif "subscription" in resolved.columns:
            raise Invalid("subscription: no subscription table was given")
        select, problem = _select(source, columns, resolved, mapping)
        tag = uuid.uuid4().hex[:12]
        staging = store.staging_dir(f"import-{tag}")
        params = {"received_at": datetime.now(UTC)}
        try:
            total = _copy(con, source, select, staging, params, progress)
            counts, errors = Counts(rows=total), Errors()
            if any(not _is_day(p.name) for p in staging.glob("date=*")):
                collect_errors(con, source, select, problem, params, errors)
                return counts, errors, resolved
            with contextlib.nullcontext() if dry_run else event_dedupe.import_lock(store):
                repeats = event_dedupe.find(con, staging, store)
                if repeats.conflicts:
                    column = resolved.columns.get("message_id", "message_id")
                    conflict_errors(con, source, select, params, repeats.conflicts, column, errors)
                    return counts, errors, resolved
                counts.inserted, counts.unchanged = repeats.new, total - repeats.new
                if not dry_run:
                    _commit(con, store, staging, tag, repeats)
            return counts, errors, resolved
        finally:
            _remove(staging)
    finally:
        con.close()


def _commit(
    con: duckdb.DuckDBPyConnection,
    store: EventStore,
    staging: Path,
    tag: str,
    repeats: event_dedupe.Repeats,
) -> None:
    """Make the staged events live, without the repeats when there are any."""
    if repeats.new == repeats.total:
        store.adopt(staging, tag=tag)
        return
    kept = store.staging_dir(f"import-{tag}-new")
    try:
        event_dedupe.keep_new(con, staging, kept, store)
        store.adopt(kept, tag=tag)
    finally:
        _remove(kept)


def _is_day(name: str) -> bool:
    return re.fullmatch(r"date=\d{4}-\d{2}-\d{2}", name) is not None


def _remove(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _copy(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    select: str,
    staging: Path,
    params: dict[str, Any],
    progress: Progress | None,
) -> int:
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            try:
                value = con.query_progress()
            except duckdb.Error:
                continue
            if value >= 0 and progress is not None:
                progress(min(float(value), 100.0))

    watcher = threading.Thread(target=watch, daemon=True) if progress is not None else None
    if watcher is not None:
        watcher.start()
    try:
        row = con.execute(
            f"COPY ({select}) TO {_lit(str(staging))} (FORMAT parquet, COMPRESSION zstd, "
            "PARTITION_BY (date), OVERWRITE_OR_IGNORE true, ROW_GROUP_SIZE 256000)",
            params,
        ).fetchone()
    except duckdb.Error as exc:
        raise unreadable(source, exc, "cannot read the file") from None
    finally:
        done.set()
        if watcher is not None:
            watcher.join()
    if progress is not None:
        progress(100.0)
    return int(row[0]) if row else 0
