"""Writing and reading the audit log (NEN 7513: who, when, what, which youth record, why).

``record`` is called inside the same transaction as the change or read it records. Reading the
log (``read_log``, ``export_log``) writes a row of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, column, table
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, or_, select

from backend.audit.models import AuditEntry
from backend.audit.purposes import LABELS, Purpose
from backend.auth import Principal
from backend.domain import utcnow
from backend.errors import RuleViolation

_LOG = AuditEntry.__table__  # type: ignore[attr-defined]
_INSERT_AUDIT = _LOG.insert()  # built once
# A provider's person or system acts for its provider, whose region is one lookup away: done
# inside the INSERT, so the row costs no extra round trip on a provider's paths. (A bare table
# clause: the audit package imports no domain model.)
_PROVIDERS = table("providers", column("id"), column("region_id"))
_INSERT_AUDIT_OF_PROVIDER = _LOG.insert().values(
    region_id=sa_select(_PROVIDERS.c.region_id).where(_PROVIDERS.c.id == bindparam("provider_id")).scalar_subquery()
)
# Rows about these objects are about the youth record of the same id (a hold or a stay is
# a youth's record in its own right when no referral is known).
YOUTH_OBJECTS = {"referral": "referral", "hold": "hold", "occupancy_stay": "stay"}
YOUTH_RECORD = re.compile(r"^(referral|hold|stay):[^,\s]{1,60}$")
DUTCH_TIME = ZoneInfo("Europe/Amsterdam")


def youth_text(records: Iterable[str]) -> str | None:
    """The youth records of a row as stored: ``,referral:12,hold:3,`` (the commas on both
    ends let one record be found with LIKE '%,referral:12,%')."""
    unique = list(dict.fromkeys(r.replace(",", ";") for r in records))
    return "," + ",".join(unique) + "," if unique else None


def referrals(ids: Iterable[int | None]) -> list[str]:
    return [f"referral:{i}" for i in ids if i is not None]


def record(
    *,
    session: Session,
    actor: Principal,
    action: str,
    object_type: str,
    object_id: str | int,
    purpose: Purpose,
    detail: dict[str, Any] | None = None,
    youth: Iterable[str] = (),
    region_id: int | None = None,
) -> None:
    """One audit row as a plain INSERT on the session's connection: no ORM object and no flush,
    so it is cheap on hot paths; it commits or rolls back (savepoints included) with the
    change it records. ``youth``: the youth records the row is about, when not the object
    itself (a list, a hold of a referral).

    ``region_id``: the region of the object, where the caller knows it. The row's region is
    ``row_region``: the actor's own region first (a region-bound person acts for that region,
    also when a crisis team holds a place beyond it, or when a refused look at another
    region's object is logged: that is the acting region's business), else this object's
    region (a service-wide administrator, the system, the command line), else a provider's
    region (a provider's person or system), else none."""
    if purpose not in LABELS:
        raise ValueError(f"audit purpose {purpose!r} is not in the fixed list (backend/audit/purposes.py)")
    records = list(youth)
    kind = YOUTH_OBJECTS.get(object_type)
    if kind is not None and str(object_id) != "*":
        records.insert(0, f"{kind}:{object_id}")
    region = row_region(actor, region_id)
    values: dict[str, Any] = {
        "at": utcnow(),
        "actor": actor.label,
        "actor_role": actor.role,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "purpose": Purpose(purpose).value,
        "youth_records": youth_text(records),
        "detail": detail or {},
    }
    if region is None and actor.provider_id is not None:
        session.connection().execute(_INSERT_AUDIT_OF_PROVIDER, {**values, "provider_id": actor.provider_id})
        return
    session.connection().execute(_INSERT_AUDIT, {**values, "region_id": region})


def row_region(actor: Principal, region_id: int | None) -> int | None:
    """The region an audit row concerns (see ``record``); None for a provider without an
    object region (``record`` then looks the provider's region up)."""
    return actor.region_scope if actor.region_scope is not None else region_id


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """What the privacy officer looks for; every field is optional."""

    youth_record: str | None = None  # e.g. referral:12
    actor: str | None = None  # a username or a whole label (user:3:anna)
    start: date | None = None  # first day, Dutch time
    end: date | None = None  # last day, Dutch time (inclusive)
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None

    def given(self) -> dict[str, str]:
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items() if v is not None}


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=DUTCH_TIME).astimezone(UTC)


