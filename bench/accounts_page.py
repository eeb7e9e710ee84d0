"""Benchmark: does the accounts page stay fast as the company grows?

Loads two demo companies in this run, a small baseline (500 accounts) and a large one
(100,000 by default), then times the same UI and API requests against both and prints the
ratio large / small for each. Keyset pagination and the ARR / renewal indexes should keep
every ratio close to 1 (a page costs its own rows, not the table); full scans (free-text
search) grow with the table and are reported as such.

    .venv/bin/python bench/accounts_page.py [--accounts 100000] [--months 18] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from boomerang.accounts.models import Account
from boomerang.app import create_app
from boomerang.config import Settings
from boomerang.db import engine_from_settings, session_factory
from boomerang.demo.generator import generate
from boomerang.events.store import EventStore
from boomerang.schema import migrate
from boomerang.users import service as users_service

console = Console()
PASSWORD = "bench-password-123"
END = date(2026, 11, 1)


def load(data_dir: Path, accounts: int, months: int) -> tuple[Settings, float]:
    settings = Settings(data_dir=data_dir, secret_key="bench" * 8)
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
            password=PASSWORD,
            accounts=accounts,
            months=months,
            seed=7,
            progress=progress,
        )
    engine.dispose()
    return settings, time.perf_counter() - started


def timings(settings: Settings, repeat: int) -> dict[str, float]:
    """Median seconds per request for each scenario."""
    app = create_app(settings)
    results: dict[str, float] = {}
    with TestClient(app) as client:
        with app.state.sessions() as s:
            admin = users_service.get_by_email(session=s, email="admin@boomerang.demo")
            assert admin is not None
            csm_id = (
                s.query(Account.owner_id).filter(Account.owner_id.is_not(None)).limit(1).scalar()
            )
            some = s.query(Account).order_by(Account.arr.desc()).offset(10).first()
            assert some is not None
            account_id, name_part = some.id, some.name.split()[0]
        token = None
        with app.state.sessions() as s, s.begin():
            user = users_service.get_by_email(session=s, email="admin@boomerang.demo")
            assert user is not None
            token = users_service.create_token(session=s, user=user, name="bench")[1]
        form = client.get("/login").text
        csrf = form.split('name="csrf_token" value="')[1].split('"')[0]
        r = client.post(
            "/login",
            data={"email": "admin@boomerang.demo", "password": PASSWORD, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text

        def deep_page() -> None:
            cursor = None
            for _ in range(20):
                url = "/accounts?owner=all&sort=renewal" + (f"&cursor={cursor}" if cursor else "")
                page = client.get(url).text
                cursor = page.split("cursor=")[1].split('"')[0] if 'rel="next"' in page else None

        scenarios: dict[str, Callable[[], object]] = {
            "UI list, first page (ARR order)": lambda: client.get("/accounts?owner=all"),
            "UI list, one CSM's book": lambda: client.get(f"/accounts?owner={csm_id}"),
            "UI list, tier + stage filter": lambda: client.get(
                "/accounts?owner=all&tier=smb&stage=adoption"
            ),
            "UI list, renewal order": lambda: client.get("/accounts?owner=all&sort=renewal"),
            "UI list, 20 pages deep (renewal)": deep_page,
            "UI list, search by name": lambda: client.get(f"/accounts?owner=all&q={name_part}"),
            "UI account page": lambda: client.get(f"/accounts/{account_id}"),
            "API list, 100 per page": lambda: client.get(
                "/api/v1/accounts?limit=100", headers={"Authorization": f"Bearer {token}"}
            ),
        }
        for label, call in scenarios.items():
            call()  # warm up
            samples = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                call()
                samples.append(time.perf_counter() - t0)
            results[label] = statistics.median(samples)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=500)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", type=Path, help="keep the generated stores in this folder")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="boomerang-bench-"))
    try:
        small, small_load = load(root / "small", args.baseline, args.months)
        console.print(f"loaded {args.baseline:,} accounts in {small_load:.1f} s")
        large, large_load = load(root / "large", args.accounts, args.months)
        console.print(f"loaded {args.accounts:,} accounts in {large_load:.1f} s")
        base, big = timings(small, args.repeat), timings(large, args.repeat)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)

    table = Table(
        title=f"accounts page: {args.accounts:,} vs {args.baseline:,} accounts (median of {args.repeat})"
    )
    table.add_column("request")
    table.add_column(f"{args.baseline:,} (ms)", justify="right")
    table.add_column(f"{args.accounts:,} (ms)", justify="right")
    table.add_column("ratio", justify="right")
    for label in base:
        table.add_row(
            label,
            f"{base[label] * 1000:.1f}",
            f"{big[label] * 1000:.1f}",
            f"{big[label] / base[label]:.2f}x",
        )
    console.print(table)
    console.print(
        f"demo load: {large_load / small_load:.1f}x the time for "
        f"{args.accounts / args.baseline:.0f}x the accounts"
    )


if __name__ == "__main__":
    main()
