"""HTTP layer for the contract register: import and export, contract terms and requests for
places, and the group profile a provider keeps current."""

from __future__ import annotations

import io
import zipfile
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlmodel import select

from backend.auth import CurrentPrincipal, Principal, ensure_region_access, require_roles
from backend.db import ReadSessionDep, WriteSessionDep
from backend.errors import NotFound, RuleViolation
from backend.notifications import triggers as notification_triggers
from backend.providers.models import GroupPublic, LocationPublic, ProviderPublic
from backend.providers.service import to_public
from backend.regions.models import Region
from backend.register import exporter, importer
from backend.register import sheets as S
from backend.register.models import (
    ContractTermCreate,
    ContractTermPublic,
    GroupContractUpdate,
    GroupProfileUpdate,
    LocationUpdate,
    PlacesRequest,
    ProviderUpdate,
    TermDecision,
)
from backend.register.service import (
    add_term,
    decide_request,
    list_terms,
    request_places,
    update_group_contract,
    update_location,
    update_profile,
    update_provider,
)
from backend.users.models import Role

router = APIRouter(tags=["contractregister"])
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _region(session: ReadSessionDep | WriteSessionDep, principal: Principal, code: str | None) -> Region | None:
    wanted = code or None
    if wanted is None and principal.region_id is not None:
        return session.get(Region, principal.region_id)
    if wanted is None:
        regions = list(session.exec(select(Region)).all())
        if len(regions) == 1:
            return regions[0]
        raise RuleViolation("Geef de regio op, bijvoorbeeld region=JZ14.", code="region_missing")
    return session.exec(select(Region).where(Region.code == wanted.strip().upper())).first()


@router.get(
    "/register/export",
    responses={200: {"content": {XLSX: {}, "application/zip": {}}, "description": "Het register als bestand"}},
)
def export_register(
    session: ReadSessionDep,
    principal: Annotated[Principal, require_roles(Role.admin, Role.coordinator, Role.viewer)],
    region: str | None = None,
    format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx",
) -> Response:
    """The region's register in the import template: an Excel workbook, or a zip of CSV files."""
    found = _region(session, principal, region)
    if found is None:
        raise NotFound("Regio niet gevonden.")
    ensure_region_access(principal, found.id, what="Regio")
    tables = exporter.register_tables(session=session, region=found)
    name = f"register-{found.code}"
    if format == "xlsx":
        return Response(
            S.write_workbook(tables),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for filename, data in S.write_csv_files(tables).items():
            archive.writestr(filename, data)
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}.zip"'},
    )


def read_upload(files: list[tuple[str, bytes]]) -> S.RawSheets:
    """An uploaded register: one .xlsx, one .zip of CSV files, or the CSV files themselves."""
    if len(files) == 1 and files[0][0].lower().endswith(".xlsx"):
        return S.read_workbook(files[0][1])
    if len(files) == 1 and files[0][0].lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(io.BytesIO(files[0][1])) as archive:
                return S.read_csv_files(
                    {info.filename: archive.read(info) for info in archive.infolist() if info.filename.endswith(".csv")}
                )
        except zipfile.BadZipFile as exc:
            raise S.FileError("Het zip-bestand is beschadigd.") from exc
    if files and all(name.lower().endswith(".csv") for name, _ in files):
        return S.read_csv_files(dict(files))
    raise S.FileError("Lever een Excel-werkmap (.xlsx), een zip met CSV-bestanden, of de CSV-bestanden zelf aan.")


@router.post("/register/import")
async def import_register(
    request: Request,
    db_session: WriteSessionDep,
    principal: Annotated[Principal, require_roles(Role.admin)],
    files: Annotated[list[UploadFile], File(description="register.xlsx, een zip of de CSV-bestanden")],
    region: str | None = None,
    dry_run: bool = False,
) -> JSONResponse:
    """Check the file (``dry_run``) or apply it. Any invalid row refuses the whole file with
    every problem by sheet, row and column (422), and nothing changes."""
    if region and principal.region_scope is not None:
        # Another region's register: 404 before the file is even read.
        named = db_session.exec(select(Region).where(Region.code == region.strip().upper())).first()
        ensure_region_access(principal, named.id if named else None, what="Regio")
    uploads: list[tuple[str, bytes]] = []
    total = 0
    for upload in files:
        data = await upload.read(MAX_UPLOAD_BYTES + 1 - total)
        total += len(data)
        if total > MAX_UPLOAD_BYTES:
            raise RuleViolation("Het bestand is groter dan 50 MB.", code="file_too_large")
        uploads.append((upload.filename or "register.xlsx", data))
    try:
        raw = read_upload(uploads)
    except S.FileError as exc:
        raise RuleViolation(str(exc), code="register_file_invalid") from exc
    code = region or (principal_region_code(db_session, principal))
    plan = importer.check(session=db_session, raw=raw, region_code=code)
    target = db_session.exec(select(Region).where(Region.code == plan.region_code)).first()
    if principal.region_id is not None and (target is None or target.id != principal.region_id):
        raise NotFound("Regio niet gevonden.")
    if plan.problems:
        body = plan.summary()
        count = len(plan.problems)
        return JSONResponse(
            {
                "detail": f"Het bestand is niet ingelezen: {count} {'probleem' if count == 1 else 'problemen'}. "
                "Er is niets gewijzigd.",
                "code": "register_invalid",
                **body,
            },
            status_code=422,
        )
    if dry_run:
        return JSONResponse({"dry_run": True, **plan.summary()})
    summary = importer.apply(
        session=db_session,
        plan=plan,
        actor=principal,
        stale_after_hours=request.app.state.settings.stale_after_hours,
    )
    if target is not None and target.id is not None:
        notification_triggers.register_imported(db_session, region_id=target.id, changes=summary["changes_total"])
    return JSONResponse({"dry_run": False, **summary})


