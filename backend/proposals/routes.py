"""HTTP layer for placement proposals: providers accept or decline; expiry runs periodically."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request

from backend.auth import CurrentPrincipal, require_roles
from backend.db import DatabaseDep, WriteSessionDep
from backend.placements.models import AcceptRequest
from backend.proposals import service
from backend.proposals.models import DeclineRequest, ProposalPublic
from backend.users.models import Role

router = APIRouter(tags=["plaatsingsvoorstellen"])
ROLES = (Role.provider, Role.coordinator, Role.admin)


@router.get("/proposals", response_model=list[ProposalPublic], dependencies=[require_roles(*ROLES)])
def list_proposals(
    db: DatabaseDep,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    status: Annotated[str | None, Query()] = None,
    provider_id: Annotated[int | None, Query()] = None,
) -> list[ProposalPublic]:
    """Providers see the proposals for their own groups only (need profile, no reference).
    `provider_id` narrows the list to one provider (an administrator acting for it); another
    provider's, or one outside the caller's region, is 404."""
    # Lazy expiry first, in a unit of its own: nobody sees a proposal open past its deadline.
    # (The request's session begins with its first statement, after this one committed.)
    service.expire_proposals(db)
    return service.list_proposals(session=session, principal=principal, status=status, provider_id=provider_id)


@router.get("/proposals/{proposal_id}", response_model=ProposalPublic, dependencies=[require_roles(*ROLES)])
def get_proposal(
    proposal_id: int, db: DatabaseDep, session: WriteSessionDep, principal: CurrentPrincipal
) -> ProposalPublic:
    service.expire_proposals(db, [proposal_id])
    return service.read_proposal(session=session, principal=principal, proposal_id=proposal_id)


@router.post(
    "/proposals/{proposal_id}/accept",
    response_model=ProposalPublic,
    dependencies=[require_roles(Role.provider, Role.admin)],
)
def accept(
    proposal_id: int,
    request: Request,
    db: DatabaseDep,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    data: Annotated[AcceptRequest | None, Body()] = None,
) -> ProposalPublic:
    """Accept: the youth is expected on `expected_arrival` (default today, not in the past, at
    most 90 days ahead) and the place stays held until the arrival is recorded
    (`POST /placements/{id}/arrival`); no admission yet. The answer names the placement and
    the stay reference for the provider's own system."""
    service.expire_proposals(db, [proposal_id])
    proposal = service.accept(
        session=session,
        principal=principal,
        proposal_id=proposal_id,
        stale_after_hours=request.app.state.settings.stale_after_hours,
        expected_arrival=data.expected_arrival if data else None,
    )
    return service.to_public(session, principal, proposal)


@router.post(
    "/proposals/{proposal_id}/decline",
    response_model=ProposalPublic,
    dependencies=[require_roles(Role.provider, Role.admin)],
)
def decline(
    proposal_id: int,
    data: Annotated[DeclineRequest, Body()],
    request: Request,
    db: DatabaseDep,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
) -> ProposalPublic:
    """Decline with a reason from the list: the youth waits again, this group excluded."""
    service.expire_proposals(db, [proposal_id])
    proposal = service.decline(
        session=session,
        principal=principal,
        proposal_id=proposal_id,
        data=data,
        stale_after_hours=request.app.state.settings.stale_after_hours,
    )
    return service.to_public(session, principal, proposal)
