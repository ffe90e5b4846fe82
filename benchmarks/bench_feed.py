"""Benchmark of the occupancy feed (issue 14): a year of history for 500 groups posted through the
API to a real ``plekwijzer serve`` process, on SQLite and on PostgreSQL. Prints markdown tables.

    .venv/bin/python benchmarks/bench_feed.py [--database sqlite|postgresql|both] [--events 200000]
        [--batch 5000] [--format ndjson|json]

Per database (each run on a fresh, migrated database with one provider of 500 groups and its API
key; fixed seed):

1. the year (about ``--events`` admission and discharge events: stays per bed, never over a
   group's places, the last ones still open) in time order, in batches of ``--batch`` events;
2. the first 50,000 events of it again as one batch: every event a duplicate;
3. on another fresh database the same year in batches of 50,000: the first request is "one
   50,000-event batch".

The request bodies are made before the clock starts (a provider's system has its export ready);
the time is the wall time of the HTTP requests, the whole server path included (reading and
validating the body, locking the groups, checking every event on the group's timeline, writing
events and stays, one announcement per group, the audit row, the answer with a result per event).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from common import (
    SERVER_PIDS,
    BenchWorld,
    bench_database,
    machine_note,
    markdown_table,
    process_cpu_seconds,
    servers,
)
from sqlalchemy import create_engine

ORIGINS = ["JZ07", "JZ25", "JZ13"]
BIG_BATCH = 50_000


def year_of_events(world: BenchWorld, target: int, seed: int) -> list[dict[str, Any]]:
    """Stays per bed over the last 365 days, lengths tuned so the year has about ``target``
    events; the stays still running now have no discharge. Sorted by moment, as an export is."""
    rng = random.Random(seed)
    beds = sum(world.capacities.values())
    cycle = 365.0 / (target / 2 / beds)  # days from one admission in a bed to the next
    mean_stay, mean_gap = cycle * 0.8, cycle * 0.2
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    start = end - timedelta(days=365)
    events: list[dict[str, Any]] = []
    for group_id in world.group_ids:
        for bed in range(world.capacities[group_id]):
            moment = start + timedelta(days=rng.uniform(0, cycle))
            n = 0
            while moment < end:
                ref = f"v{group_id}-{bed}-{n}"
                origin = rng.choice(ORIGINS) if rng.random() < 0.2 else "JZ14"
                events.append(
                    {
                        "event_id": f"{ref}-a",
                        "kind": "admission",
                        "group_id": group_id,
                        "at": moment.isoformat(),
                        "stay_reference": ref,
                        "origin_region_code": origin,
                    }
                )
                discharged = moment + timedelta(days=max(0.1, rng.expovariate(1 / mean_stay)))
                if discharged >= end:
                    break
                events.append(
                    {
                        "event_id": f"{ref}-d",
                        "kind": "discharge",
                        "group_id": group_id,
                        "at": discharged.isoformat(),
                        "stay_reference": ref,
                    }
                )
                n += 1
                moment = discharged + timedelta(days=max(0.01, rng.expovariate(1 / mean_gap)))
    events.sort(key=lambda e: (e["at"], e["kind"] != "discharge", e["event_id"]))
    return events


def bodies(events: list[dict[str, Any]], size: int, form: str) -> list[tuple[bytes, str]]:
    out = []
    for start in range(0, len(events), size):
        part = events[start : start + size]
        if form == "ndjson":
            out.append(("\n".join(json.dumps(e) for e in part).encode() + b"\n", "application/x-ndjson"))
        else:
            out.append((json.dumps({"events": part}).encode(), "application/json"))
    return out


def post_all(base: str, key: str, batches: list[tuple[bytes, str]]) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    times = []
    cpu_before = process_cpu_seconds(SERVER_PIDS[base])
    with httpx.Client(base_url=base, timeout=900) as client:
        started = time.perf_counter()
        for body, content_type in batches:
            sent = time.perf_counter()
            response = client.post(
                "/api/v1/occupancy/events", content=body, headers={"X-API-Key": key, "Content-Type": content_type}
            )
            times.append(time.perf_counter() - sent)
            response.raise_for_status()
            result = response.json()
            counts.update(accepted=result["accepted"], duplicates=result["duplicates"], refused=result["refused"])
            refusals.update(r["code"] for r in result["results"] if r["status"] == "refused")
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "requests": len(batches),
        "slowest": max(times),
        "first": times[0],
        "counts": counts,
        "refusals": dict(refusals),
        "server_cpu": process_cpu_seconds(SERVER_PIDS[base]) - cpu_before,
    }


def without_indicator_triggers(database_url: str) -> None:
    """For a comparison only: drop the triggers that keep the indicators' closed months honest
    (migration 0016), to measure what they cost the feed."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = conn.exec_driver_sql(
                "SELECT tgname, tgrelid::regclass FROM pg_trigger WHERE starts_with(tgname, 'indicators_changed')"
            ).all()
            for trigger, table in names:
                conn.exec_driver_sql(f"DROP TRIGGER {trigger} ON {table}")
        else:
            names = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, 18) = 'indicators_changed'"
            ).all()
            for (trigger,) in names:
                conn.exec_driver_sql(f"DROP TRIGGER {trigger}")
    engine.dispose()


