"""The hash chain over the audit log: sealing, verification and retention.

Why a sealing job and not a hash in every INSERT: the availability report writes its audit row
inside one SQL statement on the hottest path, and a chain computed at insert time would make
every writer wait for the previous row's hash (one writer at a time). Instead ``seal`` runs in
the background (``backend/registry.py``): it takes the rows that have settled (committed, and
no lower id can still appear), in id order, and appends one seal per row to ``audit_seals``:
``hash = sha256(previous hash + canonical form of the row)``. Seals are append-only like the
log (a PostgreSQL trigger refuses UPDATE, DELETE and TRUNCATE on both tables).

``verify`` walks rows and seals in id order and reports the first row that was changed (its
hash does not match), removed (a seal without its row, and not old enough for retention) or
inserted out of place (a row without a seal below the last sealed id), and how many recent rows
are not sealed yet. ``retain`` removes sealed rows older than the retention setting; their
seals stay (they hold only hashes), so the chain still verifies from the first remaining row.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from backend.audit.models import AuditEntry, AuditSeal
from backend.db import Database
from backend.domain import utcnow

GENESIS = "0" * 64
SEAL_BATCH = 5000
# Retention never removes rows younger than this, whatever the setting (the PostgreSQL trigger
# holds the same floor, so neither a mistaken setting nor the retention flag wipes recent rows).
MIN_RETENTION_DAYS = 365
_LOG = AuditEntry.__table__  # type: ignore[attr-defined]
_SEALS = AuditSeal.__table__  # type: ignore[attr-defined]


def _utc_text(value: datetime) -> str:
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(row: Any) -> str:
    """The row as the chain hashes it: every column, in a fixed order and form, so SQLite and
    PostgreSQL give the same text for the same row.

    The region (0010) is hashed too, since moving a row to another region would hide it from
    that region's administrator; it is appended only when set, so rows sealed before the
    column existed (region NULL) keep their hashes and the chain of an upgraded database still
    verifies. Setting a region on such a row afterwards changes its text and is reported."""
    detail = row.detail if not isinstance(row.detail, str) else json.loads(row.detail)
    region = getattr(row, "region_id", None)
    return json.dumps(
        [
            row.id,
            _utc_text(row.at),
            row.actor,
            row.actor_role,
            row.action,
            row.object_type,
            row.object_id,
            row.purpose,
            row.youth_records,
            detail,
            *([region] if region is not None else []),
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def link(previous: str, row: Any) -> str:
    return hashlib.sha256((previous + canonical(row)).encode()).hexdigest()


# --- sealing ---------------------------------------------------------------------------------

# One sealer at a time across API processes (PostgreSQL; on SQLite the write lock does it).
_SEAL_LOCK = 7513_0007
# Client backends of this database inside a transaction: a row with an id the sequence handed
# out before this moment can only still appear through one of them.
_BUSY = text(
    "SELECT pid, xact_start FROM pg_stat_activity WHERE datname = current_database() "
    "AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
)
_LAST_ID = text("SELECT pg_sequence_last_value(pg_get_serial_sequence('audit_log', 'id')::regclass)")


def _settled_horizon(db: Database, wait_seconds: float) -> int | None:
    """PostgreSQL: the highest audit id below which no row can still appear. Ids come from a
    sequence when a row is inserted, but rows commit in any order, so a row with a lower id
    may still be on its way when a higher one is visible. Read the sequence, then wait until
    every transaction that was open at that moment has ended: after that every id up to the
    value read is committed or never will be. None when they do not end within
    ``wait_seconds`` (a long transaction): the next round tries again."""
    with db.engine.connect() as raw:
        conn = raw.execution_options(isolation_level="AUTOCOMMIT")
        high = conn.execute(_LAST_ID).scalar()
        busy = {tuple(r) for r in conn.execute(_BUSY)}
        deadline = time.monotonic() + wait_seconds
        while busy:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)
            busy &= {tuple(r) for r in conn.execute(_BUSY)}
    return int(high or 0)


def seal(db: Database, *, wait_seconds: float = 5.0) -> int:
    """Seal the rows not sealed yet that have settled, in id order; returns how many. Safe to
    run in several processes at once (one seals, the others find nothing to do)."""
    horizon: int | None = None
    if not db.is_sqlite:
        horizon = _settled_horizon(db, wait_seconds)
        if horizon is None:
            return 0
    total = 0
    while True:
        # SQLite: a writing transaction holds the database's one write lock, so every row
        # there is committed and any later row gets a higher id.
        with db.transaction() as session:
            conn = session.connection()
            if (
                not db.is_sqlite
                and not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _SEAL_LOCK}).scalar_one()
            ):
                return total
            last = conn.execute(
                select(_SEALS.c.audit_id, _SEALS.c.hash).order_by(_SEALS.c.audit_id.desc()).limit(1)
            ).first()
            last_id, previous = (last.audit_id, last.hash) if last is not None else (0, GENESIS)
            query = select(_LOG).where(_LOG.c.id > last_id).order_by(_LOG.c.id).limit(SEAL_BATCH)
            if horizon is not None:
                query = query.where(_LOG.c.id <= horizon)
            rows = conn.execute(query).all()
            if not rows:
                return total
            now = utcnow()
            seals = []
            for row in rows:
                previous = link(previous, row)
                seals.append({"audit_id": row.id, "at": row.at, "hash": previous, "sealed_at": now})
            conn.execute(_SEALS.insert(), seals)
        total += len(rows)
        if len(rows) < SEAL_BATCH:
            return total


def seal_task(db: Database) -> int:
    """The periodic task (``backend/registry.py``)."""
    return seal(db)


# --- verification ----------------------------------------------------------------------------


@dataclass
class Verification:
    ok: bool
    checked: int = 0  # sealed rows whose hash matched
    retained: int = 0  # sealed rows removed by retention
    unsealed: int = 0  # recent rows the sealing job has not reached yet
    last_id: int | None = None
    last_hash: str | None = None
    kind: str | None = None  # changed | removed | inserted
    problem_id: int | None = None

    def text(self) -> str:
        """The outcome in Dutch, for the privacy officer or administrator."""
        lines = []
        if self.ok:
            lines.append(f"Auditlog in orde: {self.checked} verzegelde regels gecontroleerd.")
        else:
            what = {
                "changed": "is gewijzigd na het verzegelen (de hash klopt niet meer)",
                "removed": "is verwijderd (het zegel bestaat nog, de regel niet, "
                "en hij valt niet onder de bewaartermijn)",
                "inserted": "is later tussengevoegd (hij heeft geen zegel, terwijl latere regels wel verzegeld zijn)",
            }[self.kind or "changed"]
            lines.append(f"FOUT: auditregel {self.problem_id} {what}.")
            lines.append(f"Tot die regel waren {self.checked} verzegelde regels in orde.")
        if self.retained:
            lines.append(f"{self.retained} regels zijn verwijderd volgens de bewaartermijn.")
        lines.append(f"{self.unsealed} recente regels nog niet verzegeld.")
        if self.last_id is not None:
            lines.append(f"Laatste zegel: regel {self.last_id}, hash {self.last_hash}.")
        return "\n".join(lines)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def verify(db: Database, *, retention_days: int) -> Verification:
    """Check every sealed row against its seal, in id order; stops at the first problem."""
    cutoff = utcnow() - timedelta(days=retention_days) if retention_days > 0 else None
    result = Verification(ok=True)
    previous = GENESIS
    cursor = 0
    with db.transaction(write=False) as session:
        conn = session.connection()
        last = conn.execute(
            select(_SEALS.c.audit_id, _SEALS.c.hash).order_by(_SEALS.c.audit_id.desc()).limit(1)
        ).first()
        if last is not None:
            result.last_id, result.last_hash = last.audit_id, last.hash
        horizon = result.last_id or 0
        result.unsealed = conn.execute(select(func.count()).select_from(_LOG).where(_LOG.c.id > horizon)).scalar_one()
        while cursor < horizon:
            seals = conn.execute(
                select(_SEALS).where(_SEALS.c.audit_id > cursor).order_by(_SEALS.c.audit_id).limit(SEAL_BATCH)
            ).all()
            upper = seals[-1].audit_id
            rows = {r.id: r for r in conn.execute(select(_LOG).where(_LOG.c.id > cursor, _LOG.c.id <= upper))}
            by_id = {s.audit_id: s for s in seals}
            for audit_id in sorted(by_id.keys() | rows.keys()):
                seal_row, row = by_id.get(audit_id), rows.get(audit_id)
                if seal_row is None:
                    return _problem(result, "inserted", audit_id)
                if row is None:
                    if cutoff is None or _aware(seal_row.at) >= cutoff:
                        return _problem(result, "removed", audit_id)
                    result.retained += 1
                elif link(previous, row) != seal_row.hash:
                    return _problem(result, "changed", audit_id)
                else:
                    result.checked += 1
                previous = seal_row.hash
            cursor = upper
    return result


def _problem(result: Verification, kind: str, audit_id: int) -> Verification:
    result.ok, result.kind, result.problem_id = False, kind, audit_id
    return result


# --- retention -------------------------------------------------------------------------------


def retain(db: Database, *, retention_days: int) -> int:
    """Remove the sealed rows older than ``retention_days`` (0: keep everything); returns how
    many. Their seals stay, so the chain still verifies from the first remaining row. On
    PostgreSQL the transaction tells the trigger the period it applies; the trigger lets a
    DELETE through only for sealed rows older than that, and never under a year."""
    if retention_days <= 0:
        return 0
    if retention_days < MIN_RETENTION_DAYS:
        raise ValueError(f"audit retention must be at least {MIN_RETENTION_DAYS} days (or 0 to keep everything)")
    with db.transaction() as session:
        conn = session.connection()
        if db.is_sqlite:
            cutoff: Any = utcnow() - timedelta(days=retention_days)
        else:
            conn.execute(
                text("SELECT set_config('plekwijzer.audit_retention_days', :days, true)"), {"days": str(retention_days)}
            )
            # The database's clock, as the trigger uses it: both agree on which rows are old.
            cutoff = func.now() - func.make_interval(0, 0, 0, retention_days)
        sealed = select(_SEALS.c.audit_id).where(_SEALS.c.audit_id == _LOG.c.id).exists()
        removed = conn.execute(_LOG.delete().where(_LOG.c.at < cutoff, sealed)).rowcount
    return int(removed)


def retention_task(db: Database) -> int:
    """The periodic task (``backend/registry.py``): applies ``PLEKWIJZER_AUDIT_RETENTION_DAYS``."""
    return retain(db, retention_days=db.settings.audit_retention_days)
