"""Benchmark: does the ``boomerang`` command answer at once?

Times whole processes, as a user or a cron line starts them, and prints each median as a
ratio against ``python -c pass`` measured in the same run with the same interpreter (these
machines are shared and noisy: absolute times mean little, ratios travel):

- ``--version`` and ``--help`` (target <= 8x), a domain's ``--help`` (``health --help``,
  target <= 10x), ``status`` (target <= 40x) and one ``show`` command (``health show``);
- ``serve`` until ``/healthz`` answers (no target of its own: compare with ``--compare``).

With ``--compare REV`` the same commands also run from a git worktree of that revision (the
installed dependencies, that revision's code) and a last column gives this tree / REV.

    .venv/bin/python bench/cli_start.py [--repeat 7] [--compare REV]

Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"--version": 8.0, "--help": 8.0, "health --help": 10.0, "status": 40.0}


def sample(run: Callable[[], None], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return times


def median_seconds(run: Callable[[], None], repeat: int) -> float:
    return statistics.median(sample(run, repeat))


def bare_python() -> None:
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def command(env: dict[str, str], *args: str) -> Callable[[], None]:
    def run() -> None:
        subprocess.run(
            [sys.executable, "-m", "boomerang", *args],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    return run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_until_ready(env: dict[str, str]) -> Callable[[], None]:
    def run() -> None:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "boomerang", "serve", "--port", str(port)],
            env={**env, "BOOMERANG_LOG_LEVEL": "warning"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"serve exited with {proc.returncode}")
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/healthz", timeout=1
                    ) as answer:
                        if answer.status == 200:
                            return
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("serve did not answer /healthz within 120 s")
                time.sleep(0.01)
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    return run


def prepare(env: dict[str, str]) -> str:
    """A small demo company in the data dir; the id of one of its accounts."""
    subprocess.run(
        [sys.executable, "-m", "boomerang", "demo", "--accounts", "20", "--months", "4"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    import sqlite3

    db = Path(env["BOOMERANG_DATA_DIR"]) / "boomerang.sqlite3"
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "select a.external_id from accounts a join health_scores h on h.account_id = a.id "
            "order by a.external_id"
        ).fetchone()
    return str(row[0])


def environment(data_dir: Path, src: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env["BOOMERANG_DATA_DIR"] = str(data_dir)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


def measure(env: dict[str, str], account: str, repeat: int) -> dict[str, float]:
    cases: dict[str, Callable[[], None]] = {
        "--version": command(env, "--version"),
        "--help": command(env, "--help"),
        "health --help": command(env, "health", "--help"),
        "status": command(env, "status"),
        f"health show {account}": command(env, "health", "show", account),
    }
    results = {name: median_seconds(run, repeat) for name, run in cases.items()}
    results["serve until /healthz"] = median_seconds(serve_until_ready(env), max(3, repeat // 2))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--compare", metavar="REV", help="also time this git revision")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="boomerang-cli-bench-") as tmp:
        here_env = environment(Path(tmp) / "var", ROOT / "src")
        account = prepare(here_env)
        other: dict[str, float] | None = None
        if args.compare:
            tree = Path(tmp) / "compare"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.compare],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                other_env = environment(Path(tmp) / "var", tree / "src")
                other = measure(other_env, account, args.repeat)
            finally:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                    check=False,
                )
        # The baseline before and after, so that a change of load during the run shows in it.
        before = sample(bare_python, 15)
        here = measure(here_env, account, args.repeat)
        baseline = statistics.median(before + sample(bare_python, 15))

    print(f"baseline: python -c pass, median {baseline * 1000:.1f} ms")
    header = f"{'command':<32} {'median':>9} {'ratio':>7} {'target':>7}"
    if other is not None:
        header += f" {'vs ' + str(args.compare):>14}"
    print(header)
    missed = []
    for name, seconds in here.items():
        ratio = seconds / baseline
        target = next((t for key, t in TARGETS.items() if name == key), None)
        verdict = "" if target is None else ("ok" if ratio <= target else "MISSED")
        if target is not None and ratio > target:
            missed.append(name)
        line = f"{name:<32} {seconds * 1000:>7.0f}ms {ratio:>6.1f}x "
        line += f"{'<=' + format(target, '.0f') + 'x ' + verdict if target else '':>7}"
        if other is not None:
            line += f" {seconds / other[name]:>13.2f}x"
        print(line)
    if missed:
        print("targets missed: " + ", ".join(missed))
        return 1
    print("every target met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
