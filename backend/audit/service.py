"""Writing the audit log. Called inside the same transaction as the change it records."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from backend.audit.models import AuditEntry
from backend.auth import Principal
from backend.domain import utcnow


def record(
    *,
    session: Session,
    actor: Principal,
    action: str,
    object_type: str,
    object_id: str | int,
    purpose: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(at=utcnow(), actor=actor.label, actor_role=actor.role, action=action,
                       object_type=object_type, object_id=str(object_id), purpose=purpose,
                       detail=detail or {})
    session.add(entry)
    return entry


def record_core(
    *,
    session: Session,
    actor: Principal,
    action: str,
    object_type: str,
    object_id: str | int,
    purpose: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """``record`` as one plain INSERT on the session's connection (no ORM object, no flush),
    for hot paths; the row is the same and commits or rolls back with the transaction."""
    session.connection().execute(_INSERT_AUDIT, {
        "at": utcnow(), "actor": actor.label, "actor_role": actor.role, "action": action,
        "object_type": object_type, "object_id": str(object_id), "purpose": purpose,
        "detail": detail or {}})


_INSERT_AUDIT = AuditEntry.__table__.insert()  # type: ignore[attr-defined]  # built once
