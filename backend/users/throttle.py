"""Login limits that hold under concurrent attempts, on SQLite and PostgreSQL.

An attempt is *reserved* before the password (or the second-factor code) is checked: one
atomic ``INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING`` per key that adds one to
the key's count only while the key allows another attempt, and returns no row when it does
not. Concurrent attempts queue on the row (PostgreSQL row lock, SQLite's single writer), so
of 100 parallel guesses exactly the allowed number get through, whatever the timing. A
correct password gives its reservation back (``release``), so only failures stay counted.

Three keys per attempt (``keys_for``):

- the account from this client: locked after ``login_max_failures`` (the usual guesser);
- the client, whatever the account: locked after ``login_client_max_failures`` (someone
  trying many accounts);
- the account from every client together: after ``login_account_max_failures`` it is only
  *slowed* (one attempt per ``login_account_slow_seconds``), never locked, so that an
  attacker cannot lock the real person out for everyone; that person's own client is not
  locked by someone else's failures.

The client is the connection's address, or the X-Forwarded-For address a trusted proxy
reports (``backend.auth.client_address``), so a rotating X-Forwarded-For from an untrusted
client changes nothing.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, case, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from backend.config import Settings
from backend.db import Database
from backend.domain import utcnow
from backend.errors import TooManyRequests
from backend.users.models import LoginThrottle, MfaChallenge

_T = LoginThrottle.__table__  # type: ignore[attr-defined]
_c = _T.c
_WHEN = DateTime(timezone=True)


@dataclass(frozen=True)
class Limit:
    key: str
    max_failures: int
    slow_seconds: int = 0  # 0: locked for the rest of the window; else one attempt per this


def _key(kind: str, *parts: str) -> str:
    # Hashed: fixed length whatever the input (a username of a megabyte stays 64 characters)
    # and no usernames or addresses in the clear in this table.
    return f"{kind}:" + hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def keys_for(settings: Settings, *, username: str, client: str) -> list[Limit]:
    # Always in this order (pair, client, account), so two attempts never wait on each other's
    # rows in opposite orders (no deadlock on PostgreSQL).
    return [
        Limit(_key("pair", username, client), settings.login_max_failures),
        Limit(_key("client", client), settings.login_client_max_failures),
        Limit(
            _key("account", username),
            settings.login_account_max_failures,
            slow_seconds=max(1, settings.login_account_slow_seconds),
        ),
    ]


def _reserve_one(session: Session, limit: Limit, *, now: datetime, window: timedelta) -> bool:
    dialect = session.get_bind().dialect.name
    insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    expired = _c.window_start < now - window
    allowed = or_(expired, _c.failures < limit.max_failures)
    if limit.slow_seconds:
        allowed = or_(allowed, _c.last_at <= now - timedelta(seconds=limit.slow_seconds))
    now_value = literal(now, _WHEN)
    statement = (
        insert(_T)
        .values(key=limit.key, failures=1, window_start=now_value, last_at=now_value)
        .on_conflict_do_update(
            index_elements=[_c.key],
            set_={
                "failures": case((expired, 1), else_=_c.failures + 1),
                "window_start": case((expired, now_value), else_=_c.window_start),
                "last_at": now_value,
            },
            where=allowed,
        )
        .returning(_c.failures)
    )
    return session.execute(statement).first() is not None


def _retry_after(session: Session, limit: Limit, *, now: datetime, window: timedelta) -> int:
    row = session.execute(select(_c.window_start, _c.last_at).where(_c.key == limit.key)).first()
    if row is None:
        return 1
    window_start, last_at = (_aware(row[0]), _aware(row[1]))
    until = window_start + window
    if limit.slow_seconds:
        until = min(until, last_at + timedelta(seconds=limit.slow_seconds))
    return max(1, math.ceil((until - now).total_seconds()))


def _aware(value: datetime) -> datetime:
    # SQLite gives back naive datetimes (stored in UTC).
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def reserve(session: Session, settings: Settings, limits: list[Limit]) -> None:
    """Count one attempt against every key, or refuse with 429 and Retry-After (the caller's
    transaction rolls back, so a refused attempt counts nowhere)."""
    now = utcnow()
    window = timedelta(seconds=settings.login_lockout_seconds)
    for limit in limits:
        if not _reserve_one(session, limit, now=now, window=window):
            raise TooManyRequests(
                "Te veel mislukte inlogpogingen. Probeer het over enkele minuten opnieuw.",
                code="login_locked",
                headers={"Retry-After": str(_retry_after(session, limit, now=now, window=window))},
            )


def release(session: Session, limits: list[Limit], *, forget_pair: bool = True) -> None:
    """A correct password or code: the pair starts afresh, and the attempt's reservation on the
    client and the account is given back (earlier failures there stay counted). Without
    ``forget_pair`` only this attempt's reservation is given back everywhere."""
    pair, *others = limits
    if forget_pair:
        session.execute(_T.delete().where(_c.key == pair.key))
    else:
        others = limits
    if others:
        session.execute(
            update(_T)
            .where(_c.key.in_([limit.key for limit in others]), _c.failures > 0)
            .values(failures=_c.failures - 1)
        )


def purge_old_attempts(db: Database) -> None:
    """Periodic: forget counts whose window has long passed, and spent or expired
    second-factor challenges (someone trying many usernames would otherwise grow the table)."""
    horizon = utcnow() - timedelta(seconds=2 * db.settings.login_lockout_seconds)
    with db.transaction() as session:
        session.execute(_T.delete().where(_c.last_at < horizon))
        challenges = MfaChallenge.__table__  # type: ignore[attr-defined]
        session.execute(challenges.delete().where(challenges.c.expires_at < horizon))
