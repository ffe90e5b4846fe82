"""Providers, locations and groups: creating them, and reading them with access checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from backend.auth import Principal, ensure_access
from backend.availability.service import open_places
from backend.domain import (
    AVAILABILITY_FUNDED_CARE_FORMS,
    CARE_FORMS,
    CRISIS_OCCUPANCY_NORM,
    GENDER_POLICIES,
    NEED_TAGS,
    ORDINARY_OCCUPANCY_NORM,
    care_form_max_intensity,
    hours_per_child_per_day,
    intensity_index,
    intensity_letter,
    utcnow,
)
from backend.errors import NotFound, RuleViolation
from backend.providers.models import Group, GroupPublic, Location, Provider, active_on, group_public_json
from backend.regions.models import Municipality, Region
from backend.regions.settings import region_settings, region_stale_hours
from backend.register.models import FAMILY_HOME_LEVELS
from backend.register.terms import NEVER_AVAILABILITY_FUNDED, first_term
from backend.users.models import Role


def region_bands(region: Region | None) -> list[tuple[str, float]] | None:
    return region_settings(region).bands() if region else None


def derive_intensity(
    *, weekly_roster_hours: float, capacity: int, occupancy_norm: float, bands: list[tuple[str, float]] | None = None
) -> str:
    hours = hours_per_child_per_day(
        weekly_roster_hours=weekly_roster_hours, places=capacity, occupancy_norm=occupancy_norm
    )
    return intensity_letter(hours, bands)


def create_group(
    *,
    session: Session,
    location: Location,
    name: str,
    care_form: str,
    capacity: int,
    age_min: int,
    age_max: int,
    weekly_roster_hours: float,
    gender_policy: str = "gemengd",
    risk_profiles: str = "AB",
    expertise: Sequence[str] = (),
    occupancy_norm: float | None = None,
    day_tariff: float = 0.0,
    availability_funded: bool | None = None,
    free_places: int = 0,
    admitting: bool = True,
    code: str | None = None,
    level: str | None = None,
    active_from: date | None = None,
    created_by: str = "plekwijzer",
) -> Group:
    """Create a group with its first contract term (from ``active_from``, default today); its
    stay intensity is derived from roster hours, places and norm."""
    if care_form not in CARE_FORMS:
        raise RuleViolation(f"Onbekende zorgvorm '{care_form}'.")
    if availability_funded and care_form in NEVER_AVAILABILITY_FUNDED:
        raise RuleViolation("Crisispleegzorg wordt alleen per dag betaald (P×Q), nooit met beschikbaarheid.")
    if care_form == "gezinshuis" and level not in FAMILY_HOME_LEVELS:
        raise RuleViolation("Een gezinshuis heeft een niveau: licht, middel of zwaar.")
    if capacity < 1 or not 0 <= free_places <= capacity:
        raise RuleViolation("Capaciteit moet minstens 1 zijn en vrije plaatsen tussen 0 en de capaciteit.")
    if not 0 <= age_min <= age_max <= 27:
        raise RuleViolation("Leeftijdsgrenzen kloppen niet (van 0 tot 27, van ≤ tot).")
    if gender_policy not in GENDER_POLICIES:
        raise RuleViolation(f"Onbekend beleid voor gender '{gender_policy}'.")
    if not risk_profiles or any(p not in "ABC" for p in risk_profiles):
        raise RuleViolation("Risicoprofielen moeten uit A, B en C bestaan.")
    unknown = [tag for tag in expertise if tag not in NEED_TAGS]
    if unknown:
        raise RuleViolation(f"Onbekende expertise: {', '.join(unknown)}.")
    is_crisis = CARE_FORMS[care_form].segment == "crisis"
    norm = occupancy_norm or (CRISIS_OCCUPANCY_NORM if is_crisis else ORDINARY_OCCUPANCY_NORM)
    assert location.id is not None  # a stored location
    provider = session.get(Provider, location.provider_id)
    assert provider is not None
    region = session.get(Region, provider.region_id)
    intensity = derive_intensity(
        weekly_roster_hours=weekly_roster_hours, capacity=capacity, occupancy_norm=norm, bands=region_bands(region)
    )
    max_intensity = care_form_max_intensity(care_form)
    if intensity_index(intensity) > intensity_index(max_intensity):
        raise RuleViolation(
            f"Met deze roosteruren komt de groep op intensiteit {intensity}, boven het maximum "
            f"{max_intensity} van de zorgvorm {CARE_FORMS[care_form][0]}."
        )
    if code is None:
        # A provider's own codes are the register's keys; a group made outside the register
        # import gets the next free "G<n>".
        taken = set(session.exec(select(Group.code).where(Group.provider_id == location.provider_id)).all())
        code = next(f"G{n}" for n in range(1, len(taken) + 2) if f"G{n}" not in taken)
    group = Group(
        code=code,
        level=level if care_form == "gezinshuis" else None,
        active_from=active_from or utcnow().date(),
        provider_id=location.provider_id,
        location_id=location.id,
        region_id=provider.region_id,
        municipality_id=location.municipality_id,
        lat=location.lat,
        lon=location.lon,
        name=name,
        care_form=care_form,
        capacity=capacity,
        age_min=age_min,
        age_max=age_max,
        gender_policy=gender_policy,
        risk_profiles="".join(sorted(set(risk_profiles))),
        expertise=sorted(set(expertise)),
        weekly_roster_hours=weekly_roster_hours,
        occupancy_norm=norm,
        intensity=intensity,
        max_intensity=max_intensity,
        is_crisis=is_crisis,
        availability_funded=(
            care_form in AVAILABILITY_FUNDED_CARE_FORMS if availability_funded is None else availability_funded
        ),
        day_tariff=day_tariff,
    )
    open_places(group, free_places=free_places, admitting=admitting)
    session.add(group)
    session.flush()
    assert group.active_from is not None
    session.add(first_term(group, valid_from=group.active_from, actor_label=created_by))
    session.flush()
    return group


def to_public(
    session: Session, group: Group, *, stale_after_hours: float, extra: dict[str, Any] | None = None
) -> GroupPublic:
    """The group as the API shows it; ``stale_after_hours`` is the service-wide value, which the
    group's region may replace with its own."""
    hours = region_stale_hours(session, group.region_id, stale_after_hours)
    return GroupPublic.model_validate(group_public_json(group, stale_after_hours=hours, extra=extra))


