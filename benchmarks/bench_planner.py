"""Benchmark of the crisis capacity planner (issue #17: under 2 s on a Twente-sized feed).

    .venv/bin/python benchmarks/bench_planner.py [--database sqlite|postgresql|both] [--repeats 5]

A fresh database per kind (``benchmarks/common.empty_database``) with the Twente demo (141
groups of 30 providers, six crisis groups of three crisis providers, 400 days of feed for every
group, about 340 crisis admissions a year). Then ``crisis_capacity`` as the API calls it (one
read transaction: the region, the register's prices, the stays, Erlang for each of the ten
pools, the bootstrap and the SimPy check at the advice) for:

1. *demo*: the last 365 days, the region's target (5%);
2. *demo, 1%*: the same with a what-if target of 1% (more places, so a longer simulation);
3. *4× demo*: the crisis groups' feed loaded four times over (about 1,400 crisis admissions a
   year, twice the 750 urgent reports Twente has a year), the last 365 days.

Prints the median and the slowest of ``--repeats`` calls per case as a markdown table. Fixed
seeds (the demo's own and the planner's).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import col, select  # noqa: E402

from backend.auth import Principal  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import Database  # noqa: E402
from backend.demo import load_demo  # noqa: E402
from backend.domain import utcnow  # noqa: E402
from backend.occupancy.bulk import bulk_insert_stays  # noqa: E402
from backend.occupancy.demo import simulate_stays  # noqa: E402
from backend.planning.service import crisis_capacity  # noqa: E402
from backend.providers.models import Group  # noqa: E402
from backend.users.models import Role  # noqa: E402
from benchmarks.common import empty_database  # noqa: E402

MANAGER = Principal(kind="user", id=0, name="bench", role=Role.viewer, provider_id=None)


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, environment="development", secret_key="bench", run_periodic_tasks=False)


def extra_crisis_feed(db: Database, copies: int) -> int:
    """The crisis groups' feed ``copies`` more times (each copy simulated afresh)."""
    rng = random.Random(17)
    end = utcnow() - timedelta(hours=1)
    with db.transaction() as session:
        groups = session.exec(select(Group).where(col(Group.is_crisis).is_(True)).order_by(col(Group.id))).all()
        stays = [
            stay
            for copy in range(copies)
            for group in groups
            for stay in simulate_stays(rng=rng, group=group, own_code="JZ14", days=400, end=end, label=f"x{copy}")
        ]
        bulk_insert_stays(session=session, stays=stays, source="bench")
    return len(stays)


def measure(db: Database, repeats: int, target: float | None) -> tuple[list[float], dict]:
    times = []
    answer: dict = {}
    for _ in range(repeats):
        with db.transaction(write=False) as session:
            started = time.perf_counter()
            answer = crisis_capacity(session=session, principal=MANAGER, region_code="JZ14", target=target)
            times.append(time.perf_counter() - started)
    return times, answer


def run(kind: str, repeats: int) -> list[str]:
    rows = []
    with empty_database(kind) as url:
        db = Database(settings_for(url))
        with tempfile.TemporaryDirectory() as tmp, db.transaction() as session:
            load_demo(session=session, users_file=Path(tmp) / "users.txt")
        cases = [("demo, doel 5%", None, 0), ("demo, doel 1%", 0.01, 0), ("4× demo-feed, doel 5%", None, 3)]
        for label, target, copies in cases:
            if copies:
                extra_crisis_feed(db, copies)
            times, answer = measure(db, repeats, target)
            region = next(p for p in answer["pools"] if p["kind"] == "region")
            rows.append(
                f"| {kind} | {label} | {region['arrivals']:,} | {len(answer['pools'])} | "
                f"{region['recommended_places']} | {statistics.median(times):.2f} s | {max(times):.2f} s |"
            )
            print(rows[-1], flush=True)
        db.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    print("| database | case | crisis admissions in 365 days (region) | pools | advice region | median | slowest |")
    print("|---|---|---|---|---|---|---|")
    for kind in kinds:
        run(kind, args.repeats)


if __name__ == "__main__":
    main()
