"""HTTP layer for the steering indicators: JSON, CSV and Excel of the same figures."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from backend.auth import CurrentPrincipal, require_roles
from backend.db import ReadSessionDep
from backend.indicators import exports, service
from backend.indicators.models import Filters
from backend.validation import SaneDate

router = APIRouter(tags=["stuurinformatie"])
READERS = require_roles(*service.READER_ROLES)


def _report(
    request: Request,
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    region: Annotated[str | None, Query(max_length=8)] = None,
    start: SaneDate | None = None,
    end: SaneDate | None = None,
    care_form: Annotated[str | None, Query(max_length=20)] = None,
    intensity: Annotated[str | None, Query(max_length=1)] = None,
    municipality: int | None = None,
    provider: int | None = None,
) -> dict[str, Any]:
    return service.indicators(
        session=session,
        principal=principal,
        region_code=region,
        start=start,
        end=end,
        filters=Filters(care_form=care_form, intensity=intensity, municipality_id=municipality, provider_id=provider),
        stale_hours=request.app.state.settings.stale_after_hours,
    )


Report = Annotated[dict[str, Any], Depends(_report)]


@router.get("/indicators", dependencies=[READERS])
def get_indicators(report: Report) -> dict[str, Any]:
    """Steering indicators of a region over a period (`start`, `end`, inclusive; default the
    last twelve months) and per month: waiting times from referral to proposal and to placement
    (median and 90th percentile, Kaplan–Meier with the youths still waiting censored), proposals
    and their outcome per provider and group with decline reasons, placements out of the region
    and beyond the maximum distance, scaling up and down, occupancy of every group, crisis holds,
    and the age of the availability reports. Filters: `care_form`, `intensity`, `municipality`
    (id), `provider` (id). Coordinators, viewers and region administrators see their region; a
    provider sees its own groups only (no waiting times)."""
    return report


def _filename(report: dict[str, Any], extension: str) -> str:
    return f"stuurinformatie-{report['region']}-{report['period_start']}-{report['period_end']}.{extension}"


@router.get("/indicators/export.csv", dependencies=[READERS], response_class=Response)
def get_csv(report: Report) -> Response:
    return Response(
        exports.to_csv(report).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "csv")}"'},
    )


@router.get("/indicators/export.xlsx", dependencies=[READERS], response_class=Response)
def get_xlsx(report: Report) -> Response:
    return Response(
        exports.to_xlsx(report),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "xlsx")}"'},
    )
