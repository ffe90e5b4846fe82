"""HTTP layer for the crisis team: search, holds, overview.

Roles: ``crisis`` and ``admin`` hold, confirm and release on any crisis place; a ``provider``
sees the holds on its own groups, rejects them with a reason, and may hold or release only on
its own groups (404 for others); ``coordinator`` reads holds and the overview; ``viewer`` reads
the search and the overview (no youth data in either).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response

from backend.auth import CurrentPrincipal, require_roles
from backend.config import Settings
from backend.crisis import searchlog, service
from backend.crisis.models import (
    HOLD_STATUSES,
    REJECT_REASONS,
    CrisisSearch,
    CrisisSearchResult,
    HoldCreate,
    HoldPublic,
    HoldReject,
)
from backend.db import DatabaseDep, ReadSessionDep, WriteSessionDep
from backend.errors import RuleViolation
from backend.idempotency import IdempotencyDep
from backend.users.models import Role

router = APIRouter(tags=["crisis"])

_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "Plaats net bezet of vasthouding niet meer actief; met de "
        "beste andere plaatsen in `alternatives`"
    }
}


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _hold_body(hold: Any, group: Any, **extra: Any) -> dict[str, Any]:
    return service.hold_public(hold, group=group, **extra).model_dump(mode="json")


@router.post(
    "/crisis/search",
    response_model=CrisisSearchResult,
    dependencies=[require_roles(Role.crisis, Role.admin, Role.coordinator, Role.viewer)],
)
def post_search(
    query: Annotated[CrisisSearch, Body()], request: Request, db: DatabaseDep, principal: CurrentPrincipal
) -> JSONResponse:
    """Crisis places free and admitting now near the youth (postcode or lat/lon): own region
    first, then neighbouring regions, then further away; nearest first inside each. Free places
    are net of active holds. Nothing of the youth is stored (the search needs no audit row);
    the search is counted for the region's indicators: when, and how many places it found."""
    # Its own read-only unit (docs/DEVELOPING.md): the session dependency costs two thread-pool
    # hops, a fifth of this hot path's time; read-only, although this is a POST, so that on
    # SQLite it does not queue behind writers.
    with db.transaction(write=False) as session:
        result = service.search(session=session, principal=principal, query=query, settings=_settings(request))
    # Counted for the indicators without the youth, written in the background (searchlog).
    searchlog.note(db, result)
    return JSONResponse(result)


@router.get(
    "/crisis/overview",
    dependencies=[require_roles(Role.crisis, Role.admin, Role.coordinator, Role.viewer, Role.provider)],
)
def get_overview(
    request: Request, session: ReadSessionDep, principal: CurrentPrincipal, region_code: str | None = None
) -> JSONResponse:
    """Every crisis group of the region: free places, holds, occupancy today, freshness. Keep
    it live with the websocket `/api/v1/live?since=<seq>` (events `hold.*` and
    `availability.changed`)."""
    return JSONResponse(
        service.overview(session=session, principal=principal, settings=_settings(request), region_code=region_code)
    )


@router.get("/crisis/reject-reasons")
def get_reject_reasons(_: CurrentPrincipal) -> list[dict[str, str]]:
    """The reasons a provider can pick when rejecting a hold ("anders" needs free text)."""
    return [{"code": code, "label": label} for code, label in REJECT_REASONS.items()]


@router.post(
    "/holds",
    status_code=201,
    response_model=HoldPublic,
    responses=_CONFLICT,
    dependencies=[require_roles(Role.crisis, Role.admin, Role.provider)],
)
def post_hold(
    body: Annotated[HoldCreate, Body()],
    request: Request,
    db: DatabaseDep,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    idempotency: IdempotencyDep,
) -> Response:
    """Hold one place while the team drives (default 120 minutes, or the region's
    `hold_minutes`). `crisis_reference` is a short pseudonymous code: never a name or a BSN.
    Send `Idempotency-Key` to make a retry safe: it gets the first answer, not a second place.
    The crisis team may hold in other regions (see the search); the hold is its own region's."""
    # Expired holds on this group free their place first, in a transaction of their own.
    service.expire_holds(db, group_id=body.group_id)

    def create() -> Response:
        hold, group, seq = service.create_hold(
            session=session, principal=principal, body=body, settings=_settings(request)
        )
        return JSONResponse(
            _hold_body(hold, group),
            status_code=201,
            headers={"X-Event-Seq": str(seq), "Location": f"/api/v1/holds/{hold.id}"},
        )

    return idempotency.respond(session, body.model_dump(mode="json"), create)


