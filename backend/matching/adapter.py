"""The one place that translates database rows into the solver's input and its output back.

``solver/`` knows nothing about the database; everything it needs (groups with net free places,
youths with age and coordinates, region weights) is built here.

Ranking speed: the prepared ``GroupTable`` of a region is cached per process and per database
engine, and kept current from the event table (see ``region_table``): a ranking request costs
one index-only query when nothing changed, plus a read of the few changed groups when it did.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

import solver
from backend.domain import as_utc, utcnow
from backend.errors import RuleViolation
from backend.events.models import Event
from backend.occupancy.models import OccupancyStay
from backend.providers.models import Group, Provider, active_on
from backend.referrals.models import Referral
from backend.referrals.service import age_on, waiting_days
from backend.regions.models import Region
from backend.regions.settings import DEFAULT_MATCHING_TIME_LIMIT_S, region_settings
from solver.scoring import RULE_INDEX

DEFAULT_TIME_LIMIT_S = DEFAULT_MATCHING_TIME_LIMIT_S
WEIGHT_FIELDS = tuple(solver.Weights.__dataclass_fields__)


@dataclass(frozen=True)
class GroupMeta:
    """What a ranking shows besides the solver's numbers."""

    name: str
    provider_id: int
    provider_name: str
    care_form: str
    intensity: str
    free_places: int  # as reported
    held_places: int
    net_free_places: int  # what the solver sees: 0 when not admitting
    admitting: bool
    reported_at: datetime | None
    expected_free_date: date | None
    location_id: int
    municipality_id: int
    profile_c_present: int
    version: int = 0


@dataclass(frozen=True)
class RegionTable:
    seq: int
    count: int
    max_id: int
    exact: tuple[int, ...]
    table: solver.GroupTable
    meta: dict[int, GroupMeta] = field(default_factory=dict)
    # The day it was built for: a group whose active period starts or ends at midnight changes
    # the table without an event.
    day: date | None = None


