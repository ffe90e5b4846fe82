"""Shared helpers for the foundation benchmarks: a throw-away database (SQLite file or a
PostgreSQL database of its own) seeded with a fixed-seed Twente-like world, real
``plekwijzer serve`` processes on it, and percentile/markdown helpers.

Nothing here is faked: the benchmarks talk HTTP and websockets to real server processes.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import backend.tables  # noqa: E402, F401  (every table registered)
from backend.auth import new_api_key  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import Database  # noqa: E402
from backend.demo import TWENTE_MUNICIPALITIES  # noqa: E402
from backend.domain import utcnow  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.providers.models import Location, Provider  # noqa: E402
from backend.providers.service import create_group  # noqa: E402
from backend.regions.models import Municipality, Region  # noqa: E402
from backend.users.models import ApiKey, User  # noqa: E402
from backend.users.sessions import start_session  # noqa: E402

SECRET = "benchmark-secret-key-that-is-long-enough-for-hs256"
PG_ADMIN_URL = os.environ.get("PLEKWIJZER_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

# (care form, capacity, weekly roster hours): roster hours inside each form's maximum intensity.
GROUP_KINDS = [
    ("woongroep", 8, 220.0),
    ("behandelgroep", 8, 300.0),
    ("gezinshuis", 5, 60.0),
    ("crisis", 6, 300.0),
    ("kamertraining", 6, 80.0),
]


@dataclass
class BenchWorld:
    database_url: str
    group_ids: list[int]
    capacities: dict[int, int]
    care_forms: dict[int, str]
    admin_token: str
    api_keys: dict[int, str] = field(default_factory=dict)  # provider id -> key
    group_provider: dict[int, int] = field(default_factory=dict)


def _seed(database_url: str, *, seed: int, providers: int, groups_per_provider: int) -> BenchWorld:
    settings = Settings(environment="test", database_url=database_url, secret_key=SECRET, run_periodic_tasks=False)
    db = Database(settings)
    rng = random.Random(seed)
    try:
        with db.transaction() as session:
            region = Region(code="JZ14", name="Twente", settings={})
            session.add(region)
            session.flush()
            municipalities = []
            for name, cbs, lat, lon, _pc in TWENTE_MUNICIPALITIES:
                municipality = Municipality(region_id=region.id, cbs_code=cbs, name=name, lat=lat, lon=lon)
                session.add(municipality)
                municipalities.append((municipality, lat, lon))
            session.flush()
            world = BenchWorld(database_url=database_url, group_ids=[], capacities={}, care_forms={}, admin_token="")
            for p in range(providers):
                provider = Provider(
                    region_id=region.id,
                    name=f"Stichting Bench {p + 1}",
                    agb_code=f"4100{p + 1:04d}",
                    phone_24h="053-0000000",
                )
                session.add(provider)
                session.flush()
                municipality, lat, lon = rng.choice(municipalities)
                location = Location(
                    code=f"L{municipality.id}",
                    provider_id=provider.id,
                    municipality_id=municipality.id,
                    name=f"Bench {p + 1} {municipality.name}",
                    postcode="7511",
                    lat=lat + rng.uniform(-0.02, 0.02),
                    lon=lon + rng.uniform(-0.02, 0.02),
                )
                session.add(location)
                session.flush()
                for g in range(groups_per_provider):
                    care_form, capacity, hours = rng.choice(GROUP_KINDS)
                    group = create_group(
                        session=session,
                        location=location,
                        name=f"Groep {p + 1}.{g + 1}",
                        care_form=care_form,
                        capacity=capacity,
                        age_min=12,
                        age_max=18,
                        weekly_roster_hours=hours,
                        free_places=rng.randint(0, 2),
                        level="middel" if care_form == "gezinshuis" else None,
                    )
                    world.group_ids.append(group.id)  # type: ignore[arg-type]
                    world.capacities[group.id] = capacity  # type: ignore[index]
                    world.care_forms[group.id] = care_form  # type: ignore[index]
                    world.group_provider[group.id] = provider.id  # type: ignore[index]
                full, prefix, key_hash = new_api_key()
                session.add(
                    ApiKey(
                        provider_id=provider.id,
                        prefix=prefix,
                        key_hash=key_hash,  # type: ignore[arg-type]
                        name="bench",
                        created_at=utcnow(),
                    )
                )
                world.api_keys[provider.id] = full  # type: ignore[index]
            # Argon2 is not on the measured path (tokens are signed here), so any hash will do.
            admin = User(
                username="bench-admin", password_hash="-", role="admin", region_id=region.id, created_at=utcnow()
            )
            session.add(admin)
            session.flush()
            world.admin_token = start_session(session=session, user=admin, settings=settings).access_token
    finally:
        db.dispose()
    return world


@contextmanager
def empty_database(kind: str) -> Iterator[str]:
    """A fresh database with the migrations applied and nothing in it; removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="plekwijzer-bench-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(url)
            yield url
        return
    admin_url = make_url(PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"plekwijzer_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = (
        admin_url.set(database=name)
        .render_as_string(hide_password=False)
        .replace("postgresql+psycopg://", "postgresql://", 1)
    )
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def bench_database(
    kind: str, *, seed: int = 2025, providers: int = 30, groups_per_provider: int = 5
) -> Iterator[BenchWorld]:
    """A fresh, migrated, seeded database; removed afterwards."""
    with empty_database(kind) as url:
        yield _seed(url, seed=seed, providers=providers, groups_per_provider=groups_per_provider)


# Base URL -> process id of the servers started here, for measuring their CPU time.
SERVER_PIDS: dict[str, int] = {}


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its finished-and-waited children (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(
    database_url: str, *, workers: int = 1, timeout: float = 120.0, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """One ``plekwijzer serve`` process (the CLI, as in production); yields its base URL.

    The start-up wait is long because other work may share this machine."""
    from tests.servers import _wait_until_up, free_port

    port = free_port()
    env = {
        **os.environ,
        "PLEKWIJZER_DATABASE_URL": database_url,
        "PLEKWIJZER_SECRET_KEY": SECRET,
        "PLEKWIJZER_ENVIRONMENT": "test",
        "PLEKWIJZER_RUN_PERIODIC_TASKS": "false",
        **(extra_env or {}),
    }
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backend.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        try:
            _wait_until_up(base_url, timeout=timeout, process=process)
        except Exception:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-3000:])
            raise
        SERVER_PIDS[base_url] = process.pid
        yield base_url
    finally:
        SERVER_PIDS.pop(base_url, None)
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def servers(database_url: str, *, processes: int = 1, workers: int = 1) -> Iterator[list[str]]:
    """``processes`` separate server processes (each with ``workers``) on one database."""
    with ExitStack() as stack:
        yield [stack.enter_context(server(database_url, workers=workers)) for _ in range(processes)]


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: Sequence[float]) -> tuple[float, float, float, float]:
    """p50, p99, max and mean in milliseconds of values in seconds."""
    ms = [v * 1000 for v in values]
    return (
        percentile(ms, 50),
        percentile(ms, 99),
        max(ms, default=float("nan")),
        (statistics.fmean(ms) if ms else float("nan")),
    )


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(f"{c:.1f}" if isinstance(c, float) else str(c) for c in row) + " |")
    return "\n".join(lines)


def machine_note() -> str:
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} cores, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        f"at the end (other work shares this machine when above ~0.5)"
    )
