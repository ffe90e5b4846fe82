"""Stay-intensity calculator and re-assessment when a group's staffing crosses a band.

The formula and the band lookup are the foundation's (``backend.domain``); the region's own
band table (``region.settings["intensity_bands"]``) overrides the default.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from backend.audit.purposes import Purpose
from backend.auth import Principal, ensure_region_access
from backend.availability import service as places
from backend.availability.service import Notice
from backend.domain import (
    CARE_FORMS,
    CRISIS_OCCUPANCY_NORM,
    DEFAULT_INTENSITY_BANDS,
    ORDINARY_OCCUPANCY_NORM,
    hours_per_child_per_day,
    intensity_index,
    intensity_letter,
    utcnow,
)
from backend.errors import Conflict, NotFound, RuleViolation
from backend.events.service import append_event
from backend.intensity.models import (
    GroupIntensity,
    IntensityAnswer,
    IntensityQuestion,
    IntensityReassessment,
    ReassessmentDecision,
    ReassessmentPublic,
    StaffingUpdate,
)
from backend.providers.models import Group, Provider
from backend.providers.service import get_group_for, region_bands
from backend.regions.models import Region
from backend.users.models import Role

REASSESSMENT_REQUIRED = "intensity.reassessment_required"
REASSESSMENT_DECIDED = "intensity.reassessment_decided"
STAFFING_CHANGED = "group.staffing_changed"


def _fmt(value: float, decimals: int = 1) -> str:
    return f"{value:.{decimals}f}".replace(".", ",")


def band_bounds(letter: str, bands: list[tuple[str, float]]) -> tuple[float, float | None]:
    table = sorted(bands, key=lambda band: band[1])
    for i, (candidate, lower) in enumerate(table):
        if candidate == letter:
            return lower, (table[i + 1][1] if i + 1 < len(table) else None)
    return 0.0, None


def calculate(
    *,
    weekly_roster_hours: float,
    places: int,
    care_form: str | None,
    is_crisis: bool | None,
    occupancy_norm: float | None,
    bands: list[tuple[str, float]] | None,
) -> IntensityAnswer:
    if care_form is not None and care_form not in CARE_FORMS:
        raise RuleViolation(f"Onbekende zorgvorm '{care_form}'.", code="care_form_unknown")
    crisis = (care_form is not None and CARE_FORMS[care_form].segment == "crisis") if is_crisis is None else is_crisis
    norm = occupancy_norm or (CRISIS_OCCUPANCY_NORM if crisis else ORDINARY_OCCUPANCY_NORM)
    table = bands or DEFAULT_INTENSITY_BANDS
    hours = hours_per_child_per_day(weekly_roster_hours=weekly_roster_hours, places=places, occupancy_norm=norm)
    letter = intensity_letter(hours, table)
    lower, upper = band_bounds(letter, table)
    maximum = CARE_FORMS[care_form][2] if care_form else None
    within = maximum is None or intensity_index(letter) <= intensity_index(maximum)
    # Without a maximum ``within`` already holds; the None test tells the type checker so.
    funded = letter if within or maximum is None else maximum
    children = places * norm
    explanation = (
        f"{_fmt(weekly_roster_hours)} uur / ({places} × {_fmt(norm * 100, 0)}% = {_fmt(children, 2)} "
        f"jeugdigen) / 7 dagen = {_fmt(hours, 2)} uur per kind per dag: intensiteit {letter} "
        f"({_fmt(lower)} tot {_fmt(upper) if upper is not None else 'meer'} uur)."
    )
    if not within:
        explanation += (
            f" Dat is boven het maximum {maximum} van de zorgvorm {CARE_FORMS[care_form][0]}"  # type: ignore[index]
            f"; bekostigd wordt ten hoogste {maximum}."
        )
    return IntensityAnswer(
        hours_per_child_per_day=round(hours, 2),
        hours_per_child_per_day_rounded=round(hours, 1),
        occupancy_norm=norm,
        children_at_norm=round(children, 4),
        intensity=letter,
        band_lower=lower,
        band_upper=upper,
        care_form=care_form,
        max_intensity=maximum,
        within_maximum=within,
        funded_intensity=funded,
        explanation=explanation,
    )


def _region_for(session: Session, principal: Principal, code: str | None) -> Region | None:
    if code:
        region = session.exec(select(Region).where(Region.code == code.strip().upper())).first()
        if region is None:
            raise NotFound("Regio niet gevonden.")
        # Another region's band table is that region's setting.
        ensure_region_access(principal, region.id, what="Regio")
        return region
    if principal.provider_id is not None:
        provider = session.get(Provider, principal.provider_id)
        return session.get(Region, provider.region_id) if provider else None
    return session.get(Region, principal.region_id) if principal.region_id is not None else None


def answer_question(*, session: Session, principal: Principal, question: IntensityQuestion) -> IntensityAnswer:
    region = _region_for(session, principal, question.region)
    return calculate(
        weekly_roster_hours=question.weekly_roster_hours,
        places=question.places,
        care_form=question.care_form,
        is_crisis=question.is_crisis,
        occupancy_norm=question.occupancy_norm,
        bands=region_bands(region),
    )


def _public(item: IntensityReassessment | None) -> ReassessmentPublic | None:
    return None if item is None else ReassessmentPublic.model_validate(item.model_dump())


def open_reassessment(session: Session, group_id: int) -> IntensityReassessment | None:
    return session.exec(
        select(IntensityReassessment)
        .where(IntensityReassessment.group_id == group_id, IntensityReassessment.status == "open")
        .order_by(col(IntensityReassessment.id).desc())
    ).first()


def group_intensity(*, session: Session, principal: Principal, group_id: int) -> GroupIntensity:
    group = get_group_for(session=session, principal=principal, group_id=group_id)
    bands = region_bands(session.get(Region, group.region_id))
    hours = hours_per_child_per_day(
        weekly_roster_hours=group.weekly_roster_hours, places=group.capacity, occupancy_norm=group.occupancy_norm
    )
    pending = open_reassessment(session, group_id)
    return GroupIntensity(
        group_id=group_id,
        group_name=group.name,
        care_form=group.care_form,
        capacity=group.capacity,
        weekly_roster_hours=group.weekly_roster_hours,
        occupancy_norm=group.occupancy_norm,
        hours_per_child_per_day=round(hours, 2),
        calculated_intensity=intensity_letter(hours, bands),
        funded_intensity=group.intensity,
        max_intensity=group.max_intensity,
        reassessment_required=pending is not None,
        open_reassessment=_public(pending),
    )


def open_band_reassessment(
    session: Session, *, actor: Principal, group: Group, capacity: int, roster: float, letter: str
) -> IntensityReassessment | None:
    """A new staffing situation replaces an open re-assessment; when it falls in another band
    than the funded intensity, a new re-assessment is opened (with an event). The caller writes
    the group's new places and hours."""
    assert group.id is not None
    previous = open_reassessment(session, group.id)
    if previous is not None:
        # The situation it described no longer holds; the new one replaces it.
        previous.status = "superseded"
        previous.decided_at = utcnow()
        previous.decided_by = actor.label
        session.add(previous)
    if letter == group.intensity:
        session.flush()
        return None
    hours = hours_per_child_per_day(weekly_roster_hours=roster, places=capacity, occupancy_norm=group.occupancy_norm)
    reassessment = IntensityReassessment(
        group_id=group.id,
        created_at=utcnow(),
        created_by=actor.label,
        capacity_before=group.capacity,
        capacity_after=capacity,
        roster_hours_before=group.weekly_roster_hours,
        roster_hours_after=roster,
        hours_per_child_per_day=round(hours, 4),
        intensity_before=group.intensity,
        intensity_after=letter,
    )
    session.add(reassessment)
    session.flush()
    append_event(
        session=session,
        type=REASSESSMENT_REQUIRED,
        group_id=group.id,
        provider_id=group.provider_id,
        region_id=group.region_id,
        actor=actor.label,
        payload={
            "group_id": group.id,
            "reassessment_id": reassessment.id,
            "intensity_before": reassessment.intensity_before,
            "intensity_after": reassessment.intensity_after,
            "hours_per_child_per_day": round(hours, 2),
        },
    )
    return reassessment