def _query(filters: AuditFilter, principal: Principal) -> Any:
    query = select(AuditEntry)
    # A region administrator reads its own region's rows only; rows of no region (a
    # service-wide administrator's work, rows from before regions were recorded) are for a
    # service-wide administrator, who reads everything.
    if principal.region_scope is not None:
        query = query.where(AuditEntry.region_id == principal.region_scope)
    if filters.youth_record:
        if not YOUTH_RECORD.match(filters.youth_record):
            raise RuleViolation(
                "Schrijf het jeugddossier als soort:nummer, bijvoorbeeld referral:12, hold:3 of stay:AB-12.",
                code="invalid_youth_record",
            )
        query = query.where(col(AuditEntry.youth_records).contains(f",{filters.youth_record},", autoescape=True))
    if filters.actor:
        query = query.where(
            or_(AuditEntry.actor == filters.actor, col(AuditEntry.actor).endswith(f":{filters.actor}", autoescape=True))
        )
    if filters.start and filters.end and filters.end < filters.start:
        raise RuleViolation("De einddatum ligt vóór de begindatum.", code="invalid_period")
    if filters.start:
        query = query.where(col(AuditEntry.at) >= _day_start(filters.start))
    if filters.end:
        query = query.where(col(AuditEntry.at) < _day_start(filters.end + timedelta(days=1)))
    for name in ("action", "object_type", "object_id"):
        value = getattr(filters, name)
        if value:
            query = query.where(getattr(AuditEntry, name) == value)
    return query.order_by(col(AuditEntry.id).desc())


def read_log(*, session: Session, principal: Principal, filters: AuditFilter, limit: int) -> list[AuditEntry]:
    """The rows that match, newest first; the read itself is logged (who looked for what)."""
    rows = list(session.exec(_query(filters, principal).limit(limit)).all())
    _log_reading(session, principal, "audit.read", Purpose.audit_review, filters, rows)
    return rows


EXPORT_MAX_ROWS = 100_000
_REGIONS = table("regions", column("id"), column("code"))


def region_codes(session: Session) -> dict[int, str]:
    """Region ids and codes, for the export's region column."""
    return {row.id: row.code for row in session.execute(sa_select(_REGIONS.c.id, _REGIONS.c.code))}


def export_log(*, session: Session, principal: Principal, filters: AuditFilter, how: str) -> list[AuditEntry]:
    """The rows for an export, oldest first; refused (422) above ``EXPORT_MAX_ROWS``."""
    rows = list(session.exec(_query(filters, principal).limit(EXPORT_MAX_ROWS + 1)).all())
    if len(rows) > EXPORT_MAX_ROWS:
        raise RuleViolation(
            f"Meer dan {EXPORT_MAX_ROWS:,} regels; kies een kortere periode of één jeugddossier.".replace(",", "."),
            code="export_too_large",
        )
    _log_reading(session, principal, "audit.export", Purpose.audit_export, filters, rows, how=how)
    rows.reverse()
    return rows


def _log_reading(
    session: Session,
    principal: Principal,
    action: str,
    purpose: Purpose,
    filters: AuditFilter,
    rows: list[AuditEntry],
    **extra: str,
) -> None:
    record(
        session=session,
        actor=principal,
        action=action,
        object_type="audit_log",
        object_id="*",
        purpose=purpose,
        detail={"filters": filters.given(), "rows": len(rows), **extra},
        youth=[filters.youth_record] if filters.youth_record else (),
    )
