"""HTTP layer for the occupancy feed: events, censuses, present occupancy and the youths present,
bed-days, and the groups whose reported free places disagree with the feed (and settling each)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import CurrentPrincipal, require_roles
from backend.db import ReadSessionDep, WriteSessionDep
from backend.errors import Forbidden
from backend.idempotency import IdempotencyDep
from backend.occupancy import discrepancies, service
from backend.occupancy.bedays import nights_by_region
from backend.occupancy.models import (
    BatchResult,
    CensusBatch,
    CensusBatchResult,
    Discrepancy,
    GroupOccupancy,
    OccupancyBatch,
    PresentStay,
    ResolveDiscrepancy,
    event_public,
)
from backend.occupancy.present import present_stays, recent_events
from backend.providers.models import GroupPublic
from backend.providers.service import get_group_for
from backend.reports.service import REGION_ROLES, resolve_period, resolve_region
from backend.users.models import Role
from backend.validation import SaneDate

router = APIRouter(tags=["bezetting"])


# The same route takes NDJSON: one event per line (the framework documents only the JSON form).
_NDJSON_BODY = {
    "requestBody": {
        "content": {
            "application/x-ndjson": {
                "schema": {"$ref": "#/components/schemas/OccupancyEventIn"},
                "example": '{"event_id": "a-1", "kind": "admission", "group_id": 1, "at": "2025-03-01T10:00:00", '
                '"stay_reference": "v-17", "origin_region_code": "JZ14"}\n'
                '{"event_id": "d-1", "kind": "discharge", "group_id": 1, "at": "2025-03-20T12:00:00", '
                '"stay_reference": "v-17"}\n',
            }
        }
    }
}


@router.post(
    "/occupancy/events",
    response_model=BatchResult,
    dependencies=[require_roles(Role.provider, Role.admin)],
    openapi_extra=_NDJSON_BODY,
)
def post_events(
    batch: OccupancyBatch, session: WriteSessionDep, principal: CurrentPrincipal, idempotency: IdempotencyDep
) -> Response:
    """A batch of admissions, discharges and cancellations (up to 50,000), applied as a whole:
    per group in time order, whatever the order in the request. Each event is accepted, ignored
    as a duplicate (same `event_id` again) or refused with a reason; refusals do not stop the
    rest. A complete past stay is accepted when the group had room during it; a correction (the
    events of a stay reference in a batch that cancels one of its events) lands whole or not at
    all. As JSON (`{"events": [...]}`) or as NDJSON (`Content-Type: application/x-ndjson`, one
    event per line; each result then names its `line`, and a line that cannot be read refuses
    the request with its line number). With `Idempotency-Key` a retried batch gets the first
    answer again."""

    def create() -> Response:
        result = service.ingest_events(
            session=session,
            principal=principal,
            events=batch.events,
            source="api" if principal.kind == "api_key" else "handmatig",
            lines=batch._lines,
        )
        # Serialised by pydantic in one go: a result per event, up to 50,000 of them.
        return Response(result.model_dump_json(), media_type="application/json")

    # The body's fingerprint is only needed with a key (a large batch costs to serialise).
    body = batch.model_dump(mode="json") if idempotency.key is not None else None
    return idempotency.respond(session, body, create)


@router.post(
    "/occupancy/census", response_model=CensusBatchResult, dependencies=[require_roles(Role.provider, Role.admin)]
)
def post_census(
    batch: CensusBatch, session: WriteSessionDep, principal: CurrentPrincipal, idempotency: IdempotencyDep
) -> Response:
    """Daily head counts (how many present on the night of a date), for providers without an
    event feed. A later count for the same date corrects an earlier one. With
    `Idempotency-Key` a retried batch gets the first answer again."""

    def create() -> Response:
        result = service.ingest_census(session=session, principal=principal, counts=batch.counts)
        return JSONResponse(result.model_dump(mode="json"))

    return idempotency.respond(session, batch.model_dump(mode="json"), create)


@router.get("/occupancy/groups/{group_id}", response_model=GroupOccupancy)
def get_group_occupancy(group_id: int, session: ReadSessionDep, principal: CurrentPrincipal) -> GroupOccupancy:
    group = get_group_for(session=session, principal=principal, group_id=group_id)
    figures = service.current_occupancy(session=session, groups=[group])[group_id]
    return GroupOccupancy(group_id=group_id, group_name=group.name, capacity=group.capacity, **figures)  # type: ignore[arg-type]


@router.get(
    "/occupancy/groups/{group_id}/events", dependencies=[require_roles(Role.provider, Role.admin, Role.coordinator)]
)
def get_group_events(
    group_id: int,
    session: WriteSessionDep,  # the read writes an audit row
    principal: CurrentPrincipal,
    purpose: Purpose = Purpose.occupancy_check,
) -> list[dict[str, object]]:
    """The group's newest 500 events in time order, with pseudonymous stay references (youth
    data: the read is audited)."""
    group = get_group_for(session=session, principal=principal, group_id=group_id)
    events = recent_events(session=session, group_id=group_id)
    audit.record(
        session=session,
        actor=principal,
        action="occupancy.events.read",
        object_type="group",
        object_id=group_id,
        purpose=purpose,
        detail={"events": len(events)},
        youth=[f"stay:{s}" for s in dict.fromkeys(e.stay_reference for e in events if e.stay_reference)][:500],
        region_id=group.region_id,
    )
    return [event_public(e) for e in events]


@router.get(
    "/occupancy/groups/{group_id}/stays",
    response_model=list[PresentStay],
    dependencies=[require_roles(Role.provider, Role.admin, Role.coordinator)],
)
def get_present_stays(
    group_id: int,
    session: WriteSessionDep,  # the read writes an audit row
    principal: CurrentPrincipal,
    purpose: Purpose = Purpose.occupancy_check,
) -> list[PresentStay]:
    """The youths present in the group now (open stays), by stay reference, oldest admission
    first (youth data: the read is audited)."""
    get_group_for(session=session, principal=principal, group_id=group_id)
    present = present_stays(session=session, group_id=group_id)
    audit.record(
        session=session,
        actor=principal,
        action="occupancy.stays.read",
        object_type="group",
        object_id=group_id,
        purpose=purpose,
        detail={"stays": len(present)},
        youth=[f"stay:{s.stay_reference}" for s in present][:500],
    )
    return present


@router.get("/occupancy/groups/{group_id}/bed-days")
def get_bed_days(
    group_id: int,
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    year: int | None = None,
    start: SaneDate | None = None,
    end: SaneDate | None = None,
) -> dict[str, object]:
    """Occupied nights per day, split by region of origin (a night counts on the date it starts)."""
    if principal.role not in (*REGION_ROLES, "provider"):
        raise Forbidden("U heeft geen rechten voor deze rapportage.", code="role_forbidden")
    group = get_group_for(session=session, principal=principal, group_id=group_id)
    period = resolve_period(year=year, start=start, end=end)
    code = service.group_region_code(session, group)
    codes, grid = nights_by_region(
        session=session, group_id=group_id, own_code=code, start=period.start, end=period.counted_through
    )
    days = [
        {
            "date": period.start.fromordinal(period.start.toordinal() + i),
            "occupied": int(grid[:, i].sum()),
            "by_region": {c: int(grid[j, i]) for j, c in enumerate(codes) if grid[j, i]},
        }
        for i in range(grid.shape[1])
    ]
    return {
        "group_id": group_id,
        "capacity": group.capacity,
        "own_region": code,
        "period_start": period.start,
        "period_end": period.end,
        "counted_through": period.counted_through,
        "occupied_bed_days": int(grid.sum()),
        "by_region": {c: int(grid[j].sum()) for j, c in enumerate(codes) if grid[j].sum()},
        "days": days,
    }


@router.get(
    "/occupancy/discrepancies",
    response_model=list[Discrepancy],
    dependencies=[require_roles(*REGION_ROLES, Role.provider)],
)
def get_discrepancies(
    session: ReadSessionDep, principal: CurrentPrincipal, region: str | None = None
) -> list[Discrepancy]:
    """Groups reported by hand whose free places differ from what the feed leaves free
    (places − youths present according to the feed), with both figures. Groups whose free
    places follow the feed agree by construction and are not listed."""
    the_region = resolve_region(session=session, principal=principal, region_code=region)
    groups = discrepancies.region_groups(
        session,
        region_id=the_region.id,  # type: ignore[arg-type]
        provider_id=principal.provider_id if principal.role == "provider" else None,
    )
    return discrepancies.list_discrepancies(session, groups)


@router.post(
    "/occupancy/discrepancies/{group_id}/resolve",
    response_model=GroupPublic,
    dependencies=[require_roles(Role.provider, Role.admin)],
)
def post_resolve_discrepancy(
    group_id: int, body: ResolveDiscrepancy, request: Request, session: WriteSessionDep, principal: CurrentPrincipal
) -> Response:
    """Settle a difference in one action: `take_feed` reports the free places the feed leaves
    (at least the places held), `follow_feed` lets the group's free places follow the feed from
    now on. The answer is the group as it is now."""
    change = discrepancies.resolve(
        session=session,
        principal=principal,
        group_id=group_id,
        action=body.action,
        stale_after_hours=request.app.state.settings.stale_after_hours,
    )
    return JSONResponse(change.group, headers={"ETag": f'"{change.version}"', "X-Event-Seq": str(change.seq)})
