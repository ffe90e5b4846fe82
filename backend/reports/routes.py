"""HTTP layer for the post-calculation and its exports."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from backend.auth import CurrentPrincipal, require_roles
from backend.db import ReadSession, ReadSessionDep, WriteSessionDep
from backend.reports import exports, quality, service
from backend.reports.models import FinaliseRequest
from backend.users.models import Role
from backend.validation import SaneDate

router = APIRouter(tags=["nacalculatie"])
READERS = require_roles(*service.REGION_ROLES, Role.provider)


def _report(
    session: ReadSession,
    principal: CurrentPrincipal,
    region: str | None,
    year: int | None,
    start: date | None,
    end: date | None,
) -> dict[str, Any]:
    return service.post_calculation(
        session=session, principal=principal, region_code=region, year=year, start=start, end=end
    )


@router.get("/post-calculation", dependencies=[READERS])
def get_post_calculation(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    region: str | None = None,
    year: int | None = None,
    start: SaneDate | None = None,
    end: SaneDate | None = None,
) -> dict[str, Any]:
    """Availability funding owed per availability-funded group (crisis, three-milieu,
    jeugdzorgplus) over a year (`year=`) or any period (`start=`, `end=`, inclusive), night by
    night with the contract term, tariff and share valid that night, with totals per provider
    and for the region. Providers see only their own groups.

    A finalised period answers with the stored figures (`finalised`: who and when) and, computed
    now, what would differ (`changes_since_finalisation`)."""
    return _report(session, principal, region, year, start, end)


@router.post("/post-calculation/finalise", status_code=201)
def post_finalise(data: FinaliseRequest, session: WriteSessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Finalise (*vaststellen*) the post-calculation of an ended period: the whole report,
    figures and inputs, is stored with who and when and never changes afterwards. Only an
    administrator of the region (or one bound to no region); once per region and period (409
    after that)."""
    return service.finalise(
        session=session,
        principal=principal,
        region_code=data.region,
        year=data.year,
        start=data.start,
        end=data.end,
    )


def _filename(report: dict[str, Any], extension: str) -> str:
    return f"nacalculatie-{report['region']}-{report['period_start']}-{report['period_end']}.{extension}"


@router.get("/post-calculation/export.csv", dependencies=[READERS], response_class=Response)
def get_csv(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    region: str | None = None,
    year: int | None = None,
    start: SaneDate | None = None,
    end: SaneDate | None = None,
) -> Response:
    report = _report(session, principal, region, year, start, end)
    return Response(
        exports.to_csv(report).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "csv")}"'},
    )


@router.get("/post-calculation/export.xlsx", dependencies=[READERS], response_class=Response)
def get_xlsx(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    region: str | None = None,
    year: int | None = None,
    start: SaneDate | None = None,
    end: SaneDate | None = None,
) -> Response:
    report = _report(session, principal, region, year, start, end)
    return Response(
        exports.to_xlsx(report),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "xlsx")}"'},
    )


@router.get("/post-calculation/groups/{group_id}/chart.svg", dependencies=[READERS], response_class=Response)
def get_chart(
    group_id: int,
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    year: int | None = None,
    start: SaneDate | None = None,
    end: SaneDate | None = None,
) -> Response:
    """Occupancy of one group per week over the period, as an SVG image for the report."""
    group, period, grid, _code, places = service.group_series(
        session=session, principal=principal, group_id=group_id, year=year, start=start, end=end
    )
    title = f"Bezetting {group.name}, {period.start:%d-%m-%Y} t/m {period.counted_through:%d-%m-%Y}"
    svg = exports.chart_svg(title=title, start=period.start, daily_present=grid.total[0], places=places)
    return Response(svg, media_type="image/svg+xml")


# -- data quality of the free places (issue #16) -------------------------------------------------

QUALITY_READERS = require_roles(*service.REGION_ROLES)


@router.get("/data-quality", dependencies=[QUALITY_READERS], tags=["datakwaliteit"])
def get_data_quality(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    region: str | None = Query(default=None, max_length=10),
    start: SaneDate | None = None,
    end: SaneDate | None = None,
) -> dict[str, Any]:
    """Per provider and group of the region: the share of days on which the free places were
    updated, the longest run of days without an update, and whether the group meets the region's
    reporting rule (region settings ``compliance_days_running``, default 2, and
    ``compliance_days_per_month``, default 5). Default period: from the first day of last month
    up to today (today counts once it has an update). Administrator, coordinator and viewer of
    the region."""
    return quality.data_quality(session=session, principal=principal, region_code=region, start=start, end=end)


@router.get("/data-quality/export.csv", dependencies=[QUALITY_READERS], response_class=Response, tags=["datakwaliteit"])
def get_data_quality_csv(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    region: str | None = Query(default=None, max_length=10),
    start: SaneDate | None = None,
    end: SaneDate | None = None,
) -> Response:
    report = quality.data_quality(session=session, principal=principal, region_code=region, start=start, end=end)
    name = f"datakwaliteit-{report['region']}-{report['period_start']}-{report['counted_through']}.csv"
    return Response(
        quality.to_csv(report).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