def get_group_for(*, session: Session, principal: Principal, group_id: int, for_update: bool = False) -> Group:
    query = select(Group).where(Group.id == group_id)
    if for_update:
        query = query.with_for_update()
    group = session.exec(query).first()
    if group is None:
        raise NotFound("Groep niet gevonden.")
    ensure_access(principal, provider_id=group.provider_id, region_id=group.region_id)
    return group


def list_groups(
    *,
    session: Session,
    principal: Principal,
    stale_after_hours: float,
    care_forms: Sequence[str] | None = None,
    municipality_ids: Sequence[int] | None = None,
    min_free: int | None = None,
    admitting_only: bool = False,
    provider_id: int | None = None,
    region_id: int | None = None,
    crisis_only: bool = False,
    include_inactive: bool = False,
) -> list[GroupPublic]:
    """Groups the caller may see; only those in the register today unless ``include_inactive``."""
    query = (
        select(Group, Provider.name, Municipality.name)
        .join(Provider, col(Provider.id) == Group.provider_id)
        .join(Municipality, col(Municipality.id) == Group.municipality_id)
    )
    if principal.role == Role.provider:
        query = query.where(Group.provider_id == principal.provider_id)
    elif principal.region_scope is not None:
        query = query.where(Group.region_id == principal.region_scope)
    if care_forms:
        query = query.where(col(Group.care_form).in_(list(care_forms)))
    if municipality_ids:
        query = query.where(col(Group.municipality_id).in_(list(municipality_ids)))
    if min_free is not None:
        query = query.where(Group.free_places >= min_free)
    if admitting_only:
        query = query.where(col(Group.admitting).is_(True))
    if provider_id is not None:
        query = query.where(Group.provider_id == provider_id)
    if region_id is not None:
        query = query.where(Group.region_id == region_id)
    if crisis_only:
        query = query.where(col(Group.is_crisis).is_(True))
    if not include_inactive:
        query = query.where(active_on(utcnow().date()))
    query = query.order_by(col(Group.id))
    return [
        to_public(
            session,
            group,
            stale_after_hours=stale_after_hours,
            extra={"provider_name": provider_name, "municipality_name": municipality_name},
        )
        for group, provider_name, municipality_name in session.exec(query).all()
    ]


def list_providers(*, session: Session, principal: Principal) -> list[Provider]:
    query = select(Provider).order_by(col(Provider.id))
    if principal.role == "provider":
        query = query.where(Provider.id == principal.provider_id)
    return list(session.exec(query).all())
