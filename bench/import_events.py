"""Benchmark: `boomerang import events` of a large Parquet file, against DuckDB's own COPY.

    .venv/bin/python bench/import_events.py [--rows 20000000]

Writes a Parquet file of ROWS synthetic events (100,000 accounts, 1,000,000 users, six
months, two property columns), then times, in the same run:

- baseline: DuckDB copying the same file to Parquet partitioned by day
  (``COPY (SELECT *, date FROM read_parquet(f)) TO dir (PARTITION_BY (date))``), the
  engine's raw speed for the same read-transform-write shape;
- boomerang: ``boomerang import events FILE --map ...`` in a fresh process and data dir
  (checksum, mapping, validation, properties JSON, staging, commit), and its peak memory.

Prints rows/s for both and the ratio (target: at least 1 million rows/s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb


def make_file(path: Path, rows: int) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"""
        COPY (
            SELECT 'm' || i AS msg,
                   'u' || (i * 7919 % 1000000) AS user_id,
                   'acc-' || (i * 7919 % 1000000 % 100000) AS account,
                   (['Logged In', 'Report Built', 'Export', 'Invite Sent', 'Page Viewed'])
                       [1 + (i * 31 % 5)::INTEGER] AS event_name,
                   TIMESTAMPTZ '2026-05-01 00:00:00+00'
                       + to_seconds((i * 104729 % (184 * 86400))::BIGINT) AS ts,
                   (['free', 'pro', 'enterprise'])[1 + (i % 3)::INTEGER] AS plan,
                   (i * 13 % 60000)::INTEGER AS duration_ms
            FROM range({rows}) t(i)
        ) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)
        """
    )
    con.close()


def duckdb_copy(path: Path, out: Path) -> float:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    start = time.perf_counter()
    con.execute(
        f"COPY (SELECT *, strftime(ts, '%Y-%m-%d') AS date FROM read_parquet('{path}')) "
        f"TO '{out}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (date))"
    )
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


MAP = "message_id=msg,user_id=user_id,group_id=account,event=event_name,timestamp=ts"
# A small parent runs the import and reports the child's peak RSS: measured from this
# (large) process, a forked child would count this process's pages too.
WRAPPER = (
    "import json, resource, subprocess, sys, time; "
    "t = time.perf_counter(); "
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
    "print(json.dumps({'seconds': time.perf_counter() - t, 'rc': r.returncode, "
    "'stdout': r.stdout, 'stderr': r.stderr, "
    "'peak_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))"
)


def boomerang_import(path: Path, data_dir: Path) -> tuple[float, dict[str, object], int]:
    """Seconds, report and peak RSS (KB) of `boomerang import events` in a fresh process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env["BOOMERANG_DATA_DIR"] = str(data_dir)
    exe = [sys.executable, "-m", "boomerang"]
    subprocess.run([*exe, "init"], env=env, check=True, capture_output=True)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            WRAPPER,
            *exe,
            "import",
            "events",
            str(path),
            "--map",
            MAP,
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"import failed: {result['stderr'] or result['stdout']}")
    return float(result["seconds"]), json.loads(result["stdout"]), int(result["peak_kb"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="boomerang-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        source = work / "events.parquet"
        t0 = time.perf_counter()
        make_file(source, args.rows)
        size_mb = source.stat().st_size / 1e6
        print(f"file: {args.rows:,} rows, {size_mb:,.0f} MB ({time.perf_counter() - t0:.1f} s)")
        base = duckdb_copy(source, work / "duckdb-copy")
        print(f"DuckDB COPY (partitioned by day): {base:6.1f} s  {args.rows / base:12,.0f} rows/s")
        took, report, peak_kb = boomerang_import(source, work / "var")
        assert report["status"] == "succeeded" and report["inserted"] == args.rows, report
        print(
            f"boomerang import events:          {took:6.1f} s  {args.rows / took:12,.0f} rows/s"
            f"  (peak RSS {peak_kb / 1024:,.0f} MB)"
        )
        print(f"ratio (DuckDB COPY time / import time): {base / took:.2f}x")
        # Flat memory: the same import of a file a tenth the size, in a fresh process.
        small = work / "small.parquet"
        make_file(small, args.rows // 10)
        _, _, small_kb = boomerang_import(small, work / "var-small")
        print(
            f"peak RSS: {small_kb / 1024:,.0f} MB for {args.rows // 10:,} rows, "
            f"{peak_kb / 1024:,.0f} MB for {args.rows:,} rows"
        )
        print(f"target 1,000,000 rows/s: {args.rows / took / 1e6:.2f}x of target")
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
