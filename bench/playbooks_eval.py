"""Benchmark: evaluate 20 playbooks with data triggers over a large company.

Generates a demo company (default 100,000 accounts; reuse one with --keep DIR, for example
the one bench/churn_score.py kept) with a health snapshot, stores 20 playbooks whose
triggers and conditions are conditions over the account facts (health, colour, vector,
tier, ARR, renewal, measures), then times, in one transaction rolled back at the end:

- ``facts``: loading the account facts those conditions use (the baseline: every
  evaluation starts with it);
- ``first evaluation``: every condition as one set-based query, the matches recorded, a run
  and a task for every account that starts matching;
- ``steady evaluation``: the next day's, when few accounts start matching.

Target (issue 5): under 10 s for the 20 playbooks. Prints the ratio to the facts load.

    .venv/bin/python bench/playbooks_eval.py [--accounts 100000] [--months 6] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.health_compute import END, _settings, load
from boomerang.db import engine_from_settings, session_factory
from boomerang.health import scorecard, vectors
from boomerang.health import service as health_service
from boomerang.health.models import HealthScore
from boomerang.playbooks import definition, engine
from boomerang.schema import migrate
from boomerang.segments.facts import account_facts
from boomerang.tasks.models import Task

console = Console()
CONDITIONS = [
    "colour = 'red'",
    "colour = 'yellow' and tier = 'enterprise'",
    "vector = 'negative'",
    "vector = 'positive' and colour = 'green'",
    "health < 40",
    "health >= 90",
    "trend_7 < -10",
    "arr > 50000 and colour != 'green'",
    "renewal_in_days >= 0 and renewal_in_days <= 90",
    "renewal_in_days >= 0 and renewal_in_days <= 120 and health < 60",
    "measure.active_days < 4",
    "measure.usage_trend < 0.7",
    "measure.adoption_breadth >= 0.8 and vector = 'positive'",
    "measure.recency > 14",
    "measure.support_burden > 5",
    "measure.billing_overdue > 0",
    "tier = 'smb' and health < 50",
    "tier = 'mid_market' and vector = 'negative'",
    "stage = 'onboarding' and measure.active_days < 8",
    "tenure_days < 90 and colour = 'red'",
]


def playbook(i: int, condition: str) -> str:
    return (
        f"name: bench-{i:02d}\ntitle: Bench {i}\n"
        f'trigger: {{condition: "{condition}"}}\n'
        "cooldown_days: 30\n"
        'steps:\n  - task: {title: "Look at {{ account.name }}", type: risk, due_in_days: 3}\n'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this data dir")
    args = parser.parse_args()
    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="bench-playbooks-"))
    try:
        if not (data_dir / "boomerang.sqlite3").exists():
            console.print(f"generating {args.accounts:,} accounts over {args.months} months ...")
            console.print(f"generated in {load(data_dir, args.accounts, args.months):.0f} s")
        else:
            migrate(engine_from_settings(_settings(data_dir)))
        settings = _settings(data_dir)
        eng = engine_from_settings(settings)
        with session_factory(eng)() as s, s.begin():
            if s.scalar(select(HealthScore.id).where(HealthScore.as_of == END).limit(1)) is None:
                from boomerang.analytics.source import EventSource
                from boomerang.events.store import EventStore

                health_service.compute(
                    session=s,
                    source=EventSource.from_settings(settings, EventStore(settings.events_dir)),
                    loaded=scorecard.default(),
                    as_of=END,
                    vector_rules=vectors.load(session=s),
                )
        now = datetime.combine(END, datetime.max.time(), tzinfo=UTC)
        with session_factory(eng)() as s:
            s.begin()
            for i, condition in enumerate(CONDITIONS):
                engine.save_version(
                    session=s, loaded=definition.parse(playbook(i, condition), origin="bench")
                )
            items = [i for i in engine.in_force(session=s) if i.name.startswith("bench-")]
            names = [i.name for i in items]
            used = {c for i in items for c in i.loaded.conditions}
            started = time.perf_counter()
            facts = account_facts(session=s, today=END)
            facts_seconds = time.perf_counter() - started
            started = time.perf_counter()
            first = engine.evaluate(session=s, source=None, now=now, names=names)
            first_seconds = time.perf_counter() - started
            started = time.perf_counter()
            steady = engine.evaluate(
                session=s, source=None, now=now + timedelta(days=1), names=names
            )
            steady_seconds = time.perf_counter() - started
            tasks = s.scalar(select(func.count()).select_from(Task))
            s.rollback()
        console.print(
            f"{facts.num_rows:,} accounts, {len(items)} playbooks, {len(used)} conditions; "
            f"first evaluation fired {len(first.fired):,} runs ({tasks:,} tasks), "
            f"the next day's {len(steady.fired):,}; errors: {first.errors or 'none'}"
        )
        console.print(
            f"facts: {facts_seconds:.1f} s; first evaluation: {first_seconds:.1f} s "
            f"({first_seconds / facts_seconds:.2f}x the facts load); steady evaluation: "
            f"{steady_seconds:.1f} s ({steady_seconds / facts_seconds:.2f}x); target < 10 s: "
            f"{'met' if steady_seconds < 10 else 'NOT met'} (steady), "
            f"{'met' if first_seconds < 10 else 'NOT met'} (first)"
        )
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
