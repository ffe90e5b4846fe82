"""HTTP layer for availability: report free places, read the current picture."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from backend.auth import CurrentPrincipal, require_roles
from backend.availability import service
from backend.availability.models import AvailabilityList, AvailabilityUpdate, PlacesSource
from backend.availability.service import PlaceChange
from backend.config import Settings
from backend.db import Database, ReadSessionDep, WriteSessionDep
from backend.domain import utcnow
from backend.errors import RuleViolation
from backend.events.service import last_seq
from backend.providers.models import GroupPublic
from backend.providers.service import get_group_for, list_groups, to_public
from backend.regions.settings import region_stale_hours
from backend.users.models import Role

router = APIRouter(tags=["beschikbaarheid"])


def parse_if_match(value: str | None) -> int | None:
    """ETags are the group's version in quotes; ``*`` means any version."""
    if value is None or value.strip() == "*":
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise RuleViolation(
            'If-Match moet een versie zijn zoals in de ETag, bijvoorbeeld "3".', code="if_match_invalid"
        )
    return int(raw)


def etag(version: int) -> str:
    return f'"{version}"'


@router.put(
    "/groups/{group_id}/availability",
    response_model=GroupPublic,
    responses={
        404: {"description": "Groep niet gevonden"},
        409: {"description": "Conflict"},
        412: {"description": "Versieconflict"},
        422: {"description": "Ongeldige invoer"},
    },
    dependencies=[require_roles(Role.provider, Role.admin)],
)
async def put_availability(
    group_id: int,
    report: Annotated[AvailabilityUpdate, Body()],
    request: Request,
    principal: CurrentPrincipal,
    if_match: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    """Report free places of a group. Send `If-Match` with the ETag you read to refuse the
    change when someone else changed the group in between (412); send `Idempotency-Key` to
    make a retry safe."""
    # Async, with the whole unit of work in one trip to the thread pool: the session
    # dependency and a sync route would cost a hop each (this is the busiest write), so this
    # route opens its unit with Database.transaction, as jobs do (docs/DEVELOPING.md).
    settings: Settings = request.app.state.settings
    db: Database = request.app.state.db
    expected = parse_if_match(if_match)

    def unit_of_work() -> PlaceChange:
        with db.transaction(single_statement=True) as session:
            return service.report(
                session=session,
                principal=principal,
                group_id=group_id,
                report=report,
                expected_version=expected,
                stale_after_hours=settings.stale_after_hours,
                idempotency_key=idempotency_key,
                path=request.scope["path"],
            )

    change = await run_in_threadpool(unit_of_work)
    headers = {"ETag": etag(change.version), "X-Event-Seq": str(change.seq)}
    if change.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(change.group, headers=headers)


@router.get("/availability", response_model=AvailabilityList)
def get_availability(
    request: Request,
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    care_form: Annotated[list[str] | None, Query()] = None,
    municipality_id: Annotated[list[int] | None, Query()] = None,
    min_free: Annotated[int | None, Query(ge=0)] = None,
    admitting_only: bool = False,
    provider_id: int | None = None,
    region_id: int | None = None,
) -> JSONResponse:
    """The current picture with totals; `seq` is the live feed position it reflects, so a
    client can subscribe to `/api/v1/live?since=seq` and miss nothing."""
    settings: Settings = request.app.state.settings
    seq = last_seq(session)
    groups = list_groups(
        session=session,
        principal=principal,
        stale_after_hours=settings.stale_after_hours,
        care_forms=care_form,
        municipality_ids=municipality_id,
        min_free=min_free,
        admitting_only=admitting_only,
        provider_id=provider_id,
        region_id=region_id,
    )
    body = AvailabilityList(
        groups=groups,
        total_groups=len(groups),
        total_free_places=sum(g.free_places for g in groups if g.admitting),
        stale_groups=sum(1 for g in groups if g.stale),
        stale_after_hours=settings.stale_after_hours,
        stale_after_hours_by_region={
            region: region_stale_hours(session, region, settings.stale_after_hours)
            for region in sorted({g.region_id for g in groups})
        },
        generated_at=utcnow(),
    ).model_dump(mode="json")
    body["seq"] = seq
    return JSONResponse(body, headers={"X-Event-Seq": str(seq)})


@router.get("/groups/{group_id}/availability", response_model=GroupPublic)
def get_group_availability(
    group_id: int, request: Request, session: ReadSessionDep, principal: CurrentPrincipal
) -> JSONResponse:
    settings: Settings = request.app.state.settings
    group = get_group_for(session=session, principal=principal, group_id=group_id)
    body = to_public(session, group, stale_after_hours=settings.stale_after_hours).model_dump(mode="json")
    return JSONResponse(body, headers={"ETag": etag(group.version)})


@router.put(
    "/groups/{group_id}/places-source",
    response_model=GroupPublic,
    responses={404: {"description": "Groep niet gevonden"}, 422: {"description": "Ongeldige invoer"}},
    dependencies=[require_roles(Role.provider, Role.admin)],
)
def put_places_source(
    group_id: int, body: PlacesSource, request: Request, session: WriteSessionDep, principal: CurrentPrincipal
) -> Response:
    """Let the group's free places follow the occupancy feed (`follow_feed: true`: contracted
    places minus youths present, never below the held places) or report them by hand again.
    Admitting and its reason stay the provider's own either way."""
    settings: Settings = request.app.state.settings
    change = service.set_places_from_feed(
        session=session,
        principal=principal,
        group_id=group_id,
        follow=body.follow_feed,
        stale_after_hours=settings.stale_after_hours,
    )
    return JSONResponse(change.group, headers={"ETag": etag(change.version), "X-Event-Seq": str(change.seq)})