def update_staffing(
    *, session: Session, principal: Principal, group_id: int, update: StaffingUpdate, stale_after_hours: float
) -> tuple[Group, IntensityReassessment | None]:
    """Change places and/or weekly roster hours. Crossing into another band opens a
    re-assessment (with an event); the funded intensity changes only when it is approved."""
    if update.capacity is None and update.weekly_roster_hours is None:
        raise RuleViolation(
            "Geef het aantal plaatsen (capacity) en/of de roosteruren per week op.", code="staffing_empty"
        )
    group = get_group_for(session=session, principal=principal, group_id=group_id, for_update=True)
    capacity = update.capacity if update.capacity is not None else group.capacity
    roster = update.weekly_roster_hours if update.weekly_roster_hours is not None else group.weekly_roster_hours
    if capacity < group.free_places:
        raise RuleViolation(
            f"De groep meldt nu {group.free_places} vrije plaatsen; met {capacity} plaatsen kan dat "
            "niet. Meld eerst minder vrije plaatsen.",
            code="capacity_below_free",
        )
    bands = region_bands(session.get(Region, group.region_id))
    hours = hours_per_child_per_day(weekly_roster_hours=roster, places=capacity, occupancy_norm=group.occupancy_norm)
    letter = intensity_letter(hours, bands)
    if intensity_index(letter) > intensity_index(group.max_intensity):
        raise RuleViolation(
            f"Met {_fmt(roster)} roosteruren voor {capacity} plaatsen komt de groep op intensiteit "
            f"{letter} ({_fmt(hours, 2)} uur per kind per dag), boven het maximum "
            f"{group.max_intensity} van de zorgvorm {CARE_FORMS[group.care_form][0]}.",
            code="intensity_above_maximum",
        )
    before = {"capacity": group.capacity, "weekly_roster_hours": group.weekly_roster_hours}
    reassessment = open_band_reassessment(
        session, actor=principal, group=group, capacity=capacity, roster=roster, letter=letter
    )
    session.flush()
    places.change_group(
        session=session,
        group_id=group_id,
        stale_after_hours=stale_after_hours,
        values={"capacity": capacity, "weekly_roster_hours": roster},
        notice=Notice(
            STAFFING_CHANGED,
            principal,
            "group.staffing",
            "group",
            group_id,
            Purpose.staffing,
            detail={
                "before": before,
                "after": {"capacity": capacity, "weekly_roster_hours": roster},
                "reassessment": reassessment.id if reassessment else None,
            },
            extra={"before": before},
        ),
    )
    return group, reassessment


