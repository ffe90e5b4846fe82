"""Setting up the load test: a fresh PostgreSQL database with the Twente demo data, API keys
for every provider, and N ``plekwijzer serve`` processes on it. Used by ``load.py``."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import backend.tables  # noqa: E402, F401  (every table registered)
from backend.config import Settings  # noqa: E402
from backend.db import Database  # noqa: E402
from backend.demo import load_demo  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.providers.models import Group, Provider  # noqa: E402
from backend.users.service import create_api_key  # noqa: E402


@dataclass
class LoadWorld:
    database_url: str
    passwords: dict[str, str]
    provider_keys: dict[int, str]  # provider id -> API key
    groups_by_provider: dict[int, list[int]] = field(default_factory=dict)


def _driver_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@contextmanager
def fresh_database(server_url: str, *, keep: bool = False) -> Iterator[str]:
    """A database of its own on the given PostgreSQL server, dropped afterwards."""
    admin = create_engine(_driver_url(server_url), isolation_level="AUTOCOMMIT")
    name = f"plekwijzer_load_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(_driver_url(server_url)).set(database=name).render_as_string(hide_password=False)
    try:
        yield url.replace("postgresql+psycopg://", "postgresql://", 1)
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fill(database_url: str, *, seed: int) -> LoadWorld:
    upgrade(database_url)
    settings = Settings(environment="test", database_url=database_url, secret_key="x" * 40)
    db = Database(settings)
    users_file = Path(tempfile.mkdtemp()) / "users.txt"
    with db.transaction() as session:
        load_demo(session=session, seed=seed, users_file=users_file)
    passwords = {}
    for line in users_file.read_text().splitlines():
        if line.startswith("#"):
            continue
        username, _role, password, _provider = line.split("\t")
        passwords[username] = password
    keys: dict[int, str] = {}
    groups: dict[int, list[int]] = {}
    with db.transaction() as session:
        from sqlmodel import select

        for provider in session.exec(select(Provider)).all():
            _record, key = create_api_key(session=session, provider_id=provider.id, name="load")  # type: ignore[arg-type]
            keys[provider.id] = key  # type: ignore[index]
        for group in session.exec(select(Group)).all():
            # A group whose free places follow the occupancy feed takes no typed figure: the
            # providers' reports go to the groups reported by hand.
            if not group.places_from_feed:
                groups.setdefault(group.provider_id, []).append(group.id)  # type: ignore[arg-type]
    db.dispose()
    return LoadWorld(database_url=database_url, passwords=passwords, provider_keys=keys, groups_by_provider=groups)


@dataclass
class ServerProcess:
    base_url: str
    process: subprocess.Popen[bytes]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def api_processes(database_url: str, count: int, *, secret_key: str | None = None) -> Iterator[list[ServerProcess]]:
    """``count`` separate ``plekwijzer serve`` processes (API replicas) on one database."""
    secret = secret_key or secrets.token_urlsafe(40)
    servers: list[ServerProcess] = []
    try:
        for _ in range(count):
            port = _free_port()
            env = {
                **os.environ,
                "PLEKWIJZER_DATABASE_URL": database_url,
                "PLEKWIJZER_SECRET_KEY": secret,
                "PLEKWIJZER_ENVIRONMENT": "test",
                # The load test logs its people in once with passwords, as the demo does.
                "PLEKWIJZER_MFA_ROLES": "",
            }
            process = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--log-level", "warning"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            servers.append(ServerProcess(f"http://127.0.0.1:{port}", process))
        for server in servers:
            deadline = time.monotonic() + 60
            while True:
                if server.process.poll() is not None:
                    raise RuntimeError("an API process exited during start-up")
                try:
                    if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{server.base_url} did not start")
                time.sleep(0.1)
        yield servers
    finally:
        for server in servers:
            server.process.terminate()
        for server in servers:
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MB, from /proc."""
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, amount, _unit = line.split()
                values[key.rstrip(":")] = int(amount) / 1024
    except OSError:
        return (float("nan"), float("nan"))
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))