_cache: weakref.WeakKeyDictionary[Any, dict[int, RegionTable]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _cheap_fingerprint(session: Session, region_id: int) -> tuple[int, int, int]:
    """(event sequence, number of groups, highest group id): index lookups only."""
    row = session.execute(
        text(
            "SELECT (SELECT last_seq FROM event_counter WHERE id = 1), count(*), coalesce(max(id), 0) "
            "FROM groups WHERE region_id = :r"
        ),
        {"r": region_id},
    ).one()
    return int(row[0] or 0), int(row[1]), int(row[2])


def _exact_fingerprint(session: Session, region_id: int) -> tuple[int, ...]:
    """Also catches group rows changed without an event (imports, hand edits): a full scan."""
    row = session.execute(
        text(
            "SELECT coalesce(sum(version), 0), coalesce(sum(free_places), 0), "
            "coalesce(sum(held_places), 0) FROM groups WHERE region_id = :r "
            "AND (active_from IS NULL OR active_from <= :d) AND (active_to IS NULL OR active_to >= :d)"
        ),
        {"r": region_id, "d": utcnow().date()},
    ).one()
    return tuple(int(v or 0) for v in row)


def profile_c_counts(
    session: Session, region_id: int | None = None, group_ids: set[int] | None = None
) -> dict[int, int]:
    """Profile-C youths present now per group, from the open stays of the occupancy feed: those
    placed through plekwijzer (the referral's profile, on arrival) and those the provider's own
    feed names (``risk_profile`` on an admission). A discharge lowers the count at once."""
    query = (
        select(col(OccupancyStay.group_id), func.count())
        .where(col(OccupancyStay.discharged_at).is_(None), col(OccupancyStay.risk_profile) == "C")
        .group_by(col(OccupancyStay.group_id))
    )
    if region_id is not None:
        query = query.join(Group, col(Group.id) == col(OccupancyStay.group_id)).where(col(Group.region_id) == region_id)
    if group_ids is not None:
        query = query.where(col(OccupancyStay.group_id).in_(group_ids))
    return {int(gid): int(n) for gid, n in session.execute(query).all()}


def net_free(free_places: int, held_places: int, admitting: bool) -> int:
    return max(0, free_places - held_places) if admitting else 0


def _solver_group(row: Any, profile_c: int) -> solver.Group:
    return solver.Group(
        id=row.id,
        provider_id=row.provider_id,
        location_id=row.location_id,
        care_form=row.care_form,
        intensity=row.intensity,
        max_intensity=row.max_intensity,
        age_min=row.age_min,
        age_max=row.age_max,
        gender_policy=row.gender_policy,
        risk_profiles=frozenset(row.risk_profiles),
        expertise=frozenset(row.expertise or ()),
        free_places=net_free(row.free_places, row.held_places, row.admitting),
        lat=row.lat,
        lon=row.lon,
        profile_c_present=profile_c,
        expected_free_date=row.expected_free_date,
    )


def solver_group(group: Group, profile_c: int = 0) -> solver.Group:
    return _solver_group(group, profile_c)


def _group_query(region_id: int) -> Any:
    # Plain columns instead of ORM objects: building 10,000 ORM rows costs far more.
    cols = [
        Group.id,
        Group.provider_id,
        Group.location_id,
        Group.municipality_id,
        Group.name,
        Group.care_form,
        Group.intensity,
        Group.max_intensity,
        Group.age_min,
        Group.age_max,
        Group.gender_policy,
        Group.risk_profiles,
        Group.expertise,
        Group.free_places,
        Group.held_places,
        Group.admitting,
        Group.lat,
        Group.lon,
        Group.expected_free_date,
        Group.reported_at,
        Group.version,
        Provider.name.label("provider_name"),  # type: ignore[attr-defined]
    ]
    return (
        select(*cols)
        .join(Provider, Provider.id == Group.provider_id)  # type: ignore[arg-type]
        .where(Group.region_id == region_id, active_on(utcnow().date()))  # type: ignore[arg-type]
        .order_by(Group.id)  # type: ignore[arg-type]
    )


def _meta(r: Any, profile_c: int) -> GroupMeta:
    return GroupMeta(
        name=r.name,
        provider_id=r.provider_id,
        provider_name=r.provider_name,
        care_form=r.care_form,
        intensity=r.intensity,
        free_places=r.free_places,
        held_places=r.held_places,
        net_free_places=net_free(r.free_places, r.held_places, r.admitting),
        admitting=r.admitting,
        reported_at=as_utc(r.reported_at),
        expected_free_date=r.expected_free_date,
        location_id=r.location_id,
        municipality_id=r.municipality_id,
        profile_c_present=profile_c,
        version=r.version,
    )


def _exact_of(meta: dict[int, GroupMeta]) -> tuple[int, ...]:
    return (
        sum(m.version for m in meta.values()),
        sum(m.free_places for m in meta.values()),
        sum(m.held_places for m in meta.values()),
    )


def _build(session: Session, region_id: int, seq: int, count: int, max_id: int) -> RegionTable:
    rows = session.execute(_group_query(region_id)).all()
    c_counts = profile_c_counts(session, region_id)
    groups = [_solver_group(r, c_counts.get(r.id, 0)) for r in rows]
    meta = {r.id: _meta(r, c_counts.get(r.id, 0)) for r in rows}
    return RegionTable(
        seq=seq,
        count=count,
        max_id=max_id,
        exact=_exact_of(meta),
        table=solver.prepare_groups(groups),
        meta=meta,
        day=utcnow().date(),
    )


def region_table(session: Session, region_id: int, *, exact: bool = False) -> RegionTable:
    """The prepared group table of a region, kept current cheaply.

    Every change others may watch appends an event with its group id, so when the event
    sequence moved only the groups named by the new events are re-read and patched into a copy
    of the table (availability, holds, profile-C counts). A change to what a group *is* (care
    form, expertise, ages...), a new group or a long gap rebuilds the table. ``exact`` (batch
    runs) also compares sums over all group rows, to catch edits that bypassed the events.
    """
    bind = session.get_bind()
    key = bind.pool if isinstance(bind, Engine) else bind  # one entry per database engine
    seq, count, max_id = _cheap_fingerprint(session, region_id)
    with _lock:
        cached = _cache.setdefault(key, {}).get(region_id)
    fresh: RegionTable | None = None
    if cached is not None and (cached.count, cached.max_id, cached.day) == (count, max_id, utcnow().date()):
        if seq == cached.seq:
            fresh = cached
        elif seq > cached.seq:
            fresh = _patch(session, region_id, cached, seq)
    if fresh is not None and exact and _exact_fingerprint(session, region_id) != fresh.exact:
        fresh = None
    if fresh is None:
        fresh = _build(session, region_id, seq, count, max_id)
    if fresh is not cached:
        with _lock:
            _cache.setdefault(key, {})[region_id] = fresh
    return fresh


MAX_PATCH_EVENTS = 2000
_TABLE_FIELDS = set(solver.GroupTable.__dataclass_fields__)
_DERIVED = ("by_form",)
_STRUCTURAL = (
    "provider_id",
    "location_id",
    "care_form",
    "intensity",
    "max_intensity",
    "age_min",
    "age_max",
    "gender_policy",
    "risk_profiles",
    "expertise",
    "lat",
    "lon",
)


def _patch(session: Session, region_id: int, cached: RegionTable, seq: int) -> RegionTable | None:
    """A copy of the cached table with the groups named by events after ``cached.seq``
    re-read; None when a rebuild is needed."""
    if seq - cached.seq > MAX_PATCH_EVENTS:
        return None
    changed = {
        int(g)
        for (g,) in session.execute(
            select(col(Event.group_id)).where(
                col(Event.seq) > cached.seq,
                col(Event.seq) <= seq,
                col(Event.region_id) == region_id,
                col(Event.group_id).is_not(None),
            )
        ).all()
    }
    if not changed:
        return replace(cached, seq=seq)
    rows = session.execute(_group_query(region_id).where(Group.id.in_(changed))).all()  # type: ignore[union-attr]
    if len(rows) != len(changed):
        return None  # a group named by the events ended (or started): rebuild
    c_counts = profile_c_counts(session, region_id, group_ids=changed)
    table = cached.table
    groups = list(table.groups)
    free = table.free_places.copy()
    c_present = table.profile_c_present.copy()
    has_date = table.has_expected_date.copy()
    meta = dict(cached.meta)
    for row in rows:
        pos = table.index_of.get(row.id)
        if pos is None:
            return None
        new = _solver_group(row, c_counts.get(row.id, 0))
        old = groups[pos]
        if any(getattr(new, f) != getattr(old, f) for f in _STRUCTURAL):
            return None
        groups[pos] = new
        free[pos] = new.free_places
        c_present[pos] = new.profile_c_present
        has_date[pos] = new.expected_free_date is not None
        meta[row.id] = _meta(row, c_counts.get(row.id, 0))
    no_free_bit = (free <= 0).astype(np.uint16) << np.uint16(RULE_INDEX["free_places"])
    # The solver keeps derived copies of these columns (care-form-sorted views in ``by_form``);
    # dropping them makes the solver rebuild them from the patched arrays (numpy only, ~1 ms).
    derived: dict[str, Any] = {name: None for name in _DERIVED if name in _TABLE_FIELDS}
    patched = replace(
        table,
        groups=tuple(groups),
        free_places=free,
        profile_c_present=c_present,
        has_expected_date=has_date,
        no_free_bit=no_free_bit,
        **derived,
    )
    return RegionTable(
        seq=seq,
        count=cached.count,
        max_id=cached.max_id,
        exact=_exact_of(meta),
        table=patched,
        meta=meta,
        day=cached.day,
    )


def youth_from_referral(referral: Referral, *, today: date | None = None, now: datetime | None = None) -> solver.Youth:
    assert referral.id is not None
    try:
        return solver.Youth(
            id=referral.id,
            age=age_on(referral.birth_year, referral.birth_month, today),
            gender=referral.gender,
            lat=referral.home_lat,
            lon=referral.home_lon,
            acceptable_care_forms=tuple(referral.care_forms),
            required_intensity=referral.required_intensity,
            risk_profile=referral.risk_profile,
            needs=frozenset(referral.needs),
            urgency=referral.urgency,
            secure_authorisation=referral.secure_authorisation,
            max_distance_km=referral.max_distance_km,
            sibling_set=referral.sibling_set,
            together=referral.together,
            excluded_provider_ids=frozenset(referral.excluded_provider_ids),
            excluded_group_ids=frozenset(referral.excluded_group_ids),
            waiting_days=waiting_days(referral, now),
        )
    except ValueError as exc:  # data written before a rule tightened; say which referral
        raise RuleViolation(
            f"Verwijzing {referral.id} kan niet worden gematcht: {exc}.", code="referral_unmatchable"
        ) from exc


def region_weights(region: Region) -> solver.Weights:
    """The region's matching weights (solver defaults for what the region leaves out) and its
    profile-C limit per group (``backend.regions.settings``, which refuses unknown weights)."""
    settings = region_settings(region)
    values: dict[str, Any] = {**settings.matching_weights.model_dump(), "profile_c_limit": settings.profile_c_limit}
    try:
        return solver.Weights(**values)
    except (TypeError, ValueError) as exc:
        raise RuleViolation(f"De matchinggewichten van de regio zijn ongeldig: {exc}.", code="weights_invalid") from exc


def region_time_limit(region: Region) -> float:
    return float(region_settings(region).matching_time_limit_s)


def weights_dict(weights: solver.Weights) -> dict[str, float]:
    return {name: getattr(weights, name) for name in WEIGHT_FIELDS}


# --- snapshot: the run's inputs as JSON, and back ----------------------------------------------


def group_to_json(g: solver.Group) -> dict[str, Any]:
    return {
        "id": g.id,
        "provider_id": g.provider_id,
        "location_id": g.location_id,
        "care_form": g.care_form,
        "intensity": g.intensity,
        "max_intensity": g.max_intensity,
        "age_min": g.age_min,
        "age_max": g.age_max,
        "gender_policy": g.gender_policy,
        "risk_profiles": sorted(g.risk_profiles),
        "expertise": sorted(g.expertise),
        "free_places": g.free_places,
        "lat": g.lat,
        "lon": g.lon,
        "profile_c_present": g.profile_c_present,
        "expected_free_date": g.expected_free_date.isoformat() if g.expected_free_date else None,
    }


def youth_to_json(y: solver.Youth) -> dict[str, Any]:
    return {
        "id": y.id,
        "age": y.age,
        "gender": y.gender,
        "lat": y.lat,
        "lon": y.lon,
        "acceptable_care_forms": list(y.acceptable_care_forms),
        "required_intensity": y.required_intensity,
        "risk_profile": y.risk_profile,
        "needs": sorted(y.needs),
        "urgency": y.urgency,
        "secure_authorisation": y.secure_authorisation,
        "max_distance_km": y.max_distance_km,
        "sibling_set": y.sibling_set,
        "together": y.together,
        "excluded_provider_ids": sorted(y.excluded_provider_ids),
        "excluded_group_ids": sorted(y.excluded_group_ids),
        "waiting_days": y.waiting_days,
    }


def snapshot(instance: solver.Instance, *, total_groups: int) -> dict[str, Any]:
    """The run's inputs. Groups without a free place cannot receive anyone, so only groups
    with net free places are stored (the counts of the others are kept)."""
    return {
        "weights": weights_dict(instance.weights),
        "youths": [youth_to_json(y) for y in instance.youths],
        "groups": [group_to_json(g) for g in instance.groups if g.free_places > 0],
        "total_groups": total_groups,
    }


def instance_from_snapshot(data: dict[str, Any]) -> solver.Instance:
    groups = []
    for g in data["groups"]:
        values = dict(g)
        if values.get("expected_free_date"):
            values["expected_free_date"] = date.fromisoformat(values["expected_free_date"])
        values["risk_profiles"] = frozenset(values["risk_profiles"])
        values["expertise"] = frozenset(values["expertise"])
        groups.append(solver.Group(**values))
    youths = []
    for y in data["youths"]:
        values = dict(y)
        values["acceptable_care_forms"] = tuple(values["acceptable_care_forms"])
        for key in ("needs", "excluded_provider_ids", "excluded_group_ids"):
            values[key] = frozenset(values[key])
        youths.append(solver.Youth(**values))
    return solver.Instance(groups=tuple(groups), youths=tuple(youths), weights=solver.Weights(**data["weights"]))
