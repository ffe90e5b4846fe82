"""HTTP layer for referrals and the ranking of places for one referral."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlmodel import Field

from backend.audit.purposes import Purpose
from backend.auth import CurrentPrincipal, require_roles
from backend.availability.routes import etag, parse_if_match
from backend.db import ReadSessionDep, WriteSessionDep
from backend.domain import CARE_FORMS, INTENSITY_LETTERS, NEED_TAGS
from backend.idempotency import IdempotencyDep
from backend.matching.service import explain_option, rank_options
from backend.proposals import service as proposals
from backend.referrals import service, timeline
from backend.referrals.models import STATUS_LABELS, ReferralCreate, ReferralPublic, ReferralUpdate
from backend.users.models import Role
from backend.validation import InputModel

router = APIRouter(tags=["verwijzingen"])
MATCHERS = (Role.coordinator, Role.admin)


class WithdrawRequest(InputModel):
    reason: str = Field(min_length=3, max_length=200)


@router.get("/referrals/vocabulary")
def vocabulary(session: ReadSessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """The managed lists a referral form uses: need tags, care forms, intensities, statuses, and
    the decline reasons the caller's region offers now."""
    return {
        "need_tags": NEED_TAGS,
        "care_forms": service.care_form_labels(),
        "intensities": list(INTENSITY_LETTERS),
        "risk_profiles": ["A", "B", "C"],
        "genders": {"m": "Jongen", "v": "Meisje", "x": "Anders / onbekend"},
        "statuses": STATUS_LABELS,
        "decline_reasons": proposals.decline_reasons_for(session=session, principal=principal),
        "care_form_segments": {k: v[1] for k, v in CARE_FORMS.items()},
    }


@router.post("/referrals", status_code=201, response_model=ReferralPublic, dependencies=[require_roles(*MATCHERS)])
def create_referral(
    data: Annotated[ReferralCreate, Body()],
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    idempotency: IdempotencyDep,
) -> Response:
    """Enter a referral: pseudonymous reference, no name or BSN. Send `Idempotency-Key` to make
    a retry safe (it gets the first answer, not a second referral)."""

    def create() -> Response:
        referral = service.create_referral(session=session, principal=principal, data=data)
        body = service.to_public(referral).model_dump(mode="json")
        return JSONResponse(
            body,
            status_code=201,
            headers={"ETag": etag(referral.version), "Location": f"/api/v1/referrals/{referral.id}"},
        )

    return idempotency.respond(session, data.model_dump(mode="json"), create)


@router.get("/referrals", response_model=list[ReferralPublic], dependencies=[require_roles(*MATCHERS)])
def list_referrals(
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    status: Annotated[str | None, Query()] = None,
    region_id: Annotated[int | None, Query()] = None,
) -> list[ReferralPublic]:
    rows = service.list_referrals(session=session, principal=principal, status=status, region_id=region_id)
    return [service.to_public(r) for r in rows]


@router.get("/referrals/{referral_id}", response_model=ReferralPublic, dependencies=[require_roles(*MATCHERS)])
def get_referral(
    referral_id: int,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    purpose: Annotated[
        Purpose, Query(description="waarom: een code uit GET /audit/purposes")
    ] = Purpose.referral_review,
) -> JSONResponse:
    referral = service.read_referral(session=session, principal=principal, referral_id=referral_id, purpose=purpose)
    return JSONResponse(service.to_public(referral).model_dump(mode="json"), headers={"ETag": etag(referral.version)})


@router.patch("/referrals/{referral_id}", response_model=ReferralPublic, dependencies=[require_roles(*MATCHERS)])
def update_referral(
    referral_id: int,
    data: Annotated[ReferralUpdate, Body()],
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Change fields of a referral; send If-Match with the ETag to refuse a lost update (412)."""
    referral = service.update_referral(
        session=session,
        principal=principal,
        referral_id=referral_id,
        data=data,
        expected_version=parse_if_match(if_match),
    )
    return JSONResponse(service.to_public(referral).model_dump(mode="json"), headers={"ETag": etag(referral.version)})


@router.post(
    "/referrals/{referral_id}/withdraw", response_model=ReferralPublic, dependencies=[require_roles(*MATCHERS)]
)
def withdraw_referral(
    referral_id: int,
    data: Annotated[WithdrawRequest, Body()],
    request: Request,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
) -> ReferralPublic:
    referral = proposals.withdraw_referral(
        session=session,
        principal=principal,
        referral_id=referral_id,
        reason=data.reason,
        stale_after_hours=request.app.state.settings.stale_after_hours,
    )
    return service.to_public(referral)


@router.get("/referrals/{referral_id}/timeline", dependencies=[require_roles(*MATCHERS)])
def referral_timeline(referral_id: int, session: WriteSessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Everything that happened to this youth's referral in time order, with who and when:
    proposals, declines (with reason), expiries, crisis holds, arrival, placement, discharge,
    changes and withdrawal; and where the youth is placed. A write session: the read is audited."""
    return timeline.timeline(session=session, principal=principal, referral_id=referral_id)


@router.get("/referrals/{referral_id}/options", dependencies=[require_roles(*MATCHERS)])
def referral_options(
    referral_id: int,
    request: Request,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10,
) -> JSONResponse:
    """The best groups for this youth with every score component, the excluded groups counted
    per rule, and groups without a free bed now but expected free soon."""
    # Every value is already JSON-native: skip FastAPI's generic encoder (it is the slowest
    # part of a ranking request with a large limit).
    return JSONResponse(
        rank_options(
            session=session,
            principal=principal,
            referral_id=referral_id,
            limit=limit,
            stale_after_hours=request.app.state.settings.stale_after_hours,
        )
    )


@router.get("/referrals/{referral_id}/options/{group_id}", dependencies=[require_roles(*MATCHERS)])
def referral_option(
    referral_id: int, group_id: int, request: Request, session: WriteSessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Why this group does or does not fit: every component and every rule it fails."""
    return explain_option(
        session=session,
        principal=principal,
        referral_id=referral_id,
        group_id=group_id,
        stale_after_hours=request.app.state.settings.stale_after_hours,
    )
