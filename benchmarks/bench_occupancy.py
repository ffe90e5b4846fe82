"""Benchmarks of the occupancy feed and the post-calculation; prints markdown tables.

    .venv/bin/python benchmarks/bench_occupancy.py [--database-url URL] [--groups 500] [--events 200000]

Fixed seeds. Without ``--database-url`` a fresh SQLite file in a temporary folder is used; pass a
PostgreSQL URL of an empty, scratch database to measure there (the tables are created with the
real migrations).

1. Ingestion: batches of 500 admission/discharge events posted to ``POST /api/v1/occupancy/events``
   with an API key (the whole path: HTTP, validation, capacity checks, writes, event, audit).
2. Post-calculation: a year of ``--events`` events (stays of 500 groups, loaded in bulk), then
   ``post_calculation`` for the region (SQL read + night expansion + figures per group), and the
   night expansion alone (numpy).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.auth import Principal, new_api_key  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import Database  # noqa: E402
from backend.domain import utcnow  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.occupancy.bedays import OPEN_END, day_number, expand_stays, night_grid  # noqa: E402
from backend.occupancy.bulk import StaySpec, bulk_insert_stays  # noqa: E402
from backend.providers.models import Location, Provider  # noqa: E402
from backend.providers.service import create_group  # noqa: E402
from backend.regions.models import Municipality, Region  # noqa: E402
from backend.register.models import ContractTerm  # noqa: E402
from backend.register.service import insert_version  # noqa: E402
from backend.reports.service import post_calculation  # noqa: E402
from backend.users.models import ApiKey  # noqa: E402

YEAR = 2025
OTHER = ["JZ07", "JZ25", "JZ13"]


def make_world(db: Database, n_groups: int) -> tuple[list[tuple[int, int, int]], str]:
    """Region, 10 providers, ``n_groups`` availability-funded groups; returns (group, provider,
    capacity) and an API key of provider 1."""
    with db.transaction() as session:
        region = Region(code="JZ14", name="Twente", settings={})
        session.add(region)
        session.flush()
        town = Municipality(region_id=region.id, cbs_code="GM0153", name="Enschede", lat=52.2, lon=6.9)
        session.add(town)
        session.flush()
        groups = []
        locations = []
        for p in range(10):
            provider = Provider(region_id=region.id, name=f"Aanbieder {p}", agb_code=f"{43000000 + p:08d}")
            session.add(provider)
            session.flush()
            location = Location(
                code=f"L{p}",
                provider_id=provider.id,
                municipality_id=town.id,
                name=f"Locatie {p}",
                postcode="7511",
                lat=52.2,
                lon=6.9,
            )
            session.add(location)
            session.flush()
            locations.append(location)
        forms = ["crisis", "driemilieu", "jeugdzorgplus"]
        for g in range(n_groups):
            form = forms[g % 3]
            capacity = 6 + g % 7
            hours = {"crisis": 7.0, "driemilieu": 10.0, "jeugdzorgplus": 13.0}[form]
            norm = 1.0 if form == "crisis" else 0.95
            group = create_group(
                session=session,
                location=locations[g % 10],
                name=f"Groep {g}",
                care_form=form,
                capacity=capacity,
                age_min=12,
                age_max=18,
                weekly_roster_hours=round(hours * capacity * norm * 7, 1),
                day_tariff=400.0,
                free_places=0,
                # Active (with its first contract version) since the year before: the report
                # counts only nights in a group's active period under an approved version.
                active_from=date(YEAR - 1, 1, 1),
            )
            if g % 3 == 0:
                # Every third group has a second contract version from 1 July (a new tariff).
                insert_version(
                    session,
                    ContractTerm(
                        region_id=region.id,
                        group_id=group.id,
                        valid_from=date(YEAR, 7, 1),
                        contracted_places=capacity,
                        day_tariff=420.0,
                        availability_funded=True,
                        created_at=utcnow(),
                        created_by="bench",
                    ),
                )
            groups.append((group.id, group.provider_id, capacity))
        full, prefix, key_hash = new_api_key()
        session.add(ApiKey(provider_id=locations[0].provider_id, prefix=prefix, key_hash=key_hash, created_at=utcnow()))
    return groups, full


def year_of_stays(groups: list[tuple[int, int, int]], target_events: int, seed: int) -> list[StaySpec]:
    """Stays per bed (never over capacity) with lengths tuned so the year has about
    ``target_events`` events."""
    rng = random.Random(seed)
    beds = sum(c for _, _, c in groups)
    stays_per_bed = target_events / 2 / beds
    cycle = 365.0 / stays_per_bed
    mean_stay, mean_gap = cycle * 0.75, cycle * 0.25
    start = datetime(YEAR, 1, 1, tzinfo=UTC)
    end = datetime(YEAR, 12, 31, 23, tzinfo=UTC)
    out: list[StaySpec] = []
    events = 0
    for group_id, provider_id, capacity in groups:
        for bed in range(capacity):
            moment = start - timedelta(days=rng.uniform(0, cycle))
            n = 0
            while moment < end:
                admitted = moment
                discharged = admitted + timedelta(days=max(0.2, rng.expovariate(1 / mean_stay)))
                origin = rng.choice(OTHER) if rng.random() < 0.2 else "JZ14"
                done = discharged >= end
                out.append(
                    StaySpec(
                        group_id, provider_id, f"b{group_id}-{bed}-{n}", origin, admitted, None if done else discharged
                    )
                )
                events += 1 if done else 2
                n += 1
                moment = discharged + timedelta(days=rng.expovariate(1 / mean_gap))
    return out


def bench_ingest(db_url: str, api_key: str, groups: list[tuple[int, int, int]], n_events: int) -> dict[str, Any]:
    from starlette.testclient import TestClient

    from backend.main import create_app

    settings = Settings(environment="test", database_url=db_url, secret_key="x" * 40, run_periodic_tasks=False)
    own = [g for g in groups if g[1] == groups[0][1]]
    rng = random.Random(5)
    # Each group gets a sequence of stays, one youth at a time, in the past month.
    base = utcnow() - timedelta(days=30)
    events = []
    for i in range(n_events // 2):
        group_id = own[i % len(own)][0]
        turn = i // len(own)
        admitted = base + timedelta(minutes=turn * 10)
        events.append(
            {
                "event_id": f"ing-a{i}",
                "kind": "admission",
                "group_id": group_id,
                "at": admitted.isoformat(),
                "stay_reference": f"ing{i}",
                "origin_region_code": rng.choice(["JZ14", "JZ07"]),
            }
        )
        events.append(
            {
                "event_id": f"ing-d{i}",
                "kind": "discharge",
                "group_id": group_id,
                "at": (admitted + timedelta(minutes=5)).isoformat(),
                "stay_reference": f"ing{i}",
            }
        )
    batch = 500
    with TestClient(create_app(settings)) as client:
        started = time.perf_counter()
        accepted = 0
        refusals: dict[str, int] = {}
        for i in range(0, len(events), batch):
            response = client.post(
                "/api/v1/occupancy/events", json={"events": events[i : i + batch]}, headers={"X-API-Key": api_key}
            )
            accepted += response.json()["accepted"]
            for result in response.json()["results"]:
                if result["status"] == "refused":
                    refusals[result["code"]] = refusals.get(result["code"], 0) + 1
        seconds = time.perf_counter() - started
        dup_started = time.perf_counter()
        client.post("/api/v1/occupancy/events", json={"events": events[:batch]}, headers={"X-API-Key": api_key})
        dup_seconds = time.perf_counter() - dup_started
    return {
        "events": len(events),
        "accepted": accepted,
        "refusals": refusals,
        "seconds": seconds,
        "per_second": accepted / seconds,
        "duplicate_batch_seconds": dup_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--ingest-events", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    upgrade(url)
    settings = Settings(environment="test", database_url=url, secret_key="x" * 40, run_periodic_tasks=False)
    db = Database(settings)
    groups, api_key = make_world(db, args.groups)
    stays = year_of_stays(groups, args.events, seed=2025)
    load_started = time.perf_counter()
    with db.transaction() as session:
        n_events = bulk_insert_stays(session=session, stays=stays, source="bench")
    load_seconds = time.perf_counter() - load_started

    principal = Principal(kind="user", id=1, name="bench", role="admin", provider_id=None)
    timings = []
    for _ in range(args.repeats):
        with db.transaction(write=False) as session:
            started = time.perf_counter()
            report = post_calculation(session=session, principal=principal, region_code="JZ14", year=YEAR)
            timings.append(time.perf_counter() - started)
    grid_times = []
    group_ids = [g for g, _, _ in groups]
    for _ in range(args.repeats):
        with db.transaction(write=False) as session:
            started = time.perf_counter()
            night_grid(
                session=session,
                group_ids=group_ids,
                own_codes=dict.fromkeys(group_ids, "JZ14"),
                start=datetime(YEAR, 1, 1).date(),
                end=datetime(YEAR, 12, 31).date(),
            )
            grid_times.append(time.perf_counter() - started)
    # The expansion alone, on arrays already in memory.
    ids = np.array(sorted(g for g, _, _ in groups), dtype=np.int64)
    sg = np.array([s.group_id for s in stays], dtype=np.int64)
    ad = np.array([day_number(s.admitted_at.date()) for s in stays], dtype=np.int64)
    dd = np.array([day_number(s.discharged_at.date()) if s.discharged_at else OPEN_END for s in stays], dtype=np.int64)
    own = np.array([s.origin_region_code == "JZ14" for s in stays], dtype=np.int64)
    numpy_times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        expand_stays(ids, sg, ad, dd, own, start_day=day_number(datetime(YEAR, 1, 1).date()), days=365)
        numpy_times.append(time.perf_counter() - started)

    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    total = report["total"]
    print(f"## Occupancy benchmarks ({backend})\n")
    print("| measure | value |\n|---|---|")
    print(f"| groups / stays / events in the year | {len(groups)} / {len(stays)} / {n_events} |")
    print(f"| bulk load of the year (not part of the report) | {load_seconds:.2f} s |")
    print(
        f"| post-calculation of the year, median of {args.repeats} (SQL + expansion + figures) "
        f"| {statistics.median(timings):.3f} s (min {min(timings):.3f}, max {max(timings):.3f}) |"
    )
    print(
        f"| of which reading the stays and expanding them (night_grid), median "
        f"| {statistics.median(grid_times):.3f} s |"
    )
    print(f"| night expansion alone (numpy), median | {statistics.median(numpy_times) * 1000:.1f} ms |")
    print(
        f"| report check: occupancy rate / groups below 50% | {total['occupancy_rate']:.3f} / "
        f"{total['groups_below_50']} |"
    )
    sys.stdout.flush()
    ingest = bench_ingest(url, api_key, groups, args.ingest_events)
    print(
        f"| ingestion via POST /occupancy/events, batches of 500 | {ingest['per_second']:.0f} events/s "
        f"({ingest['accepted']} of {ingest['events']} accepted in {ingest['seconds']:.2f} s; "
        f"refused: {ingest['refusals'] or 'none'}) |"
    )
    print(f"| a batch of 500 duplicates | {ingest['duplicate_batch_seconds'] * 1000:.0f} ms |")
    tmp.cleanup()


if __name__ == "__main__":
    main()
