"""HTTP layer for the audit log (administrators only; every read is itself logged)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from backend.audit import actions, export, service
from backend.audit.models import AuditEntry, AuditEntryPublic
from backend.audit.purposes import LABELS, label
from backend.auth import CurrentPrincipal, require_roles
from backend.db import WriteSessionDep
from backend.users.models import Role

router = APIRouter(tags=["audit"])
ADMIN = [require_roles(Role.admin)]


def _filters(
    youth_record: Annotated[str | None, Query(max_length=80, description="bijv. referral:12, hold:3")] = None,
    actor: Annotated[str | None, Query(max_length=120, description="gebruikersnaam of volledige naam")] = None,
    start: Annotated[date | None, Query(description="eerste dag (Nederlandse tijd)")] = None,
    end: Annotated[date | None, Query(description="laatste dag, inclusief")] = None,
    action: Annotated[str | None, Query(max_length=60)] = None,
    object_type: Annotated[str | None, Query(max_length=40)] = None,
    object_id: Annotated[str | None, Query(max_length=60)] = None,
) -> service.AuditFilter:
    return service.AuditFilter(
        youth_record=youth_record or None,
        actor=actor or None,
        start=start,
        end=end,
        action=action or None,
        object_type=object_type or None,
        object_id=object_id or None,
    )


FiltersDep = Annotated[service.AuditFilter, Depends(_filters)]


def to_public(entry: AuditEntry) -> AuditEntryPublic:
    return AuditEntryPublic(
        id=entry.id or 0,
        at=entry.at,
        actor=entry.actor,
        actor_text=actions.actor_text(entry.actor),
        actor_role=entry.actor_role,
        action=entry.action,
        action_label=actions.label(entry.action),
        object_type=entry.object_type,
        object_id=entry.object_id,
        purpose=entry.purpose,
        purpose_label=label(entry.purpose),
        youth_records=[r for r in (entry.youth_records or "").split(",") if r],
        detail=entry.detail,
        region_id=entry.region_id,
    )


@router.get("/audit", response_model=list[AuditEntryPublic], dependencies=ADMIN)
def get_audit(
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[AuditEntryPublic]:
    """Search the log by youth record, person, period or object, newest first. The search itself
    is logged (who looked for what)."""
    rows = service.read_log(session=session, principal=principal, filters=filters, limit=limit)
    return [to_public(r) for r in rows]


@router.get("/audit/purposes", dependencies=ADMIN)
def get_purposes() -> dict[str, str]:
    """The fixed list of purposes: code and Dutch label."""
    return {purpose.value: text for purpose, text in LABELS.items()}


def _download(content: bytes, media_type: str, suffix: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="auditlog.{suffix}"', "Cache-Control": "no-store"},
    )


@router.get("/audit/export.csv", dependencies=ADMIN, response_class=Response)
def export_csv(session: WriteSessionDep, principal: CurrentPrincipal, filters: FiltersDep) -> Response:
    """The matching rows as CSV (semicolons, UTF-8), for the privacy officer; the export is logged."""
    rows = service.export_log(session=session, principal=principal, filters=filters, how="csv")
    return _download(export.to_csv(rows, service.region_codes(session)), "text/csv; charset=utf-8", "csv")


@router.get("/audit/export.xlsx", dependencies=ADMIN, response_class=Response)
def export_xlsx(session: WriteSessionDep, principal: CurrentPrincipal, filters: FiltersDep) -> Response:
    """The matching rows as an Excel workbook; the export is logged."""
    rows = service.export_log(session=session, principal=principal, filters=filters, how="xlsx")
    return _download(
        export.to_xlsx(rows, service.region_codes(session)),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    )
