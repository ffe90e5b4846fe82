"""HTTP layer for stay intensity: the what-if calculator, a group's figure, staffing changes
and re-assessments."""

from __future__ import annotations

from fastapi import APIRouter, Request

from backend.auth import CurrentPrincipal, require_roles
from backend.db import ReadSessionDep, WriteSessionDep
from backend.errors import Forbidden
from backend.intensity import service
from backend.intensity.models import (
    GroupIntensity,
    IntensityAnswer,
    IntensityQuestion,
    ReassessmentDecision,
    ReassessmentPublic,
    StaffingUpdate,
)
from backend.providers.models import GroupPublic
from backend.providers.service import get_group_for, to_public
from backend.register.service import contract_capacity_from_today
from backend.users.models import Role

router = APIRouter(tags=["verblijfsintensiteit"])


@router.post("/intensity/calculate", response_model=IntensityAnswer)
def post_calculate(
    question: IntensityQuestion, session: ReadSessionDep, principal: CurrentPrincipal
) -> IntensityAnswer:
    """Hours per child per day = weekly net roster hours / (places × occupancy norm) / 7, and the
    letter from the region's band table (what-if: changes nothing)."""
    return service.answer_question(session=session, principal=principal, question=question)


@router.get("/intensity/groups/{group_id}", response_model=GroupIntensity)
def get_group_intensity(group_id: int, session: ReadSessionDep, principal: CurrentPrincipal) -> GroupIntensity:
    return service.group_intensity(session=session, principal=principal, group_id=group_id)


@router.put("/groups/{group_id}/staffing", response_model=dict, dependencies=[require_roles(Role.admin, Role.provider)])
def put_staffing(
    group_id: int, update: StaffingUpdate, request: Request, session: WriteSessionDep, principal: CurrentPrincipal
) -> dict[str, object]:
    """Change a group's weekly roster hours (the owning provider, or the region) and places (the
    region only: contracted places are the region's; a provider asks for them instead)."""
    stale = request.app.state.settings.stale_after_hours
    current = get_group_for(session=session, principal=principal, group_id=group_id, for_update=True)
    if update.capacity is not None and update.capacity != current.capacity:
        if principal.role != Role.admin:
            raise Forbidden(
                "Het aantal gecontracteerde plaatsen wijzigt de regio. Vraag meer of minder plaatsen aan "
                "met een ingangsdatum (Plaatsen aanvragen).",
                code="places_by_region",
            )
        contract_capacity_from_today(session=session, principal=principal, group=current, capacity=update.capacity)
    group, reassessment = service.update_staffing(
        session=session, principal=principal, group_id=group_id, update=update, stale_after_hours=stale
    )
    public: GroupPublic = to_public(session, group, stale_after_hours=stale)
    return {
        "group": public.model_dump(mode="json"),
        "reassessment": None
        if reassessment is None
        else ReassessmentPublic.model_validate(reassessment.model_dump()).model_dump(mode="json"),
    }


@router.get(
    "/intensity/reassessments",
    response_model=list[ReassessmentPublic],
    dependencies=[require_roles(Role.admin, Role.coordinator, Role.viewer, Role.provider)],
)
def get_reassessments(
    session: ReadSessionDep, principal: CurrentPrincipal, status: str | None = None
) -> list[ReassessmentPublic]:
    return service.list_reassessments(session=session, principal=principal, status=status)


@router.post(
    "/intensity/reassessments/{reassessment_id}/decision",
    response_model=ReassessmentPublic,
    dependencies=[require_roles(Role.admin, Role.coordinator)],
)
def post_decision(
    reassessment_id: int,
    decision: ReassessmentDecision,
    request: Request,
    session: WriteSessionDep,
    principal: CurrentPrincipal,
) -> ReassessmentPublic:
    item = service.decide(
        session=session,
        principal=principal,
        reassessment_id=reassessment_id,
        decision=decision,
        stale_after_hours=request.app.state.settings.stale_after_hours,
    )
    return ReassessmentPublic.model_validate(item.model_dump())
