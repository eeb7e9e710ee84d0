"""Benchmark: score churn risk for every account of a large company.

Generates a demo company (default 100,000 accounts; reuse one with --keep DIR) and a small
one (600 accounts, 18 months) to train the model on, copies the trained model into the
large company, then times, in this process and on the same data:

- ``health``: ``health compute`` for every account (the baseline: the measures the churn
  model reads are the health measures);
- ``churn score``: features as of today (every health measure recomputed, ARR, renewals,
  firmographics), probability and per-account drivers, predictions written.

Target (issue 8): scoring 100,000 accounts in under 30 s. Prints the ratio to the health
computation measured in the same run (the machines are shared: absolute times vary).

    .venv/bin/python bench/churn_score.py [--accounts 100000] [--months 6] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from sqlalchemy import insert, select

from boomerang.analytics.source import EventSource
from boomerang.churn import service as churn_service
from boomerang.churn.models import ChurnModel
from boomerang.db import engine_from_settings, session_factory
from boomerang.events.store import EventStore
from boomerang.health import scorecard, vectors
from boomerang.health import service as health_service
from boomerang.schema import migrate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.health_compute import END, _settings, load

console = Console()


def _source(data_dir: Path) -> EventSource:
    settings = _settings(data_dir)
    return EventSource.from_settings(settings, EventStore(settings.events_dir))


def train_small(data_dir: Path) -> dict[str, object]:
    """Train on a small company; return the model row's columns."""
    load(data_dir, 600, 18)
    engine = engine_from_settings(_settings(data_dir))
    with session_factory(engine)() as s, s.begin():
        trained = churn_service.train(
            session=s, source=_source(data_dir), currency="USD", today=END
        )
        row = trained.model
        report = trained.report
        console.print(
            f"model trained on {report['n_train']:,} + {report['n_test']:,} observations: "
            f"ROC-AUC {report['model']['roc_auc']:.3f} out of time"
        )
        return {c.name: getattr(row, c.key) for c in ChurnModel.__table__.columns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this data dir")
    args = parser.parse_args()
    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="bench-churn-"))
    small_dir = Path(tempfile.mkdtemp(prefix="bench-churn-small-"))
    try:
        if not (data_dir / "boomerang.sqlite3").exists():
            console.print(f"generating {args.accounts:,} accounts over {args.months} months ...")
            console.print(f"generated in {load(data_dir, args.accounts, args.months):.0f} s")
        else:
            migrate(engine_from_settings(_settings(data_dir)))
        model = train_small(small_dir)
        engine = engine_from_settings(_settings(data_dir))
        source = _source(data_dir)
        with session_factory(engine)() as s, s.begin():
            if s.scalar(select(ChurnModel.id).where(ChurnModel.id == model["id"])) is None:
                s.execute(insert(ChurnModel).values(**model))
        with session_factory(engine)() as s, s.begin():
            started = time.perf_counter()
            health_service.compute(
                session=s,
                source=source,
                loaded=scorecard.default(),
                as_of=END,
                vector_rules=vectors.load(session=s),
            )
            health_seconds = time.perf_counter() - started
        with session_factory(engine)() as s, s.begin():
            row = s.get(ChurnModel, model["id"])
            started = time.perf_counter()
            result = churn_service.score(
                session=s, source=source, currency="USD", model_row=row, today=END
            )
            churn_seconds = time.perf_counter() - started
        console.print(
            f"health compute: {health_seconds:.1f} s; churn score: {churn_seconds:.1f} s for "
            f"{result.accounts:,} accounts ({result.bands})"
        )
        console.print(
            f"churn scoring is {churn_seconds / health_seconds:.2f}x the health computation; "
            f"{churn_seconds:.1f} s against the 30 s target "
            f"({'met' if churn_seconds < 30 else 'NOT met'})"
        )
    finally:
        shutil.rmtree(small_dir, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
