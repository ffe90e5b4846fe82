"""Benchmark of the steering indicators over three years; prints a markdown table.

    .venv/bin/python benchmarks/bench_indicators.py [--database sqlite|postgresql|both]
        [--referrals 50000] [--events 500000] [--repeats 5] [--write]

Fixed seed. A fresh migrated database (SQLite file, or a scratch PostgreSQL database that is
dropped afterwards) gets a Twente-like region (120 groups of every kind, 20 providers) and a
neighbour region, then three years (2023-2025) of history written in bulk: ``--referrals``
referrals, about 1.6 proposals each (with declines by reason, expiries), placements with
discharges and transfers, crisis holds, and ``--events`` occupancy-feed events (admissions and
discharges forming stays, never over a group's places). Then ``indicators()`` - every section,
the whole three years, as the region's coordinator - is timed in-process: once with nothing kept
(the first request: every closed month read from the rows and kept, backend/indicators/monthly.py),
then ``--repeats`` times with the closed months kept; and the same with a care-form filter and for
one provider. Last, the first request after a correction of one closed month (a stay's discharge
moved back by a day). The load average is printed before and after each database.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.auth import Principal  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.crisis.models import Hold  # noqa: E402
from backend.db import Database  # noqa: E402
from backend.indicators.models import Filters  # noqa: E402
from backend.indicators.monthly import forget  # noqa: E402
from backend.indicators.service import (  # noqa: E402
    indicators,
    keep_closed_months,
    kept_ahead,
)
from backend.matching.models import Proposal, Referral  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.occupancy.bulk import StaySpec, bulk_insert_stays  # noqa: E402
from backend.placements.models import Placement  # noqa: E402
from backend.providers.models import Group, Location, Provider  # noqa: E402
from backend.providers.service import create_group  # noqa: E402
from backend.regions.models import Municipality, Region  # noqa: E402
from benchmarks.common import empty_database, machine_note, markdown_table  # noqa: E402

START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2025, 12, 31, 23, tzinfo=UTC)
KINDS = [  # care form, places, weekly roster hours
    ("woongroep", 8, 220.0),
    ("behandelgroep", 8, 300.0),
    ("gezinshuis", 5, 60.0),
    ("crisis", 6, 300.0),
    ("driemilieu", 10, 600.0),
    ("jeugdzorgplus", 10, 700.0),
]
REASONS = ["geen_plek_meer", "past_niet_bij_groep", "groepsdynamiek", "veiligheid", "personeel"]
DESTINATIONS = ["home", "foster_care", "residential", "independent", "other"]


def make_world(db: Database) -> dict[str, Any]:
    with db.transaction() as session:
        region = Region(code="JZ14", name="Twente", settings={})
        other = Region(code="JZ07", name="IJsselland", settings={})
        session.add_all([region, other])
        session.flush()
        towns = [
            Municipality(region_id=region.id, cbs_code=f"GM01{i:02d}", name=f"Gemeente {i}", lat=52.2 + i / 50, lon=6.6)
            for i in range(14)
        ]
        far = Municipality(region_id=other.id, cbs_code="GM0150", name="Deventer", lat=52.25, lon=6.16)
        session.add_all([*towns, far])
        session.flush()
        groups: list[dict[str, Any]] = []
        for p in range(22):
            own = p < 20
            provider = Provider(
                region_id=region.id if own else other.id, name=f"Aanbieder {p}", agb_code=f"{44000000 + p:08d}"
            )
            session.add(provider)
            session.flush()
            town = towns[p % 14] if own else far
            location = Location(
                code=f"L{p}", provider_id=provider.id, municipality_id=town.id, name=f"Locatie {p}",
                postcode="7511", lat=town.lat, lon=town.lon,
            )  # fmt: skip
            session.add(location)
            session.flush()
            for g in range(6):
                form, places, hours = KINDS[(p + g) % len(KINDS)]
                group = create_group(
                    session=session, location=location, name=f"Groep {p}-{g}", care_form=form, capacity=places,
                    age_min=12, age_max=18, weekly_roster_hours=hours, free_places=1,
                    level="middel" if form == "gezinshuis" else None, active_from=date(2022, 1, 1),
                )  # fmt: skip
                groups.append({"id": group.id, "provider": provider.id, "region": group.region_id,
                               "places": places, "own": own, "lat": group.lat, "lon": group.lon})  # fmt: skip
        coordinator = Principal(
            kind="user", id=1, name="bench", role="coordinator", provider_id=None, region_id=region.id
        )
        return {"region": region.id, "other": other.id, "groups": groups, "towns": [t.id for t in towns],
                "coordinator": coordinator}  # fmt: skip


def history(db: Database, world: dict[str, Any], n_referrals: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    own_groups = [g for g in world["groups"] if g["own"]]
    with db.transaction(write=False) as session:  # ids of its own, after any referral already there
        first = int(session.exec(select(func.coalesce(func.max(Referral.id), 0))).one()) + 1  # type: ignore[arg-type]
    span = (END - START).total_seconds()
    referrals, proposals, placements, holds = [], [], [], []
    for i in range(n_referrals):
        waiting = START + timedelta(seconds=rng.uniform(0, span))
        referral = {
            "id": first + i, "region_id": world["region"], "reference": f"B-{i}", "birth_year": 2009, "birth_month": 3,
            "gender": "m", "home_lat": 52.2 + rng.random() / 3, "home_lon": 6.5 + rng.random() / 2,
            "home_municipality_id": rng.choice(world["towns"]), "origin_region_code": "JZ14",
            "care_forms": [rng.choice(KINDS)[0]], "required_intensity": rng.choice("CDEFGHIJ"),
            "max_distance_km": rng.choice([None, 20.0, 40.0]), "waiting_since": waiting, "status": "waiting",
            "created_at": waiting, "updated_at": waiting,
            "needs": [], "excluded_provider_ids": [], "excluded_group_ids": [],
        }  # fmt: skip
        moment = waiting
        for _attempt in range(3):
            moment += timedelta(days=rng.expovariate(1 / 12))
            if moment > END:
                break
            group = rng.choice(own_groups) if rng.random() < 0.97 else rng.choice(world["groups"])
            roll = rng.random()
            status = "accepted" if roll < 0.6 else "declined" if roll < 0.9 else "expired"
            proposals.append({
                "referral_id": first + i, "group_id": group["id"], "provider_id": group["provider"],
                "region_id": world["region"], "status": status, "created_at": moment, "created_by": "bench",
                "expires_at": moment + timedelta(days=3), "components": {},
                "decline_reason": rng.choice(REASONS) if status == "declined" else None,
            })  # fmt: skip
            if status != "accepted":
                continue
            arrived = moment + timedelta(days=rng.expovariate(1 / 7))
            if arrived > END:
                referral["status"] = "accepted"
                break
            left = arrived + timedelta(days=rng.expovariate(1 / 200))
            ended = left < END
            placements.append({
                "referral_id": first + i, "group_id": group["id"], "provider_id": group["provider"],
                "region_id": world["region"], "status": "discharged" if ended else "arrived",
                "expected_arrival": arrived.date(), "stay_reference": f"pl-{i}", "arrived_at": arrived,
                "discharged_at": left if ended else None, "destination": rng.choice(DESTINATIONS) if ended else None,
                "created_at": moment, "created_by": "bench", "updated_at": moment,
            })  # fmt: skip
            referral["status"] = "discharged" if ended else "placed"
            break
        if referral["status"] == "waiting" and rng.random() < 0.2:
            referral["status"] = "withdrawn"
            referral["updated_at"] = waiting + timedelta(days=rng.uniform(1, 90))
        referrals.append(referral)
    crisis = [g for g in world["groups"] if g["places"] == 6]
    for _ in range(n_referrals // 15):
        created = START + timedelta(seconds=rng.uniform(0, span))
        group = rng.choice(crisis)
        status = rng.choice(["confirmed", "confirmed", "released", "expired", "rejected"])
        holds.append({
            "group_id": group["id"], "provider_id": group["provider"], "region_id": world["region"],
            "status": status, "crisis_reference": "CR-BENCH", "minutes": 120, "created_at": created,
            "expires_at": created + timedelta(minutes=120), "created_by": "bench",
            "confirmed_at": created + timedelta(minutes=rng.uniform(10, 110)) if status == "confirmed" else None,
        })  # fmt: skip
    with db.transaction() as session:
        for table, rows in ((Referral, referrals), (Proposal, proposals), (Placement, placements), (Hold, holds)):
            for chunk in range(0, len(rows), 5000):
                session.execute(insert(table), rows[chunk : chunk + 5000])
    return {
        "referrals": len(referrals),
        "proposals": len(proposals),
        "placements": len(placements),
        "holds": len(holds),
    }


def feed(db: Database, world: dict[str, Any], target_events: int, seed: int) -> int:
    """Stays per bed over the three years, never over a group's places."""
    rng = random.Random(seed)
    groups = [g for g in world["groups"] if g["own"]]
    beds = sum(g["places"] for g in groups)
    cycle = (END - START).days / (target_events / 2 / beds)
    stays: list[StaySpec] = []
    for group in groups:
        for bed in range(group["places"]):
            moment = START - timedelta(days=rng.uniform(0, cycle))
            n = 0
            while moment < END:
                left = moment + timedelta(days=max(0.2, rng.expovariate(1 / (cycle * 0.8))))
                origin = "JZ07" if rng.random() < 0.15 else "JZ14"
                stays.append(StaySpec(group["id"], group["provider"], f"f{group['id']}-{bed}-{n}", origin, moment,
                                      None if left >= END else left))  # fmt: skip
                n += 1
                moment = left + timedelta(days=rng.expovariate(1 / (cycle * 0.2)))
    with db.transaction() as session:
        return bulk_insert_stays(session=session, stays=stays, source="bench")


