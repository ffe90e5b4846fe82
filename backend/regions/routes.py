"""HTTP layer for regions and municipalities (reference data, readable by every role)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import col, select

from backend.auth import CurrentPrincipal
from backend.db import ReadSessionDep
from backend.regions.models import Municipality, MunicipalityPublic, Region, RegionPublic

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
