"""HTTP layer of the what-if simulation: start a run (a background job), poll it, stop it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
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


@router.get("/whatif/runs/{run_id}", dependencies=[require_roles(*READERS)])
def get_run(run_id: int, session: ReadSessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Status (`queued`, `running`, `done`, `failed`, `cancelled`), progress (0–1) and, when done,
    the figures of the baseline and the change side by side with what happened."""
    return service.run_public(service.load_run(session=session, principal=principal, run_id=run_id))


@router.post("/whatif/runs/{run_id}/cancel", dependencies=[require_roles(*STARTERS)])
def cancel_run(run_id: int, session: WriteSessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Stop a run: the job stops within a second or two (status `cancelled`); a finished run
    stays as it is."""
    return service.run_public(service.cancel(session=session, principal=principal, run_id=run_id))