def existing_world(db: Database) -> dict[str, Any]:
    """The world of a database loaded by an earlier run (``--keep-sqlite``)."""
    with db.transaction(write=False) as session:
        region = session.exec(select(Region).where(Region.code == "JZ14")).one()
        groups = session.exec(select(Group)).all()
    return {
        "region": region.id,
        "groups": [{"id": g.id, "provider": g.provider_id, "own": g.region_id == region.id} for g in groups],
        "coordinator": Principal(
            kind="user", id=1, name="bench", role="coordinator", provider_id=None, region_id=region.id
        ),
    }


BENCH_PERIOD = (date(2023, 1, 1), date(2025, 12, 31))


def once(
    db: Database, world: dict[str, Any], filters: Filters, period: tuple[date, date] = BENCH_PERIOD
) -> tuple[float, float]:
    """One request's wall-clock and CPU seconds (this process: on SQLite the whole query work, on
    PostgreSQL without the server's share), with its commit and the keeping of months read."""
    began, began_cpu = time.perf_counter(), time.process_time()
    with db.transaction(write=False) as session:
        report = indicators(
            session=session, principal=world["coordinator"], region_code="JZ14", start=period[0],
            end=period[1], filters=filters, stale_hours=24.0,
        )  # fmt: skip
    elapsed = time.perf_counter() - began, time.process_time() - began_cpu
    assert report["proposals"]["total"]["sent"] > 0
    return elapsed