def principal_region_code(session: WriteSessionDep, principal: Principal) -> str | None:
    if principal.region_id is None:
        return None
    region = session.get(Region, principal.region_id)
    return region.code if region else None


@router.get("/groups/{group_id}/contract-terms", response_model=list[ContractTermPublic])
def get_terms(group_id: int, session: ReadSessionDep, principal: CurrentPrincipal) -> list[ContractTermPublic]:
    """Every version of a group's contract, requests included (the provider sees its own)."""
    return [
        ContractTermPublic.model_validate(t.model_dump())
        for t in list_terms(session=session, principal=principal, group_id=group_id)
    ]


@router.post("/groups/{group_id}/contract-terms", response_model=ContractTermPublic, status_code=201)
def post_term(
    group_id: int, data: ContractTermCreate, request: Request, session: WriteSessionDep, principal: CurrentPrincipal
) -> ContractTermPublic:
    term = add_term(
        session=session,
        principal=principal,
        group_id=group_id,
        data=data,
        stale_after_hours=request.app.state.settings.stale_after_hours,
    )
    return ContractTermPublic.model_validate(term.model_dump())


@router.post("/groups/{group_id}/places-requests", response_model=ContractTermPublic, status_code=201)
def post_places_request(
    group_id: int, data: PlacesRequest, session: WriteSessionDep, principal: CurrentPrincipal
) -> ContractTermPublic:
    term = request_places(session=session, principal=principal, group_id=group_id, data=data)
    return ContractTermPublic.model_validate(term.model_dump())


@router.post("/places-requests/{term_id}/decision", response_model=ContractTermPublic)
def post_decision(
    term_id: int, data: TermDecision, request: Request, session: WriteSessionDep, principal: CurrentPrincipal
) -> ContractTermPublic:
    term = decide_request(
        session=session,
        principal=principal,
        term_id=term_id,
        decision=data,
        stale_after_hours=request.app.state.settings.stale_after_hours,
    )
    return ContractTermPublic.model_validate(term.model_dump())


@router.patch("/groups/{group_id}/contract", response_model=GroupPublic)
def patch_group_contract(
    group_id: int, data: GroupContractUpdate, request: Request, session: WriteSessionDep, principal: CurrentPrincipal
) -> GroupPublic:
    """The region's part of a group: care form, family-home level, active period."""
    stale = request.app.state.settings.stale_after_hours
    group = update_group_contract(
        session=session, principal=principal, group_id=group_id, data=data, stale_after_hours=stale
    )
    return to_public(session, group, stale_after_hours=stale)


@router.patch("/locations/{location_id}", response_model=LocationPublic)
def patch_location(
    location_id: int, data: LocationUpdate, request: Request, session: WriteSessionDep, principal: CurrentPrincipal
) -> LocationPublic:
    location = update_location(
        session=session,
        principal=principal,
        location_id=location_id,
        data=data,
        stale_after_hours=request.app.state.settings.stale_after_hours,
    )
    return LocationPublic.model_validate(location.model_dump())


@router.patch("/providers/{provider_id}", response_model=ProviderPublic)
def patch_provider(
    provider_id: int, data: ProviderUpdate, session: WriteSessionDep, principal: CurrentPrincipal
) -> ProviderPublic:
    provider = update_provider(session=session, principal=principal, provider_id=provider_id, data=data)
    return ProviderPublic.model_validate(provider.model_dump())


@router.patch("/groups/{group_id}/profile", response_model=GroupPublic)
def patch_profile(
    group_id: int, data: GroupProfileUpdate, request: Request, session: WriteSessionDep, principal: CurrentPrincipal
) -> GroupPublic:
    stale = request.app.state.settings.stale_after_hours
    group = update_profile(session=session, principal=principal, group_id=group_id, data=data, stale_after_hours=stale)
    return to_public(session, group, stale_after_hours=stale)
