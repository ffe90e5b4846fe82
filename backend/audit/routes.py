"""HTTP layer for the audit log (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlmodel import col, select

from backend.audit.models import AuditEntry, AuditEntryPublic
from backend.auth import require_roles
from backend.db import ReadSessionDep
from backend.users.models import Role

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=list[AuditEntryPublic], dependencies=[require_roles(Role.admin)])
def get_audit(
    session: ReadSessionDep,
    object_type: str | None = None,
    object_id: str | None = None,
    limit: int = Query(default=200, ge=1, le=5000),
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    return list(session.exec(query).all())
