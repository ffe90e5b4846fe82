"""HTTP layer of the what-if simulation: start a run (a background job), poll it, stop it, list
the earlier ones."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from backend.auth import CurrentPrincipal, require_roles
from backend.db import DatabaseDep, ReadSessionDep, WriteSessionDep
from backend.idempotency import IdempotencyDep
from backend.whatif import service
from backend.whatif.models import READERS, STARTERS, WhatIfRunCreate

router = APIRouter(tags=["wat-als-simulatie"])


@router.post("/whatif/runs", status_code=202, dependencies=[require_roles(*STARTERS)])
def create_run(
    data: Annotated[WhatIfRunCreate, Body()],
    db: DatabaseDep,
    principal: CurrentPrincipal,
    idempotency: IdempotencyDep,
) -> Response:
    """Replay the region's referrals of a period (at most three years) through the matching
    solver, as it was and with one change (`close` a group, `merge` `group_id` into
    `other_group_id`, `places`: add or remove `places_delta` places, or another `policy` than
    `baseline_policy`), `repetitions` times. Answers at once with the queued run; poll
    `GET /whatif/runs/{id}` for `progress` and the result (means with 95% intervals)."""

    def create() -> Response:
        run_id = service.start_run(db=db, principal=principal, data=data)
        # A job of several transactions of its own (docs/DEVELOPING.md), in a daemon thread.
        service.launch(db, run_id)
        with db.transaction(write=False) as session:
            body = service.run_public(service.load_run(session=session, principal=principal, run_id=run_id))
        return JSONResponse(
            jsonable_encoder(body), status_code=202, headers={"Location": f"/api/v1/whatif/runs/{run_id}"}
        )

    return idempotency.respond_job(db, data.model_dump(mode="json"), create)


@router.get("/whatif/runs", dependencies=[require_roles(*READERS)])
def list_runs(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100, description="Hoogstens zoveel simulaties (standaard 20).")] = 20,
    before_id: Annotated[
        int | None, Query(ge=1, description="Alleen simulaties met een lager id: de volgende bladzijde.")
    ] = None,
    region_id: Annotated[
        int | None, Query(ge=1, description="Alleen voor een beheerder zonder regio: de simulaties van deze regio.")
    ] = None,
) -> list[dict[str, Any]]:
    """Earlier runs of the caller's region, newest first, at most `limit` (1–100, default 20);
    the next page with `before_id` = the last `id` seen. Each: `id`, `status` and
    `status_label`, `description` (the change in words), the period (`start`, `end`),
    `created_by`, `created_at`, `finished_at` and, when done, a `headline` (`placed_baseline`,
    `placed_change`, `median_wait_days_baseline`, `median_wait_days_change`: means over the
    repetitions). No youth data; the whole result is at `GET /whatif/runs/{id}`. A caller bound
    to a region sees that region's runs only (another `region_id`: 404); a service-wide
    administrator sees every region's, or one region's with `region_id`."""
    return service.list_runs(
        session=session, principal=principal, region_id=region_id, limit=limit, before_id=before_id
    )


@router.get("/whatif/runs/{run_id}", dependencies=[require_roles(*READERS)])
def get_run(run_id: int, session: ReadSessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Status (`queued`, `running`, `done`, `failed`, `cancelled`), progress (0–1) and, when done,
    the figures of the baseline and the change side by side with what happened, the notes (what
    the simulation assumes) and `more_placed_with_change`: for a change that only removes places
    (a closure, places off, the same policy), the repetitions in which it placed more youths than
    the baseline, through the order of placing only (a note says so); null for other changes."""
    return service.run_public(service.load_run(session=session, principal=principal, run_id=run_id))


@router.post("/whatif/runs/{run_id}/cancel", dependencies=[require_roles(*STARTERS)])
def cancel_run(run_id: int, session: WriteSessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Stop a run: the job stops within a second or two (status `cancelled`); a finished run
    stays as it is."""
    return service.run_public(service.cancel(session=session, principal=principal, run_id=run_id))