def timed(
    db: Database, world: dict[str, Any], repeats: int, filters: Filters, *, cold: bool = False
) -> tuple[list[float], list[float]]:
    """``cold``: one request with no month kept; else ``repeats`` after one warm-up."""
    if cold:
        with db.transaction() as session:
            forget(session)
        runs = [once(db, world, filters)]
    else:
        once(db, world, filters)
        runs = [once(db, world, filters) for _ in range(repeats)]
    return [r[0] for r in runs], [r[1] for r in runs]


def correct_one_month(db: Database, world: dict[str, Any]) -> None:
    """A late correction: one stay of June 2024 left a day earlier (its month is read again)."""
    with db.transaction() as session:
        session.connection().exec_driver_sql(
            "UPDATE occupancy_stays SET discharge_day = discharge_day - 1 WHERE id = (SELECT MIN(id) "
            "FROM occupancy_stays WHERE discharge_day > '2024-06-10' AND discharge_day < '2024-06-20' "
            "AND discharge_day - 1 > admit_day)"
            if db.engine.dialect.name == "postgresql"
            else "UPDATE occupancy_stays SET discharge_day = date(discharge_day, '-1 day') WHERE id = (SELECT MIN(id) "
            "FROM occupancy_stays WHERE discharge_day > '2024-06-10' AND discharge_day < '2024-06-20' "
            "AND date(discharge_day, '-1 day') > admit_day)"
        )


