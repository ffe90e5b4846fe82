"""Crisis benchmarks through HTTP: search latency over a national set of groups, holds per second.

    .venv/bin/python benchmarks/bench_crisis.py [--database sqlite|postgresql|both]
        [--groups 10000] [--searches 2000] [--holds 1000] [--seed 4]

A fresh database per backend (SQLite file in a temporary folder; PostgreSQL: a database of its
own on ``PLEKWIJZER_BENCH_PG_URL``, default ``postgresql://postgres@127.0.0.1:5432/postgres``,
dropped afterwards), migrated with the real migrations and filled with ``--groups`` crisis
places spread over the Netherlands (4-digit postcode centroids from ``../shared/data/4pp.csv``
when present, else uniform points in a box around the country). By default every group is a crisis place,
the worst case for the search (each one passes the care-form filter).

The API runs as ``plekwijzer serve`` in its own process (one worker), like production; the
client is this process. Search: one request at a time over a keep-alive connection (latency),
then 8 at a time (throughput). Holds: ``--holds`` requests, 16 at a time, each on a group with a
free place; then 200 requests at once on one group with 5 free places (contended).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlmodel import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.config import Settings  # noqa: E402
from backend.db import Database  # noqa: E402
from backend.domain import utcnow  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.users.models import User  # noqa: E402
from backend.users.sessions import start_session  # noqa: E402
from tests.servers import server_process  # noqa: E402

SECRET = "benchmark-secret-key-long-enough-for-hs256-signing"
POSTCODES = ROOT.parent / "shared" / "data" / "4pp.csv"


def load_points(rng: random.Random) -> list[tuple[str, float, float]]:
    points: list[tuple[str, float, float]] = []
    if POSTCODES.exists():
        with POSTCODES.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("soort") == "Adres" and row.get("latitude"):
                    points.append((row["postcode"], float(row["latitude"]), float(row["longitude"])))
    if not points:
        points = [(f"{1000 + i}", rng.uniform(50.8, 53.4), rng.uniform(3.5, 7.1)) for i in range(4000)]
    return points


def fill(
    url: str, n_groups: int, rng: random.Random, points: list[tuple[str, float, float]], crisis_share: float = 1.0
) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert(_t(conn, "regions")),
            [
                {
                    "id": r,
                    "code": f"JZ{r:02d}",
                    "name": f"Regio {r}",
                    "settings": {"neighbours": [f"JZ{r - 1:02d}", f"JZ{r + 1:02d}"]},
                }
                for r in range(1, 43)
            ],
        )
        conn.execute(
            insert(_t(conn, "municipalities")),
            [
                {"id": r, "region_id": r, "cbs_code": f"GM{r:04d}", "name": f"Gemeente {r}", "lat": 52.0, "lon": 5.5}
                for r in range(1, 43)
            ],
        )
        n_providers = max(1, n_groups // 20)
        conn.execute(
            insert(_t(conn, "providers")),
            [
                {
                    "id": p,
                    "region_id": 1 + p % 42,
                    "name": f"Crisisaanbieder {p}",
                    "agb_code": f"{40000000 + p:08d}",
                    "phone_24h": f"088-{1000000 + p}",
                }
                for p in range(1, n_providers + 1)
            ],
        )
        locations, groups = [], []
        for g in range(1, n_groups + 1):
            _pc, lat, lon = rng.choice(points)
            provider = 1 + (g % n_providers)
            region = 1 + provider % 42
            locations.append(
                {
                    "id": g,
                    "provider_id": provider,
                    "municipality_id": region,
                    "name": f"Locatie {g}",
                    "postcode": "1000",
                    "lat": lat,
                    "lon": lon,
                }
            )
            capacity = rng.randint(3, 8)
            crisis = rng.random() < crisis_share
            groups.append(
                {
                    "id": g,
                    "provider_id": provider,
                    "location_id": g,
                    "municipality_id": region,
                    "region_id": region,
                    "lat": lat,
                    "lon": lon,
                    "name": f"Crisisgroep {g}" if crisis else f"Woongroep {g}",
                    "care_form": "crisis" if crisis else "woongroep",
                    "capacity": capacity,
                    "age_min": rng.choice([0, 12]),
                    "age_max": 18,
                    "gender_policy": rng.choice(["gemengd", "gemengd", "jongens", "meisjes"]),
                    "risk_profiles": "ABC",
                    "expertise": rng.sample(["trauma", "agressie", "lvb", "hechting"], 2),
                    "weekly_roster_hours": 7.0 * capacity * 7,
                    "occupancy_norm": 1.0,
                    "intensity": "H",
                    "max_intensity": "L",
                    "is_crisis": crisis,
                    "availability_funded": True,
                    "day_tariff": 380.0,
                    "free_places": rng.randint(0, min(3, capacity)),
                    "held_places": 0,
                    "admitting": rng.random() > 0.1,
                    "reported_at": now,
                    "version": 1,
                }
            )
        locations_table, groups_table = _t(conn, "locations"), _t(conn, "groups")
        # Since the contract register (#12) locations and groups carry the provider's own code;
        # the column is filled only where it exists so that the script also runs on older commits.
        if "code" in groups_table.c:
            for row in (*locations, *groups):
                row["code"] = str(row["id"])
        conn.execute(insert(locations_table), locations)
        for start in range(0, len(groups), 2000):
            conn.execute(insert(groups_table), groups[start : start + 2000])
        conn.execute(
            insert(_t(conn, "users")),
            [
                {
                    "id": 1,
                    "username": "crisis",
                    "password_hash": "x",
                    "role": "crisis",
                    "region_id": 14,
                    "active": True,
                    "created_at": now,
                }
            ],
        )
        if conn.dialect.name == "postgresql":
            for table in ("regions", "municipalities", "providers", "locations", "groups", "users"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
            conn.execute(text("ANALYZE"))
    engine.dispose()


def _t(conn, name):  # type: ignore[no-untyped-def]
    from sqlalchemy import MetaData, Table

    return Table(name, MetaData(), autoload_with=conn)


def server_cpu_seconds(base: str) -> float:
    """User+system CPU of the server process behind ``base`` (Linux /proc), so that the cost per
    request can be reported apart from the load other programs put on a shared machine."""
    port = base.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            if b"serve" in cmdline and port.encode() in cmdline:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def bench_search(base: str, headers: dict[str, str], points, rng: random.Random, n: int) -> dict[str, float]:
    bodies = []
    for _ in range(n + 100):
        _pc, lat, lon = rng.choice(points)
        bodies.append(
            {
                "age": rng.randint(10, 17),
                "lat": round(lat, 5),
                "lon": round(lon, 5),
                "gender": rng.choice(["jongen", "meisje"]),
                "radius_km": 50,
                "needs": ["trauma"],
            }
        )
    times, counts = [], []
    cpu_start = 0.0
    with httpx.Client(base_url=base, headers=headers, timeout=30.0) as http:
        for i, body in enumerate(bodies):
            if i == 100:
                cpu_start = server_cpu_seconds(base)
            start = time.perf_counter()
            response = http.post("/api/v1/crisis/search", json=body)
            elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, response.text
            if i >= 100:  # warm-up excluded
                times.append(elapsed)
                counts.append(len(response.json()["results"]))
    cpu_ms = (server_cpu_seconds(base) - cpu_start) / n * 1000

    async def parallel() -> float:
        limits = httpx.Limits(max_connections=8)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30.0, limits=limits) as http:
            sem = asyncio.Semaphore(8)

            async def one(body: dict) -> None:
                async with sem:
                    assert (await http.post("/api/v1/crisis/search", json=body)).status_code == 200

            start = time.perf_counter()
            await asyncio.gather(*(one(b) for b in bodies[:n]))
            return n / (time.perf_counter() - start)

    return {
        "p50": percentile(times, 50),
        "p95": percentile(times, 95),
        "p99": percentile(times, 99),
        "mean": statistics.fmean(times),
        "results": statistics.fmean(counts),
        "cpu_ms": cpu_ms,
        "rps8": asyncio.run(parallel()),
    }


def bench_holds(base: str, headers: dict[str, str], url: str, n: int) -> dict[str, float]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        hot = conn.execute(text("SELECT min(id) FROM groups WHERE care_form = 'crisis'")).scalar_one()
        free = [
            row[0]
            for row in conn.execute(
                text(
                    "SELECT id FROM groups WHERE care_form = 'crisis' AND admitting AND free_places > held_places "
                    "ORDER BY id"
                )
            )
        ]
        conn.execute(
            text("UPDATE groups SET capacity = 8, free_places = 5, admitting = true WHERE id = :id"), {"id": hot}
        )
        conn.commit()
    engine.dispose()
    targets = [g for g in free if g != hot][:n]

    async def run(group_ids: list[int], width: int) -> tuple[float, int, int]:
        limits = httpx.Limits(max_connections=width)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120.0, limits=limits) as http:
            sem = asyncio.Semaphore(width)

            async def one(i: int, gid: int) -> int:
                async with sem:
                    r = await http.post("/api/v1/holds", json={"group_id": gid, "crisis_reference": f"B-{i}"})
                    return r.status_code

            start = time.perf_counter()
            codes = await asyncio.gather(*(one(i, g) for i, g in enumerate(group_ids)))
            return time.perf_counter() - start, codes.count(201), codes.count(409)

    spread_s, spread_ok, _ = asyncio.run(run(targets, 16))
    hot_s, hot_ok, hot_409 = asyncio.run(run([hot] * 200, 200))
    return {
        "holds": len(targets),
        "ok": spread_ok,
        "per_s": spread_ok / spread_s,
        "hot_s": hot_s,
        "hot_ok": hot_ok,
        "hot_409": hot_409,
        "hot_per_s": 200 / hot_s,
    }


def run_backend(name: str, args: argparse.Namespace, points) -> dict[str, object]:
    rng = random.Random(args.seed)
    cleanup = None
    if name == "sqlite":
        folder = tempfile.mkdtemp(prefix="bench-crisis-")
        url = f"sqlite:///{folder}/bench.db"
    else:
        admin = os.environ.get("PLEKWIJZER_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        admin_engine = create_engine(
            admin.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
        )
        db_name = f"plekwijzer_bench_{uuid.uuid4().hex[:8]}"
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        url = make_url(admin).set(database=db_name).render_as_string(hide_password=False)

        def cleanup() -> None:
            with admin_engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            admin_engine.dispose()

    try:
        upgrade(url)
        fill(url, args.groups, rng, points, args.crisis_share)
        settings = Settings(environment="test", database_url=url, secret_key=SECRET)
        # A real login session: tokens without one are refused.
        db = Database(settings)
        with db.transaction() as session:
            # ``fill`` made the crisis worker (region 14); only its login session is new here.
            user = session.exec(select(User).where(User.username == "crisis")).one()
            token = start_session(session=session, user=user, settings=settings).access_token
        db.dispose()
        headers = {"Authorization": f"Bearer {token}"}
        with server_process(url, secret_key=SECRET) as base:
            search = bench_search(base, headers, points, rng, args.searches)
            holds = bench_holds(base, headers, url, args.holds)
        return {"backend": name, **search, **holds}
    finally:
        if cleanup:
            cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=2000)
    parser.add_argument("--holds", type=int, default=500)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--crisis-share",
        type=float,
        default=1.0,
        help="share of the groups that are crisis places (1.0: the worst case)",
    )
    args = parser.parse_args()
    points = load_points(random.Random(args.seed))
    backends = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    rows = [run_backend(b, args, points) for b in backends]
    print(
        f"\nCrisis search over {args.groups:,} groups ({args.crisis_share:.0%} crisis places) through HTTP "
        f"(one server process, "
        f"radius 50 km, {args.searches} searches after 100 warm-up, keep-alive)\n"
    )
    print(
        "| database | p50 ms | p95 ms | p99 ms | mean ms | server CPU ms/search | results/search "
        "| searches/s (8 parallel) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['backend']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['mean']:.1f} | "
            f"{r['cpu_ms']:.1f} | {r['results']:.1f} | {r['rps8']:.0f} |"
        )
    print(f"\nload average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("\nHolds through HTTP (POST /api/v1/holds)\n")
    print(
        "| database | holds on different groups (16 parallel) | holds/s | 200 at once on 1 group with 5 free "
        "| successes / 409 | requests/s |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['backend']} | {r['ok']}/{r['holds']} | {r['per_s']:.0f} | {r['hot_s']:.2f} s | "
            f"{r['hot_ok']} / {r['hot_409']} | {r['hot_per_s']:.0f} |"
        )


if __name__ == "__main__":
    main()
