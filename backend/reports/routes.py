"""HTTP layer for the post-calculation and its exports."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from fastapi.responses import Response

from backend.auth import CurrentPrincipal, require_roles
from backend.db import ReadSession, ReadSessionDep
from backend.reports import exports, service
from backend.users.models import Role

router = APIRouter(tags=["nacalculatie"])
READERS = require_roles(*service.REGION_ROLES, Role.provider)


def _report(
    session: ReadSession,
    principal: CurrentPrincipal,
    region: str | None,
    year: int | None,
    start: date | None,
    end: date | None,
) -> dict[str, object]:
    return service.post_calculation(
        session=session, principal=principal, region_code=region, year=year, start=start, end=end
    )


@router.get("/post-calculation", dependencies=[READERS])
def get_post_calculation(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    region: str | None = None,
    year: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, object]:
    """Availability funding owed per availability-funded group (crisis, three-milieu,
    jeugdzorgplus) over a year (`year=`) or any period (`start=`, `end=`, inclusive), with totals
    per provider and for the region. Providers see only their own groups."""
    return _report(session, principal, region, year, start, end)


def _filename(report: dict[str, object], extension: str) -> str:
    return f"nacalculatie-{report['region']}-{report['period_start']}-{report['period_end']}.{extension}"


@router.get("/post-calculation/export.csv", dependencies=[READERS], response_class=Response)
def get_csv(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    region: str | None = None,
    year: int | None = None,
    start: date | None = None,
    end: date | None = None,
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
    start: date | None = None,
    end: date | None = None,
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
    start: date | None = None,
    end: date | None = None,
) -> Response:
    """Occupancy of one group per week over the period, as an SVG image for the report."""
    group, period, grid, _code = service.group_series(
        session=session, principal=principal, group_id=group_id, year=year, start=start, end=end
    )
    title = f"Bezetting {group.name}, {period.start:%d-%m-%Y} t/m {period.counted_through:%d-%m-%Y}"
    svg = exports.chart_svg(title=title, start=period.start, daily_present=grid.total[0], capacity=group.capacity)
    return Response(svg, media_type="image/svg+xml")
