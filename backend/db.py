"""Database engine, sessions and the one transaction rule (docs/DEVELOPING.md):

- a route gets its session from a dependency: ``ReadSessionDep`` (reads) or
  ``WriteSessionDep`` (writes, and reads that write an audit row); the dependency commits when
  the route returns and rolls back on any error;
- services take the session they are given and only ``flush()``: they never commit;
- everything else (periodic jobs, matching runs, lazy expiry, the CLI, the availability report
  that runs as one statement) opens its unit of work with ``Database.transaction()``.

``ReadSession`` and ``WriteSession`` are distinct types, so a service that writes can say so
and mypy refuses a read session there.

SQLite (file, WAL) is the embedded default and PostgreSQL the production database. On SQLite a
writing request starts its transaction with ``BEGIN IMMEDIATE``: a deferred transaction that
reads and then writes fails at once with "database is locked" when another writer committed in
between, whereas an immediate one waits its turn (busy timeout), so concurrent writes queue
instead of failing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from backend.config import Settings
from backend.revocations import Revocations

# How long a SQLite writer waits for its turn before "database is locked".
SQLITE_BUSY_SECONDS = 30


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver; accept the plain URL form people copy from elsewhere.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS})
        _configure_sqlite(engine, threading.Lock())
        return engine
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        # With the overflow, one connection for each of the 40 threads requests run on.
        max_overflow=max(0, 40 - settings.db_pool_size),
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def _configure_sqlite(engine: Engine, writer_turn: threading.Lock) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cursor.close()

    # SQLite lets one transaction write at a time. A writer that finds the database locked
    # sleeps in SQLite's busy handler (1, 2, 5, 10 ... 100 ms) and polls again, so under load
    # the database stood idle between a commit and the next poll while requests waited for
    # hundreds of milliseconds. Writers of this process therefore queue on a Python lock,
    # which hands over the moment it is released; the busy timeout still orders writers of
    # different processes. The turn is taken where the write transaction begins (in the
    # thread that runs the first statement, not when a session is made: a request thread
    # waiting for its turn must not hold a place the turn holder needs) and given back when
    # the connection returns to the pool, after the commit or rollback. The wait is bounded
    # like the busy timeout: after it the writer goes on and SQLite decides, as before.
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not conn.get_execution_options().get("sqlite_immediate"):
            conn.exec_driver_sql("BEGIN DEFERRED")
            return
        if writer_turn.acquire(timeout=SQLITE_BUSY_SECONDS):
            conn.info["writer_turn"] = True
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record.info.pop("writer_turn", False):
            writer_turn.release()


class ReadSession(Session):
    """A session that only reads (on SQLite: a deferred transaction that queues behind no one)."""


class WriteSession(Session):
    """A session that writes (on SQLite: BEGIN IMMEDIATE, so writers queue instead of failing)."""


class Database:
    """The engine of one app, with a reading and a writing way in."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_engine = self.engine.execution_options(sqlite_immediate=True) if self.is_sqlite else self.engine
        self._autocommit_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        # Sessions ended in this app's database, refused although their tokens have not expired.
        self.revocations = Revocations(keep_seconds=settings.access_token_minutes * 60 + 60)

    @contextmanager
    def transaction(self, *, write: bool = True, single_statement: bool = False) -> Iterator[Session]:
        """A unit of work: commits when the block ends normally, rolls back otherwise.

        Callbacks registered with ``on_commit`` (wake-ups for the live feed) run only once the
        data is committed, so a listener never looks for rows it cannot see yet.

        ``single_statement``: the work is one statement on PostgreSQL (the availability
        report), so it runs without BEGIN and COMMIT round trips (autocommit); on SQLite it is
        an ordinary writing transaction.
        """
        kind: type[Session] = WriteSession if write else ReadSession
        autocommit = write and single_statement and not self.is_sqlite
        bind: Engine = self._autocommit_engine if autocommit else self._write_engine if write else self.engine
        with kind(bind, expire_on_commit=False) as s:
            try:
                yield s
                if not autocommit:  # (each statement committed itself: nothing to send)
                    s.commit()
            except BaseException:
                s.rollback()
                raise
            for callback in s.info.pop("after_commit", []):
                callback()

    def dispose(self) -> None:
        self.engine.dispose()


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def read_session(request: Request) -> Iterator[ReadSession]:
    with get_db(request).transaction(write=False) as session:
        yield session  # type: ignore[misc]


def write_session(request: Request) -> Iterator[WriteSession]:
    with get_db(request).transaction(write=True) as session:
        yield session  # type: ignore[misc]


def on_commit(session: Session, callback: Any) -> None:
    """Run ``callback`` after the request's transaction has committed."""
    session.info.setdefault("after_commit", []).append(callback)


# scope="function": the transaction commits when the route returns, before the response is
# sent, so a client that gets 200 can read its own write at once, and a failing commit still
# becomes an error response.
ReadSessionDep = Annotated[ReadSession, Depends(read_session, scope="function")]
WriteSessionDep = Annotated[WriteSession, Depends(write_session, scope="function")]
DatabaseDep = Annotated[Database, Depends(get_db)]
