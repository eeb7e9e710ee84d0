"""Benchmark: recompute health for every account of a large company.

Generates a demo company (default 100,000 accounts; reuse one with --keep DIR), then runs
each contender in a fresh process and reports wall time and peak memory:

- ``boomerang``: ``boomerang health compute`` end to end (every measure of the default
  scorecard, roll-up, snapshots written to SQLite, success vectors);
- ``boomerang-usage``: only its five usage measures (Ibis on DuckDB, one query each);
- ``duckdb-sql``: the same five usage measures as one hand-written two-stage DuckDB query
  over the same Parquet files (the ceiling: see DESIGN.md's engine notes);
- ``pandas``: the same five measures as an analyst would write them with pandas.

The usage results of the three are checked equal. Targets (issue 4): usage measures within
1.5x of the hand-written query, faster than pandas, end to end under 10 s with peak memory
under 2 GB.

    .venv/bin/python bench/health_compute.py [--accounts 100000] [--months 6] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.db import engine_from_settings, session_factory
from boomerang.demo.generator import generate
from boomerang.events.store import EventStore
from boomerang.health import measures, scorecard, service, vectors
from boomerang.health.scorecard import Measure, MeasureKind
from boomerang.schema import migrate

console = Console()
END = date(2026, 11, 1)
USAGE = ("active_days", "usage_trend", "recency", "feature_depth", "active_users")
CONTENDERS = ("boomerang", "boomerang-usage", "duckdb-sql", "pandas")


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, secret_key="bench" * 8)


def load(data_dir: Path, accounts: int, months: int) -> float:
    settings = _settings(data_dir)
    engine = engine_from_settings(settings)
    migrate(engine)
    started = time.perf_counter()
    with (
        Progress(console=console, transient=True) as progress,
        session_factory(engine)() as s,
        s.begin(),
    ):
        generate(
            session=s,
            store=EventStore(settings.events_dir),
            end=END,
            password="bench-password-123",
            accounts=accounts,
            months=months,
            seed=7,
            progress=progress,
        )
    EventStore(settings.events_dir).compact(min_files=2)
    return time.perf_counter() - started


def _usage_measures() -> list[Measure]:
    card = scorecard.default().scorecard
    by_key = {m.key: m for m in card.measures}
    users = by_key["adoption_breadth"].model_copy(
        update={"key": "active_users", "kind": MeasureKind.active_users}
    )
    return [
        by_key["active_days"],
        by_key["usage_trend"],
        by_key["recency"],
        by_key["feature_depth"],
        users,
    ]


def _boomerang_usage(data_dir: Path) -> dict[str, list[float | None]]:
    settings = _settings(data_dir)
    engine = engine_from_settings(settings)
    with session_factory(engine)() as session:
        accounts = measures.population(session=session, as_of=END)
        with EventSource(EventStore(settings.events_dir)).open() as events:
            raw = measures.compute(
                session=session, measures=_usage_measures(), events=events, accounts=accounts
            )
    return _listed(accounts.external_ids, raw)


def _boomerang(data_dir: Path) -> dict[str, list[float | None]]:
    settings = _settings(data_dir)
    engine = engine_from_settings(settings)
    with session_factory(engine)() as session, session.begin():
        result = service.compute(
            session=session,
            source=EventSource(EventStore(settings.events_dir)),
            loaded=scorecard.default(),
            as_of=END,
            vector_rules=vectors.load(session=session),
        )
    return {"accounts": [float(result.accounts)]}


def _sql_windows() -> dict[str, object]:
    end = datetime.combine(END + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return {
        "end": end,
        "start30": end - timedelta(days=30),
        "start60": end - timedelta(days=60),
        "start365": end - timedelta(days=365),
    }


def _duckdb_sql(data_dir: Path) -> dict[str, list[float | None]]:
    import duckdb

    settings = _settings(data_dir)
    files = [str(f) for f in EventStore(settings.events_dir).live_files()]
    features = scorecard.default().scorecard.measures[3].features
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    w = _sql_windows()
    # Two-stage: filter to the windows first, count distinct in subqueries, then join.
    rows = con.execute(
        """
        WITH ev AS (
            SELECT group_id AS a, user_id AS u, coalesce(event, name, type) AS e, timestamp AS t
            FROM read_parquet($files, hive_partitioning = true, union_by_name = true)
            WHERE timestamp > $start365 AND timestamp <= $end
              AND date >= CAST($start365 AS DATE) AND date <= CAST($end AS DATE)
        ),
        last30 AS (SELECT * FROM ev WHERE t > $start30),
        days AS (SELECT a, count(DISTINCT CAST(t AS DATE)) AS active_days,
                        count(DISTINCT u) AS active_users FROM last30 GROUP BY a),
        feats AS (SELECT a, count(DISTINCT e) AS f FROM last30 WHERE e IN $features GROUP BY a),
        trend AS (SELECT a, count(*) FILTER (WHERE t > $start30) AS cur,
                         count(*) FILTER (WHERE t <= $start30) AS prev
                  FROM ev WHERE t > $start60 GROUP BY a),
        rec AS (SELECT a, max(t) AS last FROM ev GROUP BY a)
        SELECT rec.a, days.active_days, days.active_users, feats.f, trend.cur, trend.prev, rec.last
        FROM rec LEFT JOIN days USING (a) LEFT JOIN feats USING (a) LEFT JOIN trend USING (a)
        """,
        {**w, "files": files, "features": features},
    ).fetchall()
    return _from_rows(data_dir, rows, n_features=len(set(features)))


def _pandas(data_dir: Path) -> dict[str, list[float | None]]:
    import pandas as pd
    import pyarrow.parquet as pq

    settings = _settings(data_dir)
    files = [str(f) for f in EventStore(settings.events_dir).live_files()]
    features = scorecard.default().scorecard.measures[3].features
    w = _sql_windows()
    cols = ["group_id", "user_id", "event", "name", "type", "timestamp"]
    frames = []
    for f in files:
        present = [c for c in cols if c in pq.read_schema(f).names]
        frames.append(pd.read_parquet(f, columns=present))
    df = pd.concat(frames, ignore_index=True)
    df["e"] = df["event"].fillna(df.get("name")).fillna(df["type"])
    df = df[(df["timestamp"] > w["start365"]) & (df["timestamp"] <= w["end"])]
    last30 = df[df["timestamp"] > w["start30"]]
    days = last30.groupby("group_id").agg(
        active_days=("timestamp", lambda s: s.dt.date.nunique()),
        active_users=("user_id", "nunique"),
    )
    feats = last30[last30["e"].isin(features)].groupby("group_id")["e"].nunique().rename("f")
    last60 = df[df["timestamp"] > w["start60"]]
    recent = last60["timestamp"] > w["start30"]
    trend = pd.DataFrame(
        {
            "cur": recent.groupby(last60["group_id"]).sum(),
            "prev": (~recent).groupby(last60["group_id"]).sum(),
        }
    )
    last = df.groupby("group_id")["timestamp"].max().rename("last")
    out = pd.concat([days, feats, trend, last], axis=1)
    rows = [
        (a, r.active_days, r.active_users, r.f, r.cur, r.prev, r["last"].to_pydatetime())
        for a, r in out.iterrows()
    ]
    return _from_rows(data_dir, rows, n_features=len(set(features)))


def _from_rows(
    data_dir: Path, rows: Sequence[Sequence[Any]], *, n_features: int
) -> dict[str, list[float | None]]:
    settings = _settings(data_dir)
    engine = engine_from_settings(settings)
    with session_factory(engine)() as session:
        accounts = measures.population(session=session, as_of=END)
    index = {ext: i for i, ext in enumerate(accounts.external_ids)}
    n = len(accounts)
    raw = {k: np.full(n, np.nan) for k in USAGE}
    last_day = END
    for a, days, users, f, cur, prev, last in rows:
        i = index.get(a)
        if i is None:
            continue
        if days == days and days is not None:
            raw["active_days"][i] = float(days)
            raw["active_users"][i] = float(users)
        if f == f and f is not None:
            raw["feature_depth"][i] = float(f) / n_features
        if prev == prev and prev:
            raw["usage_trend"][i] = float(cur or 0) / float(prev)
        if last is not None:
            raw["recency"][i] = float((last_day - last.astimezone(UTC).date()).days)
    return _listed(accounts.external_ids, raw)


def _listed(ids: list[str], raw: dict[str, Any]) -> dict[str, list[float | None]]:
    return {
        k: [None if np.isnan(v) else round(float(v), 6) for v in raw[k]] for k in USAGE if k in raw
    }


WORKERS = {
    "boomerang": _boomerang,
    "boomerang-usage": _boomerang_usage,
    "duckdb-sql": _duckdb_sql,
    "pandas": _pandas,
}


def _clear_day(data_dir: Path) -> None:
    """The daily job scores a new day: drop a previous run's snapshots of END (untimed)."""
    from sqlalchemy import delete, select

    from boomerang.health.models import HealthMeasure, HealthScore

    engine = engine_from_settings(_settings(data_dir))
    with session_factory(engine)() as session, session.begin():
        day = select(HealthScore.id).where(HealthScore.as_of == END)
        session.execute(delete(HealthMeasure).where(HealthMeasure.score_id.in_(day)))
        session.execute(delete(HealthScore).where(HealthScore.as_of == END))


