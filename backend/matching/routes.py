"""HTTP layer for batch matching runs and single proposals from the ranking."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import col, select

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import CurrentPrincipal, require_roles
from backend.db import DatabaseDep, ReadSessionDep, WriteSessionDep
from backend.idempotency import IdempotencyDep
from backend.matching import service
from backend.matching.models import MatchingRun, MatchingRunCreate, SendProposals
from backend.proposals.models import ProposalCreate, ProposalPublic
from backend.proposals.service import to_public as proposal_public
from backend.referrals.service import load_referral
from backend.users.models import Role

router = APIRouter(tags=["matching"])
MATCHERS = (Role.coordinator, Role.admin)


@router.post("/matching/runs", status_code=201, dependencies=[require_roles(*MATCHERS)])
def create_run(
    data: Annotated[MatchingRunCreate, Body()],
    request: Request,
    db: DatabaseDep,
    principal: CurrentPrincipal,
    idempotency: IdempotencyDep,
) -> Response:
    """Assign every waiting youth of the region (or the chosen ones) at once, maximising the
    total weighted score within free places; with `send_proposals` the result goes out as
    placement proposals right away. The run is stored first with status `running`. Send
    `Idempotency-Key` to make a retry safe: it gets the first run's answer (409 while that run
    is still being solved), not a second run."""

    def create() -> Response:
        body = service.run_matching(
            db=db,
            principal=principal,
            data=data,
            default_expiry_hours=request.app.state.settings.proposal_expiry_hours,
        )
        return JSONResponse(_json(body), status_code=201, headers={"Location": f"/api/v1/matching/runs/{body['id']}"})

    # A run is a job of several transactions of its own (docs/DEVELOPING.md).
    return idempotency.respond_job(db, data.model_dump(mode="json"), create)


@router.get("/matching/runs", dependencies=[require_roles(*MATCHERS)])
def list_runs(
    session: ReadSessionDep, principal: CurrentPrincipal, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[dict[str, Any]]:
    query = select(MatchingRun).order_by(col(MatchingRun.id).desc()).limit(limit)
    if principal.region_scope is not None:
        query = query.where(MatchingRun.region_id == principal.region_scope)
    return [_json(service.run_public(r)) for r in session.exec(query).all()]


@router.get("/matching/runs/{run_id}", dependencies=[require_roles(*MATCHERS)])
def get_run(
    run_id: int, session: WriteSessionDep, principal: CurrentPrincipal, snapshot: Annotated[bool, Query()] = False
) -> dict[str, Any]:
    """The run's result: assignments, and per unplaced youth why; `snapshot=true` adds the
    stored inputs (the youths' need profiles, so the read is audited)."""
    run = service.load_run(session=session, principal=principal, run_id=run_id)
    audit.record(
        session=session,
        actor=principal,
        action="matching.run.read",
        object_type="matching_run",
        object_id=run_id,
        purpose=Purpose.matching_review,
        detail={"referral_ids": run.referral_ids, "snapshot": snapshot},
        youth=audit.referrals(run.referral_ids),
        region_id=run.region_id,
    )
    return _json(service.run_public(run, include_snapshot=snapshot))


@router.post("/matching/runs/{run_id}/proposals", dependencies=[require_roles(*MATCHERS)])
def send_proposals(
    run_id: int,
    request: Request,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    body: Annotated[SendProposals | None, Body()] = None,
) -> dict[str, Any]:
    """Send the run's assignments as placement proposals (each claims its place atomically;
    places taken in the meantime are reported and the youth stays waiting). With
    `referral_ids` only those youths' lines are sent (siblings together); the lines left out
    are reported as `dropped` and those youths stay waiting."""
    settings = request.app.state.settings
    run = service.load_run(session=session, principal=principal, run_id=run_id)
    expiry = service.proposal_expiry_hours(session, run.region_id, settings.proposal_expiry_hours)
    run = service.send_run_proposals(
        session=session,
        principal=principal,
        run_id=run_id,
        expiry_hours=expiry,
        stale_after_hours=settings.stale_after_hours,
        referral_ids=body.referral_ids if body is not None else None,
    )
    return _json(service.run_public(run))


@router.post(
    "/referrals/{referral_id}/proposals",
    status_code=201,
    response_model=ProposalPublic,
    dependencies=[require_roles(*MATCHERS)],
)
def propose(
    referral_id: int,
    data: Annotated[ProposalCreate, Body()],
    request: Request,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    idempotency: IdempotencyDep,
) -> Response:
    """Send one option from the ranking to its provider as a placement proposal. Send
    `Idempotency-Key` to make a retry safe (it gets the first answer, not a second claim)."""
    settings = request.app.state.settings

    def create() -> Response:
        referral = load_referral(session=session, principal=principal, referral_id=referral_id)
        expiry = service.proposal_expiry_hours(session, referral.region_id, settings.proposal_expiry_hours)
        proposal = service.propose_option(
            session=session,
            principal=principal,
            referral_id=referral_id,
            group_id=data.group_id,
            expiry_hours=expiry,
            stale_after_hours=settings.stale_after_hours,
        )
        return JSONResponse(
            proposal_public(session, principal, proposal).model_dump(mode="json"),
            status_code=201,
            headers={"Location": f"/api/v1/proposals/{proposal.id}"},
        )

    return idempotency.respond(session, data.model_dump(mode="json"), create)


def _json(body: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in body.items()}
