"""Ranking one referral through HTTP, database reads (and the audit write) included.

    .venv/bin/python benchmarks/bench_matching_http.py [--groups 2000 10000] [--requests 400]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

For each size: a fresh database (SQLite file in a temp dir; with --database-url also a fresh
PostgreSQL database next to the one given), migrated, filled with one region of N groups (fixed
seed), 50 waiting referrals and a coordinator; then ``plekwijzer serve`` runs as its own process
and one client sends GET /api/v1/referrals/{id}/options?limit=10 for rotating referrals, one at a
time. The first request per size (which builds the cached group table) is reported apart; the
percentiles are over the following requests. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.config import Settings  # noqa: E402
from backend.db import Database  # noqa: E402
from backend.domain import (  # noqa: E402
    CARE_FORMS,
    NEED_TAGS,
    care_form_max_intensity,
    hours_per_child_per_day,
    intensity_index,
    intensity_letter,
    utcnow,
)
from backend.migrate import upgrade  # noqa: E402
from backend.providers.models import Group, Location, Provider  # noqa: E402
from backend.referrals.models import Referral  # noqa: E402
from backend.regions.models import Municipality, Region  # noqa: E402
from backend.users.models import User  # noqa: E402
from backend.users.sessions import start_session  # noqa: E402

SECRET = "benchmark-secret-key-that-is-long-enough-for-hs256"
TWENTE = [
    ("Almelo", "GM0141", 52.356, 6.659),
    ("Borne", "GM0147", 52.309, 6.750),
    ("Enschede", "GM0153", 52.218, 6.891),
    ("Hengelo", "GM0164", 52.267, 6.793),
    ("Oldenzaal", "GM0173", 52.309, 6.921),
    ("Wierden", "GM0189", 52.343, 6.551),
]
HOURS = {"kamertraining": (1.0, 2.9), "jeugdzorgplus": (6.0, 14.0), "driemilieu": (5.0, 13.0)}


def fill(url: str, n_groups: int, seed: int = 7) -> str:
    """Fill a migrated database; return a coordinator token."""
    rng = random.Random(seed)
    settings = Settings(environment="test", database_url=url, secret_key=SECRET, run_periodic_tasks=False)
    db = Database(settings)
    now = utcnow()
    with db.transaction() as s:
        region = Region(code="JZ14", name="Twente", settings={})
        s.add(region)
        s.flush()
        muns = [Municipality(region_id=region.id, cbs_code=c, name=n, lat=la, lon=lo) for n, c, la, lo in TWENTE]
        s.add_all(muns)
        s.flush()
        n_providers = max(10, n_groups // 20)
        providers = [
            Provider(region_id=region.id, name=f"Aanbieder {i}", agb_code=f"{43000000 + i:08d}")
            for i in range(n_providers)
        ]
        s.add_all(providers)
        s.flush()
        locations = []
        for p in providers:
            m = rng.choice(muns)
            locations.append(
                Location(
                    code=f"L{m.id}",
                    provider_id=p.id,
                    municipality_id=m.id,
                    name=f"Locatie {p.id}",
                    postcode="7500",
                    lat=m.lat + rng.uniform(-0.1, 0.1),
                    lon=m.lon + rng.uniform(-0.15, 0.15),
                )
            )
        s.add_all(locations)
        s.flush()
        forms = list(CARE_FORMS)
        tags = list(NEED_TAGS)
        rows = []
        for i in range(n_groups):
            loc = locations[i % len(locations)]
            form = rng.choice(forms)
            capacity = rng.randint(4, 12)
            norm = 1.0 if form == "crisis" else 0.95
            low, high = HOURS.get(form, (1.0, 10.5))
            roster = rng.uniform(low, high) * capacity * norm * 7
            intensity = intensity_letter(
                hours_per_child_per_day(weekly_roster_hours=roster, places=capacity, occupancy_norm=norm)
            )
            max_int = care_form_max_intensity(form)
            if intensity_index(intensity) > intensity_index(max_int):
                intensity = max_int
            free = rng.choice([0, 0, 1, 1, 2, 3])
            rows.append(
                dict(
                    provider_id=loc.provider_id,
                    location_id=loc.id,
                    municipality_id=loc.municipality_id,
                    region_id=region.id,
                    lat=loc.lat,
                    lon=loc.lon,
                    name=f"Groep {i}",
                    care_form=form,
                    capacity=capacity,
                    age_min=rng.choice([0, 6, 12]),
                    age_max=rng.choice([17, 18, 21]),
                    gender_policy=rng.choice(["gemengd", "gemengd", "jongens", "meisjes"]),
                    risk_profiles=rng.choice(["A", "AB", "ABC"]),
                    expertise=rng.sample(tags, rng.randint(1, 4)),
                    weekly_roster_hours=roster,
                    occupancy_norm=norm,
                    intensity=intensity,
                    max_intensity=max_int,
                    is_crisis=form == "crisis",
                    availability_funded=False,
                    day_tariff=200.0,
                    free_places=free,
                    held_places=0,
                    admitting=True,
                    reported_at=now,
                    version=1,
                )
            )
        s.execute(insert(Group), rows)
        for i in range(50):
            m = rng.choice(muns)
            wanted = rng.sample([f for f in forms if f != "jeugdzorgplus"], 3)
            s.add(
                Referral(
                    region_id=region.id,
                    reference=f"B-{i:04d}",
                    birth_year=now.year - rng.randint(8, 17),
                    birth_month=1,
                    gender=rng.choice("mvx"),
                    home_municipality_id=m.id,
                    home_lat=m.lat,
                    home_lon=m.lon,
                    origin_region_code="JZ14",
                    care_forms=wanted,
                    required_intensity=rng.choice("ABCDE"),
                    risk_profile=rng.choice("AB"),
                    needs=rng.sample(tags, 2),
                    urgency=3,
                    excluded_provider_ids=[],
                    excluded_group_ids=[],
                    waiting_since=now,
                    status="waiting",
                    created_at=now,
                    updated_at=now,
                )
            )
        user = User(username="coordinator", password_hash="x", role="coordinator", region_id=region.id, created_at=now)
        s.add(user)
        s.flush()
        token = start_session(session=s, user=user, settings=settings).access_token
    db.dispose()
    return token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) the server process used so far; Linux only. On a shared, busy
    machine this shows the cost of a request apart from the time spent waiting for a core."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(url: str, token: str, n_requests: int) -> dict[str, float]:
    port = free_port()
    env = {
        **os.environ,
        "PLEKWIJZER_DATABASE_URL": url,
        "PLEKWIJZER_SECRET_KEY": SECRET,
        "PLEKWIJZER_ENVIRONMENT": "test",
        "PLEKWIJZER_RUN_PERIODIC_TASKS": "false",
    }
    errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                errors.seek(0)
                raise RuntimeError("server did not start: " + errors.read().decode()[-2000:])
            time.sleep(0.1)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            t0 = time.perf_counter()
            first = client.get("/api/v1/referrals/1/options?limit=10")
            cold_ms = (time.perf_counter() - t0) * 1000
            assert first.status_code == 200, first.text
            times = []
            cpu0 = server_cpu_seconds(proc.pid)
            for i in range(n_requests):
                rid = 1 + i % 50
                t0 = time.perf_counter()
                r = client.get(f"/api/v1/referrals/{rid}/options?limit=10")
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
            cpu1 = server_cpu_seconds(proc.pid)
            total = first.json()["total_groups"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        errors.close()
    times.sort()

    def pct(p: float) -> float:
        return times[min(len(times), math.ceil(p / 100 * len(times))) - 1]  # nearest rank

    return {
        "groups": total,
        "cold_ms": cold_ms,
        "p50": statistics.median(times),
        "p95": pct(95),
        "p99": pct(99),
        "max": times[-1],
        "n": len(times),
        "cpu_ms": (cpu1 - cpu0) * 1000 / len(times) if cpu0 is not None and cpu1 is not None else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--database-url", help="a PostgreSQL server to make fresh databases on")
    args = parser.parse_args()
    results = []
    for n in args.groups:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            upgrade(url)
            token = fill(url, n)
            results.append(("SQLite", measure(url, token, args.requests)))
        if args.database_url:
            admin_url = args.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
            admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            name = f"plekwijzer_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            try:
                upgrade(url)
                token = fill(url, n)
                results.append(("PostgreSQL", measure(url, token, args.requests)))
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    print(
        "| database | groups | requests | first request (builds cache) ms | p50 ms | p95 ms | p99 ms "
        "| max ms | server CPU ms/request |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for db_name, r in results:
        cpu = "n/a" if r["cpu_ms"] is None else f"{r['cpu_ms']:.1f}"
        print(
            f"| {db_name} | {r['groups']} | {r['n']} | {r['cold_ms']:.0f} | {r['p50']:.1f} | "
            f"{r['p95']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | {cpu} |"
        )
    print(f"\nload average during the run: {os.getloadavg()[0]:.1f} (1 min), cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