def decide(
    *,
    session: Session,
    principal: Principal,
    reassessment_id: int,
    decision: ReassessmentDecision,
    stale_after_hours: float,
) -> IntensityReassessment:
    item = session.exec(
        select(IntensityReassessment).where(IntensityReassessment.id == reassessment_id).with_for_update()
    ).first()
    if item is None:
        raise NotFound("Herbeoordeling niet gevonden.")
    # Access before state: another region's decided re-assessment answers 404, not 409.
    group = get_group_for(session=session, principal=principal, group_id=item.group_id, for_update=True)
    if item.status != "open":
        raise Conflict("Over deze herbeoordeling is al besloten.", code="reassessment_closed")
    item.status = "approved" if decision.approve else "rejected"
    item.decided_at = utcnow()
    item.decided_by = principal.label
    item.note = decision.note
    session.add(item)
    session.flush()
    places.change_group(
        session=session,
        group_id=group.id or 0,
        stale_after_hours=stale_after_hours,
        values={"intensity": item.intensity_after if decision.approve else group.intensity},
        notice=Notice(
            REASSESSMENT_DECIDED,
            principal,
            "intensity.decide",
            "group",
            group.id or 0,
            Purpose.intensity_reassessment,
            detail={"reassessment_id": item.id, "status": item.status},
            extra={"reassessment_id": item.id, "status": item.status},
        ),
    )
    return item


def list_reassessments(*, session: Session, principal: Principal, status: str | None) -> list[ReassessmentPublic]:
    query = select(IntensityReassessment, Group.provider_id).join(
        Group, col(Group.id) == IntensityReassessment.group_id
    )
    if status:
        query = query.where(IntensityReassessment.status == status)
    if principal.role == Role.provider:
        query = query.where(Group.provider_id == principal.provider_id)
    elif principal.region_scope is not None:
        query = query.where(Group.region_id == principal.region_scope)
    rows = session.exec(query.order_by(col(IntensityReassessment.id))).all()
    return [_public(item) for item, _ in rows]  # type: ignore[misc]
