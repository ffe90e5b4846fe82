"""HTTP layer for placements: the provider records arrival, no-show, discharge and transfer;
coordinators of the region see them and may record that an expected youth will not come.

Every action is safe to retry with an ``Idempotency-Key``: the same key and body get the first
answer (one admission, one discharge), not a second change or a 409.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response

from backend.auth import CurrentPrincipal, Principal, require_roles
from backend.db import WriteSessionDep
from backend.idempotency import IdempotencyDep
from backend.placements import service
from backend.placements.models import (
    CHOSEN_DESTINATIONS,
    DESTINATIONS,
    NOT_ARRIVING,
    PLACEMENT_STATUS_LABELS,
    ArrivalRequest,
    DischargeRequest,
    NotArrivingRequest,
    Placement,
    PlacementPublic,
    TransferRequest,
)
from backend.users.models import Role

router = APIRouter(tags=["plaatsingen"])
READERS = (Role.provider, Role.coordinator, Role.admin)
ACTORS = (Role.provider, Role.admin)


def _stale_hours(request: Request) -> float:
    return float(request.app.state.settings.stale_after_hours)


def _answer(session: Any, principal: Principal, placement: Placement, status_code: int = 200) -> JSONResponse:
    body = service.to_public(session, principal, placement).model_dump(mode="json")
    return JSONResponse(body, status_code=status_code, headers={"ETag": f'"{placement.version}"'})


@router.get("/placements/vocabulary")
def vocabulary(principal: CurrentPrincipal) -> dict[str, Any]:
    """The fixed lists: statuses, discharge destinations, and why an arrival did not happen
    (for anyone logged in)."""
    del principal  # only to authenticate
    return {
        "statuses": PLACEMENT_STATUS_LABELS,
        "destinations": {code: DESTINATIONS[code] for code in CHOSEN_DESTINATIONS},
        "all_destinations": DESTINATIONS,
        "not_arriving": NOT_ARRIVING,
    }


@router.get("/placements", response_model=list[PlacementPublic], dependencies=[require_roles(*READERS)])
def list_placements(
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    status: Annotated[str | None, Query(max_length=12)] = None,
    group_id: Annotated[int | None, Query()] = None,
    referral_id: Annotated[int | None, Query()] = None,
    provider_id: Annotated[int | None, Query()] = None,
) -> list[PlacementPublic]:
    """A provider sees its own groups' placements (no referral, no reference); a coordinator its
    region's. Each read is audited."""
    rows = service.list_placements(
        session=session,
        principal=principal,
        status=status,
        group_id=group_id,
        referral_id=referral_id,
        provider_id=provider_id,
    )
    return [service.to_public(session, principal, p) for p in rows]


@router.get("/placements/{placement_id}", response_model=PlacementPublic, dependencies=[require_roles(*READERS)])
def get_placement(placement_id: int, session: WriteSessionDep, principal: CurrentPrincipal) -> PlacementPublic:
    placement = service.read_placement(session=session, principal=principal, placement_id=placement_id)
    return service.to_public(session, principal, placement)


@router.post(
    "/placements/{placement_id}/arrival", response_model=PlacementPublic, dependencies=[require_roles(*ACTORS)]
)
def arrival(
    placement_id: int,
    request: Request,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    idempotency: IdempotencyDep,
    data: Annotated[ArrivalRequest | None, Body()] = None,
) -> Response:
    """The youth arrived: start of care. The held place becomes occupied and the admission is
    recorded under `stay_reference` (the provider system's own, or plekwijzer's, sent back in
    the answer). A second admission for the same youth is refused."""
    body = data or ArrivalRequest()

    def act() -> Response:
        placement = service.arrive(
            session=session,
            principal=principal,
            placement_id=placement_id,
            data=body,
            stale_after_hours=_stale_hours(request),
        )
        return _answer(session, principal, placement)

    return idempotency.respond(session, body.model_dump(mode="json"), act)


@router.post(
    "/placements/{placement_id}/no-show", response_model=PlacementPublic, dependencies=[require_roles(*READERS)]
)
def no_show(
    placement_id: int,
    data: Annotated[NotArrivingRequest, Body()],
    request: Request,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    idempotency: IdempotencyDep,
) -> Response:
    """The expected youth did not come (`no_show`) or the arrival is off (`cancelled`), with a
    reason: the held place is free again and the youth is back on the waiting list."""

    def act() -> Response:
        placement = service.not_arriving(
            session=session,
            principal=principal,
            placement_id=placement_id,
            data=data,
            stale_after_hours=_stale_hours(request),
        )
        return _answer(session, principal, placement)

    return idempotency.respond(session, data.model_dump(mode="json"), act)


@router.post(
    "/placements/{placement_id}/discharge", response_model=PlacementPublic, dependencies=[require_roles(*ACTORS)]
)
def discharge(
    placement_id: int,
    data: Annotated[DischargeRequest, Body()],
    request: Request,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    idempotency: IdempotencyDep,
) -> Response:
    """End of care (*uitstroom*): date and destination. The discharge is recorded, the place is
    free again and the referral shows where the youth was placed, from when until when."""

    def act() -> Response:
        placement = service.discharge(
            session=session,
            principal=principal,
            placement_id=placement_id,
            data=data,
            stale_after_hours=_stale_hours(request),
        )
        return _answer(session, principal, placement)

    return idempotency.respond(session, data.model_dump(mode="json"), act)


@router.post(
    "/placements/{placement_id}/transfer",
    status_code=201,
    response_model=PlacementPublic,
    dependencies=[require_roles(*ACTORS)],
)
def transfer(
    placement_id: int,
    data: Annotated[TransferRequest, Body()],
    request: Request,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    idempotency: IdempotencyDep,
) -> Response:
    """Move the youth to another group of the same provider in one action: a discharge here and
    an admission there. Answers the new placement."""

    def act() -> Response:
        placement = service.transfer(
            session=session,
            principal=principal,
            placement_id=placement_id,
            data=data,
            stale_after_hours=_stale_hours(request),
        )
        response = _answer(session, principal, placement, status_code=201)
        response.headers["Location"] = f"/api/v1/placements/{placement.id}"
        return response

    return idempotency.respond(session, data.model_dump(mode="json"), act)