def run(kind: str, args: argparse.Namespace) -> list[list[object]]:
    if kind == "sqlite" and args.keep_sqlite:
        keep = Path(args.keep_sqlite)
        fresh = not keep.exists()
        if fresh:
            upgrade(f"sqlite:///{keep}")
        return measure(kind, f"sqlite:///{keep}", args, load=fresh)
    with empty_database(kind) as url:
        return measure(kind, url, args, load=True)


def measure(kind: str, url: str, args: argparse.Namespace, *, load: bool) -> list[list[object]]:
    settings = Settings(environment="test", database_url=url, secret_key="x" * 40, run_periodic_tasks=False)
    db = Database(settings)
    try:
        if load:
            world = make_world(db)
            began = time.perf_counter()
            counts = history(db, world, args.referrals, args.seed)
            counts["events"] = feed(db, world, args.events, args.seed)
            print(f"{kind}: {counts} loaded in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        else:
            world = existing_world(db)
            counts = {"referrals": args.referrals, "events": args.events}
        if kind == "postgresql":
            with db.transaction() as session:
                session.connection().exec_driver_sql("ANALYZE")
        rows: list[list[object]] = []
        provider = next(g["provider"] for g in world["groups"] if g["own"])
        print(f"{kind}: load average before {os.getloadavg()[0]:.2f}", file=sys.stderr)
        for label, filters in (
            ("whole region", Filters()),
            ("care form behandelgroep", Filters(care_form="behandelgroep")),
            ("one provider", Filters(provider_id=provider)),
        ):
            for cold in (True, False):
                times, cpu = timed(db, world, args.repeats, filters, cold=cold)
                rows.append([kind, f"{label}, {'nothing kept (first request)' if cold else 'closed months kept'}",
                             f"{statistics.median(times) * 1000:.0f} ms", f"{max(times) * 1000:.0f} ms",
                             f"{statistics.median(cpu) * 1000:.0f} ms"])  # fmt: skip
        once(db, world, Filters())  # every month kept again
        correct_one_month(db, world)
        wall, cpu_once = once(db, world, Filters())
        rows.append([kind, "whole region, first request after a correction of June 2024",
                     f"{wall * 1000:.0f} ms", f"{wall * 1000:.0f} ms", f"{cpu_once * 1000:.0f} ms"])  # fmt: skip
        # After a deploy: nothing kept, the periodic round (a minute after the start, in the
        # background) reads the last 36 closed months, then the first dashboard of that period.
        with db.transaction() as session:
            forget(session)
        began, began_cpu = time.perf_counter(), time.process_time()
        keep_closed_months(db)
        round_wall, round_cpu = time.perf_counter() - began, time.process_time() - began_cpu
        rows.append([kind, "periodic round keeping the last 36 closed months (background), nothing kept before",
                     f"{round_wall * 1000:.0f} ms", f"{round_wall * 1000:.0f} ms",
                     f"{round_cpu * 1000:.0f} ms"])  # fmt: skip
        wall, cpu_once = once(db, world, Filters(), kept_ahead())
        first, last = kept_ahead()
        rows.append([kind, f"whole region {first}..{last}, first request after that round",
                     f"{wall * 1000:.0f} ms", f"{wall * 1000:.0f} ms", f"{cpu_once * 1000:.0f} ms"])  # fmt: skip
        print(f"{kind}: load average after {os.getloadavg()[0]:.2f}", file=sys.stderr)
        return rows
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--referrals", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--keep-sqlite", help="SQLite file to load once and reuse (measuring again without loading)")
    parser.add_argument("--write", action="store_true", help="write benchmarks/RESULTS_indicators.md")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    rows = [row for kind in kinds for row in run(kind, args)]
    table = markdown_table(["database", "indicators", "median", "slowest", "CPU (this process), median"], rows)
    text = (
        "# Indicators (#17 point 1): three years of history\n\n"
        f"Command: `.venv/bin/python benchmarks/bench_indicators.py --referrals {args.referrals} "
        f"--events {args.events} --repeats {args.repeats}{' --write' if args.write else ''}`\n\n"
        "`indicators()` in-process (every section: waiting times with Kaplan-Meier, proposals, placements, "
        "scaling, occupancy of every group, crisis, freshness) over 2023-01-01 .. 2025-12-31, "
        f"{args.repeats} timed runs after one warm-up. Goal: under 1 s.\n\n{table}\n\n{machine_note()}\n"
    )
    print(text)
    if args.write:
        (ROOT / "benchmarks" / "RESULTS_indicators.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