@router.get(
    "/holds",
    response_model=list[HoldPublic],
    dependencies=[require_roles(Role.crisis, Role.admin, Role.coordinator, Role.provider)],
)
def get_holds(
    db: DatabaseDep,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    status: Annotated[str | None, Query()] = None,
    group_id: Annotated[int | None, Query()] = None,
    provider_id: Annotated[int | None, Query()] = None,
    mine: Annotated[bool, Query(description="alleen de eigen vasthoudingen van de aanvrager")] = False,
) -> JSONResponse:
    """Holds, newest first (a provider sees those on its own groups). Every read is audited.
    `provider_id`: one provider's holds only (an administrator acting for it); `mine=true`: the
    caller's own, with the provider's name and 24-hour phone for the hold card."""
    if status is not None and status not in HOLD_STATUSES:
        raise RuleViolation(f"Status moet een van deze zijn: {', '.join(HOLD_STATUSES)}.", code="status_invalid")
    service.expire_holds(db, group_id=group_id)
    # A write session: each read of a hold is audited.
    rows = service.list_holds(
        session=session, principal=principal, status=status, group_id=group_id, provider_id=provider_id, mine=mine
    )
    providers = service.provider_contacts(session, {g.provider_id for _h, g in rows}) if mine else {}
    return JSONResponse([_hold_body(h, g, **providers.get(g.provider_id, {})) for h, g in rows])


@router.get(
    "/holds/{hold_id}",
    response_model=HoldPublic,
    dependencies=[require_roles(Role.crisis, Role.admin, Role.coordinator, Role.provider)],
)
def get_hold(hold_id: int, db: DatabaseDep, session: WriteSessionDep, principal: CurrentPrincipal) -> JSONResponse:
    service.expire_holds(db, hold_id=hold_id)
    # A write session: the read is audited.
    hold, group = service.read_hold(session=session, principal=principal, hold_id=hold_id)
    return JSONResponse(_hold_body(hold, group))


@router.post(
    "/holds/{hold_id}/confirm",
    response_model=HoldPublic,
    responses=_CONFLICT,
    dependencies=[require_roles(Role.crisis, Role.admin, Role.provider)],
)
def post_confirm(
    hold_id: int, request: Request, db: DatabaseDep, session: WriteSessionDep, principal: CurrentPrincipal
) -> JSONResponse:
    """On arrival: the hold becomes the placement (free and held places both go down by one)
    and an occupancy admission is recorded."""
    service.expire_holds(db, hold_id=hold_id)
    hold, group, admitted, seq = service.confirm_hold(
        session=session, principal=principal, hold_id=hold_id, settings=_settings(request)
    )
    return JSONResponse(_hold_body(hold, group, admission_recorded=admitted), headers={"X-Event-Seq": str(seq)})


@router.delete(
    "/holds/{hold_id}",
    response_model=HoldPublic,
    responses=_CONFLICT,
    dependencies=[require_roles(Role.crisis, Role.admin, Role.provider)],
)
def delete_hold(
    hold_id: int, request: Request, db: DatabaseDep, session: WriteSessionDep, principal: CurrentPrincipal
) -> JSONResponse:
    """Release a hold: the place is free again for everyone."""
    service.expire_holds(db, hold_id=hold_id)
    hold, group, seq = service.release_hold(
        session=session, principal=principal, hold_id=hold_id, settings=_settings(request)
    )
    return JSONResponse(_hold_body(hold, group), headers={"X-Event-Seq": str(seq)})


@router.post(
    "/holds/{hold_id}/reject",
    response_model=HoldPublic,
    responses=_CONFLICT,
    dependencies=[require_roles(Role.provider, Role.admin)],
)
def post_reject(
    hold_id: int,
    body: Annotated[HoldReject, Body()],
    request: Request,
    db: DatabaseDep,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
) -> JSONResponse:
    """The provider refuses a hold on its own group, with a reason from the list
    (`/crisis/reject-reasons`) or in its own words (`anders`)."""
    service.expire_holds(db, hold_id=hold_id)
    hold, group, seq = service.reject_hold(
        session=session, principal=principal, hold_id=hold_id, body=body, settings=_settings(request)
    )
    return JSONResponse(_hold_body(hold, group), headers={"X-Event-Seq": str(seq)})
