"""Writing the audit log. Called inside the same transaction as the change it records."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from backend.audit.models import AuditEntry
from backend.auth import Principal
from backend.domain import utcnow

_INSERT_AUDIT = AuditEntry.__table__.insert()  # type: ignore[attr-defined]  # built once


def record(
    *,
    session: Session,
    actor: Principal,
    action: str,
    object_type: str,
    object_id: str | int,
    purpose: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One audit row as a plain INSERT on the session's connection: no ORM object and no flush,
    so it is cheap on hot paths; it commits or rolls back (savepoints included) with the
    change it records."""
    session.connection().execute(
        _INSERT_AUDIT,
        {
            "at": utcnow(),
            "actor": actor.label,
            "actor_role": actor.role,
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id),
            "purpose": purpose,
            "detail": detail or {},
        },
    )