def worker(kind: str, data_dir: Path, out: Path) -> None:
    if kind == "boomerang":
        _clear_day(data_dir)
    started = time.perf_counter()
    result = WORKERS[kind](data_dir)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out.write_text(json.dumps({"seconds": elapsed, "peak": peak, "result": result}))


def run(kind: str, data_dir: Path) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run(
            [sys.executable, __file__, "--worker", kind, "--keep", str(data_dir), "--out", f.name],
            check=True,
        )
        result: dict[str, Any] = json.loads(Path(f.name).read_text())
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this data dir")
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.keep, args.out)
        return

    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="bench-health-"))
    try:
        if not (data_dir / "boomerang.sqlite3").exists():
            console.print(f"generating {args.accounts:,} accounts over {args.months} months ...")
            console.print(f"generated in {load(data_dir, args.accounts, args.months):.0f} s")
        else:  # a kept company: bring its schema up to date
            migrate(engine_from_settings(_settings(data_dir)))
        import duckdb

        files = [str(f) for f in EventStore(_settings(data_dir).events_dir).live_files()]
        counted = (
            duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [files]).fetchone()
        )
        n_events = counted[0] if counted else 0
        results = {kind: run(kind, data_dir) for kind in CONTENDERS}
        usage = results["boomerang-usage"]["result"]
        for kind in ("duckdb-sql", "pandas"):
            same = results[kind]["result"] == usage
            console.print(f"usage measures of {kind} equal boomerang's: {same}")
        table = Table(
            title=f"health for {len(usage['active_days']):,} accounts over {n_events:,} events"
        )
        for col in ("contender", "seconds", "peak memory", "vs duckdb-sql"):
            table.add_column(col, justify="right" if col != "contender" else "left")
        base = float(results["duckdb-sql"]["seconds"])
        for kind, r in results.items():
            seconds = float(r["seconds"])
            table.add_row(
                kind,
                f"{seconds:.2f}",
                f"{int(r['peak']) / 2**30:.2f} GB",
                f"{seconds / base:.2f}x",
            )
        console.print(table)
        usage_ratio = float(results["boomerang-usage"]["seconds"]) / base
        pandas_ratio = float(results["boomerang-usage"]["seconds"]) / float(
            results["pandas"]["seconds"]
        )
        e2e = float(results["boomerang"]["seconds"])
        peak = int(results["boomerang"]["peak"]) / 2**30
        console.print(
            f"usage measures: {usage_ratio:.2f}x the hand-written query (target <= 1.5x), "
            f"{pandas_ratio:.2f}x pandas (target < 1); end to end {e2e:.1f} s (target < 10 s), "
            f"peak {peak:.2f} GB (target < 2 GB)"
        )
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
