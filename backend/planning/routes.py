"""HTTP layer of the crisis capacity planner."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from backend.auth import CurrentPrincipal, require_roles
from backend.db import ReadSessionDep
from backend.planning import service
from backend.planning.models import PLANNER_ROLES
from backend.validation import SaneDate

router = APIRouter(tags=["capaciteitsplanning"])


@router.get("/planning/crisis-capacity", dependencies=[require_roles(*PLANNER_ROLES)])
def get_crisis_capacity(
    session: ReadSessionDep,
    principal: CurrentPrincipal,
    region: str | None = Query(default=None, max_length=10),
    start: SaneDate | None = None,
    end: SaneDate | None = None,
    target: float | None = Query(default=None, description="Wat-als: een ander doel dan de regio-instelling (0–1)."),
) -> dict[str, Any]:
    """How many crisis places keep the chance that a youth finds no free place below the target,
    per crisis group, per provider and for the region: arrival rate and length of stay from the
    occupancy feed with their 95% intervals, Erlang's loss probability and the yearly
    availability funding for every number of places, the recommendation, a simulation of the
    real arrivals as a check, and what the model assumes (Dutch). Default period: the last 365
    days; default target: the region setting ``crisis_loss_target`` (5%)."""
    return service.crisis_capacity(
        session=session, principal=principal, region_code=region, start=start, end=end, target=target
    )
