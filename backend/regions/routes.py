"""HTTP layer for regions and municipalities (reference data, readable by every role), and a
region's settings (read by the region's admin, coordinator and viewer; changed by an admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request
from fastapi.responses import JSONResponse
from sqlmodel import col, select

from backend.auth import CurrentPrincipal, require_roles
from backend.config import Settings
from backend.db import ReadSessionDep, WriteSessionDep
from backend.regions import service
from backend.regions.models import Municipality, MunicipalityPublic, Region, RegionPublic
from backend.regions.outlines import municipality_outlines
from backend.regions.settings import RegionSettings, RegionSettingsView, ServiceDefaults
from backend.users.models import Role

router = APIRouter(tags=["regio's"])


@router.get("/regions", response_model=list[RegionPublic])
def get_regions(session: ReadSessionDep, _: CurrentPrincipal) -> list[Region]:
    return list(session.exec(select(Region).order_by(col(Region.id))).all())


@router.get("/municipalities", response_model=list[MunicipalityPublic])
def get_municipalities(
    session: ReadSessionDep, _: CurrentPrincipal, region_id: int | None = None
) -> list[Municipality]:
    query = select(Municipality).order_by(col(Municipality.name))
    if region_id is not None:
        query = query.where(Municipality.region_id == region_id)
    return list(session.exec(query).all())


@router.get("/municipalities/outlines")
def get_municipality_outlines(
    session: ReadSessionDep, principal: CurrentPrincipal, region_id: int | None = None
) -> dict[str, Any]:
    """The municipalities' outlines as GeoJSON (one feature per municipality), for the region
    map without a tile server: computed from the address-postcode centroids (reference data,
    no youth data). Without `region_id` the caller's own region, or every region for a caller
    bound to none."""
    return municipality_outlines(session=session, region_id=region_id or principal.region_scope)


def _service_defaults(request: Request) -> ServiceDefaults:
    settings: Settings = request.app.state.settings
    return ServiceDefaults(
        hold_minutes=settings.hold_minutes,
        proposal_expiry_hours=settings.proposal_expiry_hours,
        stale_after_hours=settings.stale_after_hours,
    )


def _answer(view: RegionSettingsView) -> JSONResponse:
    return JSONResponse(view.model_dump(mode="json"), headers={"ETag": f'"{view.version}"'})


@router.get(
    "/regions/{code}/settings",
    response_model=RegionSettingsView,
    dependencies=[require_roles(Role.admin, Role.coordinator, Role.viewer)],
)
def get_region_settings(
    code: str, request: Request, session: ReadSessionDep, principal: CurrentPrincipal
) -> JSONResponse:
    """A region's settings with every default filled in, a Dutch label and help text per
    setting, and the service-wide values that apply where a setting is left empty (null)."""
    region = service.settings_region(session=session, principal=principal, code=code)
    return _answer(service.settings_view(region=region, defaults=_service_defaults(request)))


@router.put(
    "/regions/{code}/settings",
    response_model=RegionSettingsView,
    dependencies=[require_roles(Role.admin)],
)
def put_region_settings(
    code: str,
    data: Annotated[RegionSettings, Body()],
    request: Request,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Replace a region's settings as a whole (a setting left out takes its default). Refused
    with 422 and a Dutch message per wrong field, changing nothing. Send `If-Match` with the
    ETag you read to refuse overwriting someone else's change (412). Decline-reason codes stay:
    retire one with `retired: true`, it cannot be removed."""
    expected = if_match.strip().removeprefix("W/").strip('"') if if_match and if_match.strip() != "*" else None
    region = service.change_settings(
        session=session, principal=principal, code=code, new=data, expected_version=expected
    )
    return _answer(service.settings_view(region=region, defaults=_service_defaults(request)))
