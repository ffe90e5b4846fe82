"""Test fixtures: the same suite runs on SQLite and, when PLEKWIJZER_TEST_DATABASE_URL points at
a PostgreSQL server, on PostgreSQL too.

Each pytest run builds its own databases with the real Alembic migrations (on PostgreSQL a
database of its own, so parallel runs do not meet) and empties every table before each test.
Emptying instead of rolling back one outer transaction lets tests run real concurrent requests
through real servers, which a shared transaction would hide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import backend.tables  # noqa: F401  (every table registered)
from backend.config import Settings
from backend.migrate import upgrade

PG_URL = os.environ.get("PLEKWIJZER_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256"


def _pg_admin_url() -> str:
    assert PG_URL
    url = make_url(
        PG_URL.replace("postgresql://", "postgresql+psycopg://", 1) if PG_URL.startswith("postgresql://") else PG_URL
    )
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    urls: dict[str, str] = {}
    sqlite_file = tmp_path_factory.mktemp("db") / "plekwijzer-test.db"
    urls["sqlite"] = f"sqlite:///{sqlite_file}"
    upgrade(urls["sqlite"])
    admin_engine = None
    name = None
    if PG_URL:
        admin_engine = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        name = f"plekwijzer_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        urls["postgresql"] = make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
        upgrade(urls["postgresql"])
    yield urls
    if admin_engine is not None:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


_engines: dict[str, object] = {}


def _empty_tables(url: str) -> None:
    engine = _engines.get(url)
    if engine is None:
        engine = create_engine(url)
        _engines[url] = engine
    tables = [t.name for t in SQLModel.metadata.sorted_tables]
    with engine.begin() as conn:  # type: ignore[attr-defined]
        if conn.dialect.name == "postgresql":
            # The audit tables refuse TRUNCATE (a trigger); a superuser, as the tests run, may
            # switch ordinary triggers off for this transaction.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(text(f'DELETE FROM "{table}"'))
        conn.execute(text("INSERT INTO event_counter (id, last_seq) VALUES (1, 0)"))


@pytest.fixture(autouse=True)
def _dispose_databases(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close the connection pools of every app a test made, when the test ends.

    An app whose lifespan never ran (a test that uses ``db`` without ``client``) would otherwise
    keep its PostgreSQL connections until the garbage collector finds it; over the whole suite
    that exhausted the server's 100 connections ("too many clients").
    """
    from backend.db import Database

    made: list[Database] = []
    original = Database.__init__

    def remember(self: Database, settings: Settings) -> None:
        original(self, settings)
        made.append(self)

    monkeypatch.setattr(Database, "__init__", remember)
    yield
    for database in made:
        database.dispose()  # idempotent: a lifespan may have disposed it already


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, _databases: dict[str, str]) -> str:
    url = _databases[request.param]
    _empty_tables(url)
    return url


@pytest.fixture
def backend_name(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "login_max_failures": 5,
        "login_lockout_seconds": 60,
    }
    values.update(overrides)
    values.setdefault("run_periodic_tasks", False)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    from backend.main import create_app

    # Its connection pool is closed after the test by ``_dispose_databases``.
    return create_app(settings)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from starlette.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db(app):  # type: ignore[no-untyped-def]
    """The app's Database, for arranging data and checking what was stored."""
    return app.state.db


@pytest.fixture
def world(db, settings):  # type: ignore[no-untyped-def]
    from tests.factories import build_world

    return build_world(db, settings)


def shared_data_dir() -> Path | None:
    """``../shared/data`` beside the checkout, when present (tests that need it skip otherwise)."""
    candidate = Path(__file__).resolve().parents[2] / "shared" / "data"
    return candidate if candidate.exists() else None