def run(kind: str, target: int, batch: int, form: str, *, triggers: bool = True) -> list[list[object]]:
    rows: list[list[object]] = []
    name = ("SQLite" if kind == "sqlite" else "PostgreSQL") + ("" if triggers else " without indicator triggers")
    for size in dict.fromkeys([batch, BIG_BATCH]):
        with bench_database(kind, providers=1, groups_per_provider=500) as world:
            if not triggers:
                without_indicator_triggers(world.database_url)
            events = year_of_events(world, target, seed=14)
            key = next(iter(world.api_keys.values()))
            batches = bodies(events, size, form)
            megabytes = sum(len(b) for b, _ in batches) / 1e6
            with servers(world.database_url) as (base,):
                loaded = post_all(base, key, batches)
                n = len(events)
                rows.append(
                    [
                        name,
                        f"the year: {n:,} events in {loaded['requests']} batches of {size:,} "
                        f"({form}, {megabytes:.0f} MB)",
                        f"{loaded['seconds']:.1f} s",
                        f"{loaded['counts']['accepted'] / loaded['seconds']:,.0f}",
                        f"{loaded['slowest']:.1f} s",
                        f"{loaded['server_cpu'] / n * 1e6:.0f} µs",
                        f"{loaded['counts']['accepted']:,} accepted, refused: {loaded['refusals'] or 'none'}",
                    ]
                )
                first = min(n, BIG_BATCH)
                if size != BIG_BATCH:
                    again = post_all(base, key, bodies(events[:BIG_BATCH], BIG_BATCH, form))
                    rows.append(
                        [
                            name,
                            f"the first {first:,} again in one batch (all duplicates)",
                            f"{again['seconds']:.1f} s",
                            f"{first / again['seconds']:,.0f}",
                            f"{again['slowest']:.1f} s",
                            f"{again['server_cpu'] / first * 1e6:.0f} µs",
                            f"{again['counts']['duplicates']:,} duplicates",
                        ]
                    )
                else:
                    rows.append(
                        [
                            name,
                            f"one batch of {first:,} events (the first request of the year above)",
                            f"{loaded['first']:.1f} s",
                            f"{first / loaded['first']:,.0f}",
                            "",
                            "",
                            "",
                        ]
                    )
        print(f"  {name}, batches of {size:,}: {loaded['seconds']:.1f} s", file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--format", choices=["ndjson", "json"], default="ndjson")
    parser.add_argument(
        "--without-indicator-triggers", action="store_true", help="drop the indicators' triggers first (to compare)"
    )
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    rows: list[list[object]] = []
    for kind in kinds:
        rows += run(kind, args.events, args.batch, args.format, triggers=not args.without_indicator_triggers)
    print("## Occupancy feed: a year of history for 500 groups through the API\n")
    print(
        markdown_table(
            ["database", "what", "total", "events/s", "slowest request", "server CPU per event", "outcome"], rows
        )
    )
    print(f"\n{machine_note()}")


if __name__ == "__main__":
    main()
