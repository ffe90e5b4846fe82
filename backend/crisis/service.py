"""Crisis search, holds and the crisis overview.

The claim on a place is ``groups.held_places``: creating a hold is ONE conditional UPDATE
(``held_places < free_places AND admitting``), so two crisis workers, or a crisis worker and the
matching run, can never take the same bed; the CHECK ``held_places <= free_places`` is the
backstop in the database. Every status change of a hold is an UPDATE guarded on
``status = 'active'`` (and, for confirm, on ``expires_at > now``), so a confirm racing an expiry
or a release cannot both win: the loser updates no row and answers 409.

Search order (documented for users): own region first, then neighbouring regions (the own
region's ``settings["neighbours"]``, a list of region codes), then other regions within the
radius; inside each tier the nearest first, then the most free places.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, String, bindparam, case, func, select, type_coerce, update
from sqlmodel import Session, col

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import (
    Principal,
    ensure_access,
    ensure_provider_access,
    ensure_provider_in_scope,
    ensure_region_access,
)
from backend.availability import service as places
from backend.availability.service import Notice
from backend.config import Settings
from backend.crisis.models import (
    CRISIS_CAPABLE_CARE_FORMS,
    CRISIS_CARE_FORMS,
    HOLD_STATUS_LABELS,
    REJECT_REASONS,
    SECURE_CRISIS_CARE_FORMS,
    CrisisSearch,
    Hold,
    HoldCreate,
    HoldPublic,
    HoldReject,
)
from backend.db import Database
from backend.domain import as_utc, utcnow
from backend.errors import Conflict, NotFound, RuleViolation
from backend.events.service import last_seq
from backend.notifications import triggers as notification_triggers
from backend.occupancy.service import admit_placement, current_occupancy
from backend.placements import service as placements
from backend.proposals.service import withdraw_open_proposals
from backend.providers.models import Group, Provider, active_on, is_stale
from backend.referrals.models import Referral
from backend.regions.models import Region
from backend.regions.service import resolve_postcode
from backend.regions.settings import region_settings, region_stale_hours
from backend.users.models import Role
from solver.geo import great_circle_km

log = logging.getLogger(__name__)

SYSTEM = Principal(kind="system", id=0, name="verloopcontrole", role="system", provider_id=None)
TIER_LABELS = {0: "eigen regio", 1: "buurregio", 2: "verder weg"}
ORDER_TEXT = (
    "eerst de eigen regio, dan de buurregio's, dan verder weg; binnen elk deel de "
    "dichtstbijzijnde eerst, bij gelijke afstand de meeste vrije plaatsen"
)
PLACE_TAKEN = "Deze plaats is net door iemand anders vastgehouden of bezet."

_G = Group.__table__  # type: ignore[attr-defined]
_P = Provider.__table__  # type: ignore[attr-defined]
_R = Region.__table__  # type: ignore[attr-defined]


# -- helpers ----------------------------------------------------------------------------------


def place_kind(care_form: str, name: str) -> str:
    if care_form in SECURE_CRISIS_CARE_FORMS:
        return "jeugdzorgplus"
    # Crisis foster care is its own care form; groups registered before it existed still carry
    # "crisis" with the word in their name.
    return "crisispleeggezin" if care_form == "crisispleegzorg" or "pleeg" in name.lower() else "crisisgroep"


def _iso(moment: datetime | None) -> str | None:
    value = as_utc(moment)
    return value.isoformat() if value else None


def _own_region(session: Session, principal: Principal, region_code: str | None) -> Region | None:
    if region_code:
        region: Region | None = (
            session.execute(select(Region).where(col(Region.code) == region_code.strip().upper())).scalars().first()
        )
        if region is None:
            raise RuleViolation(f"Regio '{region_code}' is onbekend.", code="region_unknown")
        return region
    if principal.region_id is not None:
        return session.get(Region, principal.region_id)
    if principal.provider_id is not None:
        provider = session.get(Provider, principal.provider_id)
        return session.get(Region, provider.region_id) if provider else None
    return None


class SearchRegion(NamedTuple):
    """The own region as the search needs it: id, code and the neighbouring region codes."""

    id: int
    code: str
    neighbours: list[str]


_REGION_COLUMNS = (_R.c.id, _R.c.code, _R.c.settings["neighbours"])
_REGION_BY_CODE = select(*_REGION_COLUMNS).where(_R.c.code == bindparam("code"))
_REGION_BY_ID = select(*_REGION_COLUMNS).where(_R.c.id == bindparam("id"))
_REGION_OF_PROVIDER = (
    select(*_REGION_COLUMNS)
    .select_from(_P.join(_R, _R.c.id == _P.c.region_id))
    .where(_P.c.id == bindparam("provider_id"))
)


def _search_region_row(conn: Any, statement: Any, params: dict[str, Any]) -> SearchRegion | None:
    row = conn.execute(statement, params).first()
    if row is None:
        return None
    return SearchRegion(row[0], row[1], list(row[2]) if row[2] is not None else [])


def _search_region(
    session: Session,
    principal: Principal,
    region_code: str | None,
) -> SearchRegion | None:
    """``_own_region`` for the search hot path: one Core query for the id, code and only the
    ``neighbours`` entry of the settings (no ORM object, no decoding of the whole settings)."""
    conn = session.connection()
    if region_code:
        region = _search_region_row(conn, _REGION_BY_CODE, {"code": region_code.strip().upper()})
        if region is None:
            raise RuleViolation(f"Regio '{region_code}' is onbekend.", code="region_unknown")
        return region
    if principal.region_id is not None:
        return _search_region_row(conn, _REGION_BY_ID, {"id": principal.region_id})
    if principal.provider_id is not None:
        return _search_region_row(conn, _REGION_OF_PROVIDER, {"provider_id": principal.provider_id})
    return None


def region_hold_minutes(session: Session, region_id: int, settings: Settings) -> int:
    value = region_settings(session.get(Region, region_id)).hold_minutes
    return int(value) if value else settings.hold_minutes


# -- search -----------------------------------------------------------------------------------


KM_PER_DEGREE_LAT = 110.57
KM_PER_DEGREE_LON = 111.32
GENDER_POLICIES_FOR = {"jongen": ("gemengd", "jongens"), "meisje": ("gemengd", "meisjes"), "anders": ("gemengd",)}
_statements: dict[tuple[Any, ...], Any] = {}


def _slots(n: int) -> int:
    """Bind slots for a list of n values: the next power of two, so that few statement shapes exist."""
    size = 1
    while size < n:
        size *= 2
    return size


def _search_statement(
    *, n_forms: int, n_neighbours: int, n_genders: int, has_age: bool, has_exclude: bool, has_provider: bool
) -> Any:
    """The search query with bound parameters, built once per shape: constructing a SQLAlchemy
    expression costs more than running it on an index, and this is the hot path. Lists are bound
    as fixed slots (``f0``, ``n0``, ``g0`` ...) rather than expanding parameters, which SQLAlchemy
    would rewrite into the SQL text on every execution."""
    key = (n_forms, n_neighbours, n_genders, has_age, has_exclude, has_provider)
    statement = _statements.get(key)
    if statement is not None:
        return statement
    dy = (_G.c.lat - bindparam("lat")) * KM_PER_DEGREE_LAT
    dx = (_G.c.lon - bindparam("lon")) * bindparam("kx")
    flat_d2 = dy * dy + dx * dx
    whens: list[Any] = [(_G.c.region_id == bindparam("own_id"), 0)]
    if n_neighbours:
        # The neighbours are region codes; the joined region row gives each group's code.
        whens.append((_R.c.code.in_([bindparam(f"n{i}") for i in range(n_neighbours)]), 1))
    tier = case(*whens, else_=2)
    statement = (
        select(
            _G.c.id,
            _G.c.name,
            _G.c.care_form,
            _G.c.provider_id,
            _G.c.lat,
            _G.c.lon,
            _G.c.free_places,
            _G.c.held_places,
            _G.c.age_min,
            _G.c.age_max,
            # As text where the driver hands JSON over as text (SQLite): decoded below only
            # for the rows that are answered, not for the margin rows.
            _G.c.gender_policy,
            type_coerce(_G.c.expertise, String),
            _G.c.reported_at,
            _P.c.name,
            _P.c.phone_24h,
            _R.c.code,
            _R.c.name,
            tier,
            _G.c.region_id,
        )
        .join(_P, _P.c.id == _G.c.provider_id)
        .join(_R, _R.c.id == _G.c.region_id)
        # The bounding box runs on the (care_form, lat, lon) index.
        .where(
            _G.c.care_form.in_([bindparam(f"f{i}") for i in range(n_forms)]),
            _G.c.lat.between(bindparam("lat_lo"), bindparam("lat_hi")),
            _G.c.lon.between(bindparam("lon_lo"), bindparam("lon_hi")),
            _G.c.admitting.is_(True),
            _G.c.free_places > _G.c.held_places,
            active_on(bindparam("today"), _G),
            flat_d2 <= bindparam("r2"),
        )
        .order_by(tier, flat_d2, _G.c.id)
        .limit(bindparam("row_limit"))
    )
    if has_age:
        statement = statement.where(_G.c.age_min <= bindparam("age"), _G.c.age_max >= bindparam("age"))
    if n_genders:
        statement = statement.where(_G.c.gender_policy.in_([bindparam(f"g{i}") for i in range(n_genders)]))
    if has_exclude:
        statement = statement.where(_G.c.id != bindparam("exclude_id"))
    if has_provider:
        statement = statement.where(_G.c.provider_id == bindparam("provider_id"))
    _statements[key] = statement
    return statement


def _bind_slots(params: dict[str, Any], prefix: str, values: Sequence[Any], slots: int) -> None:
    for i in range(slots):
        # Padding repeats the first value: a duplicate in an IN list changes nothing.
        params[f"{prefix}{i}"] = values[i] if i < len(values) else values[0]


def find_places(
    *,
    session: Session,
    settings: Settings,
    lat: float,
    lon: float,
    age: int | None,
    gender: str | None,
    needs: Sequence[str] = (),
    secure_care: bool = False,
    radius_km: float = 60.0,
    own_region: SearchRegion | None = None,
    limit: int = 20,
    exclude_group_id: int | None = None,
    provider_id: int | None = None,
) -> list[dict[str, Any]]:
    """Crisis places free and admitting now, best first.

    The hot path. The database filters (care form, bounding box on the indexed lat/lon, free net
    of holds, age, gender) and orders by tier and a flat-earth distance (plain arithmetic, so the
    same SQL runs on SQLite and PostgreSQL); only the first few rows come back to Python, where
    the exact great-circle distance decides the final order and the radius.
    """
    forms = CRISIS_CARE_FORMS + (SECURE_CRISIS_CARE_FORMS if secure_care else ())
    kx = KM_PER_DEGREE_LON * max(0.05, math.cos(math.radians(lat)))
    genders = GENDER_POLICIES_FOR.get(gender or "") or ()
    neighbours = own_region.neighbours if own_region else []
    n_forms, n_neighbours, n_genders = (
        _slots(len(forms)),
        len(neighbours) and _slots(len(neighbours)),
        len(genders) and _slots(len(genders)),
    )
    statement = _search_statement(
        n_forms=n_forms,
        n_neighbours=n_neighbours,
        n_genders=n_genders,
        has_age=age is not None,
        has_exclude=exclude_group_id is not None,
        has_provider=provider_id is not None,
    )
    params: dict[str, Any] = {
        "lat": lat,
        "lon": lon,
        "kx": kx,
        "lat_lo": lat - radius_km / KM_PER_DEGREE_LAT,
        "lat_hi": lat + radius_km / KM_PER_DEGREE_LAT,
        "lon_lo": lon - radius_km / kx,
        "lon_hi": lon + radius_km / kx,
        # 2% slack: at this scale the flat distance is well within that of the true one.
        "r2": (radius_km * 1.02) ** 2,
        "own_id": own_region.id if own_region else -1,
        "today": utcnow().date(),
        # A margin of extra rows, so that the exact distance can still reorder near-ties.
        "row_limit": limit * 2 + 10,
        "age": age,
        "exclude_id": exclude_group_id,
        "provider_id": provider_id,
    }
    _bind_slots(params, "f", forms, n_forms)
    _bind_slots(params, "n", neighbours, n_neighbours)
    _bind_slots(params, "g", genders, n_genders)
    # Core on the session's connection: the ORM execute path adds nothing for plain rows.
    rows = session.connection().execute(statement, params).all()
    ranked: list[tuple[tuple[int, float, int], float, Any]] = []
    for row in rows:
        distance = great_circle_km(lat, lon, row[4], row[5])
        if distance > radius_km:
            continue
        ranked.append(((row[17], distance, row[7] - row[6]), distance, row))
    ranked.sort(key=lambda entry: entry[0])
    # Only the rows that are answered become dicts.
    now = utcnow()
    wanted = set(needs)
    found: list[dict[str, Any]] = []
    for _key, distance, (
        gid,
        name,
        care_form,
        pid,
        glat,
        glon,
        free,
        held,
        age_min,
        age_max,
        gender_policy,
        expertise,
        reported_at,
        provider_name,
        phone,
        region_code,
        region_name,
        rank,
        region_id,
    ) in ranked[:limit]:
        reported_at = as_utc(reported_at)
        if isinstance(expertise, str):  # a driver that hands JSON back as text
            expertise = json.loads(expertise)
        met = sorted(wanted & set(expertise or ()))
        found.append(
            {
                "group_id": gid,
                "group_name": name,
                "kind": place_kind(care_form, name),
                "care_form": care_form,
                "provider_id": pid,
                "provider_name": provider_name,
                "phone_24h": phone,
                "region_code": region_code,
                "region_name": region_name,
                "tier": rank,
                "tier_label": TIER_LABELS[rank],
                "distance_km": round(distance, 1),
                "free_places": free - held,
                "reported_free_places": free,
                "held_places": held,
                "age_min": age_min,
                "age_max": age_max,
                "gender_policy": gender_policy,
                "needs_met": met,
                "needs_missing": sorted(wanted - set(met)),
                "reported_at": reported_at.isoformat() if reported_at else None,
                "minutes_since_report": (int((now - reported_at).total_seconds() // 60) if reported_at else None),
                "stale": is_stale(
                    reported_at,
                    stale_after_hours=region_stale_hours(session, region_id, settings.stale_after_hours),
                    now=now,
                ),
                "lat": glat,
                "lon": glon,
            }
        )
    return found


def search(*, session: Session, principal: Principal, query: CrisisSearch, settings: Settings) -> dict[str, Any]:
    if query.lat is not None and query.lon is not None:
        lat, lon = query.lat, query.lon
    else:
        lat, lon = resolve_postcode(session=session, pc4=query.postcode or "")
    own = _search_region(session, principal, query.region_code)
    results = find_places(
        session=session,
        settings=settings,
        lat=lat,
        lon=lon,
        age=query.age,
        gender=query.gender,
        needs=query.needs,
        secure_care=query.secure_care,
        radius_km=query.radius_km,
        own_region=own,
        limit=query.limit,
        provider_id=principal.provider_id if principal.role == Role.provider else None,
    )
    return {
        "results": results,
        "position": {"lat": lat, "lon": lon},
        "own_region": own.code if own else None,
        "neighbour_regions": list(own.neighbours) if own else [],
        "searched_radius_km": query.radius_km,
        "order": ORDER_TEXT,
    }


def next_best_options(
    *,
    session: Session,
    settings: Settings,
    principal: Principal,
    group: Group,
    age: int | None,
    gender: str | None,
    limit: int = 5,
) -> list[dict[str, Any]]:
    """The nearest other places from the taken place's position: where the team can go now."""
    region_id = principal.region_id or group.region_id
    session.flush()  # find_places reads through the connection: no autoflush there
    own = _search_region_row(session.connection(), _REGION_BY_ID, {"id": region_id})
    return find_places(
        session=session,
        settings=settings,
        lat=group.lat,
        lon=group.lon,
        age=age,
        gender=gender,
        secure_care=group.care_form in SECURE_CRISIS_CARE_FORMS,
        radius_km=150.0,
        own_region=own,
        limit=limit,
        exclude_group_id=group.id,
        provider_id=principal.provider_id if principal.role == Role.provider else None,
    )


# -- holds ------------------------------------------------------------------------------------


def hold_event(hold: Hold) -> dict[str, Any]:
    """A hold as it travels on the live feed: no youth data (no reference, age or gender)."""
    return {
        "id": hold.id,
        "group_id": hold.group_id,
        "status": hold.status,
        "status_label": HOLD_STATUS_LABELS[hold.status],
        "created_at": _iso(hold.created_at),
        "expires_at": _iso(hold.expires_at),
        "confirmed_at": _iso(hold.confirmed_at),
        "ended_at": _iso(hold.ended_at),
        "end_reason_code": hold.end_reason_code,
    }


def hold_public(hold: Hold, *, group: Group | None = None, **extra: Any) -> HoldPublic:
    data = hold.model_dump()
    for key in ("created_at", "expires_at", "confirmed_at", "ended_at"):
        data[key] = as_utc(data[key])
    data["status_label"] = HOLD_STATUS_LABELS[hold.status]
    if group is not None:
        data["group_name"] = group.name
        data["net_free_places"] = max(0, group.free_places - group.held_places)
    data.update(extra)
    return HoldPublic.model_validate(data)


def _notice(hold: Hold, event_type: str, actor: Principal, action: str, purpose: Purpose, **detail: Any) -> Notice:
    """The event (with the hold, no youth data) and the audit row of a change to a hold."""
    return Notice(
        event_type,
        actor,
        action,
        "hold",
        hold.id or 0,
        purpose,
        detail={"group_id": hold.group_id, **detail},
        extra={"hold": hold_event(hold)},
        youth=tuple(audit.referrals([hold.referral_id])),
        region_id=hold.region_id,
    )


def _group_for_hold(session: Session, principal: Principal, group_id: int) -> Group:
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound("Groep niet gevonden.")
    ensure_provider_access(principal, group.provider_id)
    # The crisis team holds beyond its own region (neighbours first, as the search shows);
    # everyone else holds only in the own region.
    if principal.role != Role.crisis:
        ensure_region_access(principal, group.region_id)
    if group.care_form not in CRISIS_CAPABLE_CARE_FORMS:
        raise RuleViolation(
            f"{group.name} is geen crisisplaats; alleen crisisgroepen, crisispleeggezinnen en "
            "(met machtiging) jeugdzorgplus kunnen worden vastgehouden.",
            code="not_crisis_place",
        )
    return group


def create_hold(
    *, session: Session, principal: Principal, body: HoldCreate, settings: Settings
) -> tuple[Hold, Group, int]:
    group = _group_for_hold(session, principal, body.group_id)
    if body.referral_id is not None:
        referral = session.get(Referral, body.referral_id)
        if referral is None or not principal.may_see_region(referral.region_id):
            raise RuleViolation(
                f"Verwijzing {body.referral_id} bestaat niet; kies een verwijzing van de "
                "wachtlijst of gebruik een crisisreferentie.",
                code="referral_unknown",
            )
    minutes = body.minutes or region_hold_minutes(session, group.region_id, settings)
    now = utcnow()
    # The hold is written first so that the claim's event and audit row can name it; when the
    # claim fails the request's transaction takes the hold away again.
    hold = Hold(
        group_id=group.id,  # type: ignore[arg-type]
        provider_id=group.provider_id,
        # The hold belongs to the region it is made for (the crisis team's own region), not
        # to the region of the place: another region's team never reads this youth's data.
        region_id=principal.region_scope if principal.region_scope is not None else group.region_id,
        status="active",
        crisis_reference=body.crisis_reference,
        referral_id=body.referral_id,
        age=body.age,
        gender=body.gender,
        origin_region_code=(body.origin_region_code or "").upper() or None,
        note=body.note,
        minutes=minutes,
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
        created_by=principal.label,
    )
    session.add(hold)
    session.flush()
    change = places.claim(
        session=session,
        group_id=group.id,  # type: ignore[arg-type]
        stale_after_hours=settings.stale_after_hours,
        notice=_notice(
            hold,
            "hold.created",
            principal,
            "hold.create",
            Purpose.crisis_hold,
            crisis_reference=hold.crisis_reference,
            referral_id=hold.referral_id,
            minutes=minutes,
        ),
    )
    if change is None:
        session.refresh(group)
        if not group.admitting:
            message = (
                f"{group.name} neemt op dit moment niemand op"
                f"{' (' + group.not_admitting_reason + ')' if group.not_admitting_reason else ''}."
            )
        else:
            message = PLACE_TAKEN
        raise Conflict(
            message + " Hieronder staan de beste andere plaatsen.",
            code="place_taken",
            extra={
                "group_id": group.id,
                "net_free_places": max(0, group.free_places - group.held_places),
                "alternatives": next_best_options(
                    session=session,
                    settings=settings,
                    principal=principal,
                    group=group,
                    age=body.age,
                    gender=body.gender,
                ),
            },
        )
    session.refresh(group)
    notification_triggers.hold_created(session, hold, group)
    return hold, group, change.seq


def _load_hold(session: Session, principal: Principal, hold_id: int) -> Hold:
    hold = session.get(Hold, hold_id)
    if hold is None:
        raise NotFound("Vasthouding niet gevonden.")
    ensure_access(principal, provider_id=hold.provider_id, region_id=hold.region_id, what="Vasthouding")
    return hold


def _not_active_message(hold: Hold, now: datetime) -> str:
    if hold.status == "active" and as_utc(hold.expires_at) <= now:  # type: ignore[operator]
        return "Deze vasthouding is verlopen; de plaats is weer vrijgegeven."
    return {
        "expired": "Deze vasthouding is verlopen; de plaats is weer vrijgegeven.",
        "released": "Deze vasthouding is al vrijgegeven.",
        "rejected": "De aanbieder heeft deze vasthouding afgewezen"
        + (f": {hold.end_reason}." if hold.end_reason else "."),
        "confirmed": "Deze vasthouding is al bevestigd als plaatsing.",
    }.get(hold.status, "Deze vasthouding is niet meer actief.")


def _end_conflict(
    session: Session, principal: Principal, hold: Hold, settings: Settings, *, with_options: bool
) -> Conflict:
    session.refresh(hold)
    now = utcnow()
    extra: dict[str, Any] = {"hold_id": hold.id, "hold_status": hold.status}
    message = _not_active_message(hold, now)
    if with_options:
        group = session.get(Group, hold.group_id)
        assert group is not None
        extra["alternatives"] = next_best_options(
            session=session, settings=settings, principal=principal, group=group, age=hold.age, gender=hold.gender
        )
        message += " Hieronder staan de beste andere plaatsen."
    return Conflict(message, code="hold_not_active", extra=extra)


def _end_hold(
    session: Session,
    hold: Hold,
    *,
    status: str,
    actor: str,
    now: datetime,
    reason_code: str | None = None,
    reason: str | None = None,
    require_unexpired: bool = False,
) -> bool:
    """Move an active hold to ``status``; False when it was no longer active (someone else won)."""
    conditions = [col(Hold.id) == hold.id, col(Hold.status) == "active"]
    if require_unexpired:
        conditions.append(col(Hold.expires_at) > now)
    values: dict[str, Any] = {
        "status": status,
        "ended_at": now,
        "ended_by": actor,
        "end_reason_code": reason_code,
        "end_reason": reason,
    }
    if status == "confirmed":
        values["confirmed_at"] = now
    done = cast(
        CursorResult[Any],
        session.execute(update(Hold).where(*conditions).values(**values).execution_options(synchronize_session=False)),
    ).rowcount
    if done == 1:
        session.refresh(hold)
    return done == 1


def _unhold(session: Session, hold: Hold, notice: Notice, settings: Settings, *, placed: bool) -> tuple[Group, int]:
    """The hold's place is given back, or (``placed``) becomes an occupied one."""
    unhold = places.occupy if placed else places.release
    change = unhold(
        session=session, group_id=hold.group_id, notice=notice, stale_after_hours=settings.stale_after_hours
    )
    if change is None:  # cannot happen while every claim goes through held_places; refuse loudly
        raise Conflict(
            "De telling van vastgehouden plaatsen klopt niet; probeer het opnieuw.", code="held_places_mismatch"
        )
    group = session.get(Group, hold.group_id)
    assert group is not None
    return group, change.seq


def confirm_hold(
    *, session: Session, principal: Principal, hold_id: int, settings: Settings
) -> tuple[Hold, Group, bool, int]:
    hold = _load_hold(session, principal, hold_id)
    now = utcnow()
    if not _end_hold(session, hold, status="confirmed", actor=principal.label, now=now, require_unexpired=True):
        raise _end_conflict(session, principal, hold, settings, with_options=True)
    region = session.get(Region, hold.region_id)
    if hold.referral_id is not None:
        # A hold for a youth on the waiting list places that youth: arrived at once, with the
        # admission under the placement's stay (refused when the youth is already admitted).
        referral = session.get(Referral, hold.referral_id)
        if referral is not None and referral.status == "proposed":
            # The crisis place wins: the places that open proposals held for this youth are free again.
            withdraw_open_proposals(
                session=session, referral=referral, actor=principal, stale_after_hours=settings.stale_after_hours
            )
        group_row = session.get(Group, hold.group_id)
        assert group_row is not None
        placements.place_from_hold(
            session=session,
            principal=principal,
            hold_id=hold.id,  # type: ignore[arg-type]
            referral_id=hold.referral_id,
            group=group_row,
            stay_reference=hold.crisis_reference,
            stale_after_hours=settings.stale_after_hours,
        )
        admitted = True
    else:
        admitted = admit_placement(
            session=session,
            group_id=hold.group_id,
            at=now,
            origin_region_code=hold.origin_region_code or (region.code if region else ""),
            stay_reference=hold.crisis_reference or f"verwijzing-{hold.referral_id}",
            source=f"crisis-hold-{hold.id}",
        )
    group, seq = _unhold(
        session,
        hold,
        _notice(
            hold,
            "hold.confirmed",
            principal,
            "hold.confirm",
            Purpose.crisis_arrival,
            crisis_reference=hold.crisis_reference,
            referral_id=hold.referral_id,
            admission_recorded=admitted,
        ),
        settings,
        placed=True,
    )
    return hold, group, admitted, seq


def release_hold(
    *, session: Session, principal: Principal, hold_id: int, settings: Settings
) -> tuple[Hold, Group, int]:
    hold = _load_hold(session, principal, hold_id)
    if not _end_hold(session, hold, status="released", actor=principal.label, now=utcnow()):
        raise _end_conflict(session, principal, hold, settings, with_options=False)
    group, seq = _unhold(
        session,
        hold,
        _notice(
            hold,
            "hold.released",
            principal,
            "hold.release",
            Purpose.crisis_release,
            crisis_reference=hold.crisis_reference,
        ),
        settings,
        placed=False,
    )
    return hold, group, seq


def reject_hold(
    *, session: Session, principal: Principal, hold_id: int, body: HoldReject, settings: Settings
) -> tuple[Hold, Group, int]:
    hold = _load_hold(session, principal, hold_id)
    reason = body.reason or REJECT_REASONS[body.reason_code]
    if not _end_hold(
        session,
        hold,
        status="rejected",
        actor=principal.label,
        now=utcnow(),
        reason_code=body.reason_code,
        reason=reason,
    ):
        raise _end_conflict(session, principal, hold, settings, with_options=False)
    group, seq = _unhold(
        session,
        hold,
        _notice(
            hold,
            "hold.rejected",
            principal,
            "hold.reject",
            Purpose.crisis_reject,
            reason_code=body.reason_code,
            reason=reason,
        ),
        settings,
        placed=False,
    )
    return hold, group, seq


def read_hold(*, session: Session, principal: Principal, hold_id: int) -> tuple[Hold, Group]:
    hold = _load_hold(session, principal, hold_id)
    group = session.get(Group, hold.group_id)
    assert group is not None
    audit.record(
        session=session,
        actor=principal,
        action="hold.read",
        object_type="hold",
        object_id=hold_id,
        purpose=Purpose.crisis_review,
        youth=audit.referrals([hold.referral_id]),
        region_id=hold.region_id,
    )
    return hold, group


def list_holds(
    *,
    session: Session,
    principal: Principal,
    status: str | None,
    group_id: int | None,
    limit: int = 200,
    provider_id: int | None = None,
    mine: bool = False,
) -> list[tuple[Hold, Group]]:
    query = select(Hold, Group).join(Group, col(Group.id) == col(Hold.group_id))
    if mine:
        # The caller's own holds: what a crisis worker's screen shows again after a reload or
        # on a second device (the server, not the browser, remembers them).
        query = query.where(col(Hold.created_by) == principal.label)
    if principal.role == Role.provider:
        query = query.where(col(Hold.provider_id) == principal.provider_id)
    elif principal.region_scope is not None:
        query = query.where(col(Hold.region_id) == principal.region_scope)
    if provider_id is not None:
        ensure_provider_in_scope(session, principal, provider_id)
        query = query.where(col(Hold.provider_id) == provider_id)
    if status:
        query = query.where(col(Hold.status) == status)
    if group_id is not None:
        query = query.where(col(Hold.group_id) == group_id)
    rows = [(h, g) for h, g in session.execute(query.order_by(col(Hold.id).desc()).limit(limit))]
    for hold, _group in rows:
        # Each hold carries a youth's pseudonymous reference: every read is logged.
        audit.record(
            session=session,
            actor=principal,
            action="hold.read",
            object_type="hold",
            object_id=hold.id,
            purpose=Purpose.crisis_review,
            youth=audit.referrals([hold.referral_id]),
            region_id=hold.region_id,
        )
    return rows


def provider_contacts(session: Session, provider_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Name and 24-hour phone per provider: what a hold card shows to call ahead."""
    if not provider_ids:
        return {}
    rows = session.execute(
        select(col(Provider.id), col(Provider.name), col(Provider.phone_24h)).where(col(Provider.id).in_(provider_ids))
    )
    return {pid: {"provider_name": name, "phone_24h": phone} for pid, name, phone in rows}


# -- expiry -----------------------------------------------------------------------------------


def expire_due_holds(
    *,
    session: Session,
    settings: Settings,
    now: datetime | None = None,
    group_id: int | None = None,
    hold_id: int | None = None,
    limit: int = 500,
) -> int:
    """Expire active holds past their time, inside the caller's transaction."""
    now = now or utcnow()
    query = (
        select(Hold)
        .where(col(Hold.status) == "active", col(Hold.expires_at) <= now)
        .order_by(col(Hold.id))
        .limit(limit)
    )
    if group_id is not None:
        query = query.where(col(Hold.group_id) == group_id)
    if hold_id is not None:
        query = query.where(col(Hold.id) == hold_id)
    if session.get_bind().dialect.name == "postgresql":
        # Several API processes sweep at once: each takes the rows nobody else is handling.
        query = query.with_for_update(skip_locked=True)
    expired = 0
    for hold in session.execute(query).scalars().all():
        if not _end_hold(
            session, hold, status="expired", actor=SYSTEM.label, now=now, reason="De vasthoudtijd is verstreken."
        ):
            continue
        _unhold(
            session,
            hold,
            _notice(hold, "hold.expired", SYSTEM, "hold.expire", Purpose.crisis_expiry),
            settings,
            placed=False,
        )
        expired += 1
    return expired


def expire_holds(
    db: Database, *, group_id: int | None = None, hold_id: int | None = None, now: datetime | None = None
) -> int:
    """The periodic sweep, and the lazy expiry before a hold or its group is touched.

    Runs in a transaction of its own, so the freed place stays freed even when the request that
    triggered it fails afterwards. A read first: the common case (nothing due) takes no write lock.
    """
    now = now or utcnow()
    probe = select(col(Hold.id)).where(col(Hold.status) == "active", col(Hold.expires_at) <= now)
    if group_id is not None:
        probe = probe.where(col(Hold.group_id) == group_id)
    if hold_id is not None:
        probe = probe.where(col(Hold.id) == hold_id)
    with db.transaction(write=False) as session:
        if session.execute(probe.limit(1)).first() is None:
            return 0
    with db.transaction() as session:
        return expire_due_holds(session=session, settings=db.settings, now=now, group_id=group_id, hold_id=hold_id)


# -- overview ---------------------------------------------------------------------------------


def overview(*, session: Session, principal: Principal, settings: Settings, region_code: str | None) -> dict[str, Any]:
    region = _own_region(session, principal, region_code)
    if region is None:
        raise RuleViolation("Kies een regio, bijvoorbeeld JZ14.", code="region_required")
    ensure_region_access(principal, region.id, what="Regio")
    stale_after_hours = region_stale_hours(session, region.id, settings.stale_after_hours)
    query = (
        select(Group, col(Provider.name), col(Provider.phone_24h))
        .join(Provider, col(Provider.id) == col(Group.provider_id))
        .where(col(Group.region_id) == region.id, col(Group.care_form).in_(CRISIS_CARE_FORMS))
        .order_by(col(Group.name), col(Group.id))
    )
    if principal.role == Role.provider:
        query = query.where(col(Group.provider_id) == principal.provider_id)
    rows = session.execute(query).all()
    ids = [g.id for g, _n, _p in rows]
    now = utcnow()
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    holds: dict[int, tuple[int, datetime | None]] = {}
    placed_today: dict[int, int] = {}
    if ids:
        for gid, count, first_expiry in session.execute(
            select(col(Hold.group_id), func.count(), func.min(Hold.expires_at))
            .where(col(Hold.group_id).in_(ids), col(Hold.status) == "active")
            .group_by(col(Hold.group_id))
        ):
            holds[gid] = (count, first_expiry)
        for gid, count in session.execute(
            select(col(Hold.group_id), func.count())
            .where(col(Hold.group_id).in_(ids), col(Hold.status) == "confirmed", col(Hold.confirmed_at) >= day_start)
            .group_by(col(Hold.group_id))
        ):
            placed_today[gid] = count
    # Occupancy from the feed (open stays, else the newest census); only a group without either
    # falls back to what its provider reported free.
    occupancy = current_occupancy(session=session, groups=[g for g, _n, _p in rows])
    groups = []
    for group, provider_name, phone in rows:
        reported = as_utc(group.reported_at)
        figure = occupancy[group.id]
        from_feed = figure["source"] != "none"
        occupied = int(figure["present"]) if from_feed else group.capacity - group.free_places  # type: ignore[call-overload]
        active, first_expiry = holds.get(group.id, (0, None))
        groups.append(
            {
                "group_id": group.id,
                "group_name": group.name,
                "kind": place_kind(group.care_form, group.name),
                "provider_id": group.provider_id,
                "provider_name": provider_name,
                "phone_24h": phone,
                "capacity": group.capacity,
                "free_places": group.free_places,
                "held_places": group.held_places,
                "net_free_places": max(0, group.free_places - group.held_places),
                "active_holds": active,
                "next_hold_expires_at": _iso(first_expiry),
                "occupied_today": occupied,
                "occupancy_rate": round(occupied / group.capacity, 3),
                # "events" (the feed's stays), "census" (a daily count) or "report" (capacity
                # minus the free places reported, for a group without either).
                "occupancy_source": figure["source"] if from_feed else "report",
                "places_from_feed": group.places_from_feed,
                # Held places beyond what the feed leaves free (a feed group that is over-booked).
                "over_booked": max(0, group.held_places - max(0, group.capacity - group.feed_present))
                if group.places_from_feed
                else 0,
                "placements_today": placed_today.get(group.id, 0),
                "admitting": group.admitting,
                "reason": group.not_admitting_reason,
                "reported_at": reported.isoformat() if reported else None,
                "minutes_since_report": int((now - reported).total_seconds() // 60) if reported else None,
                "stale": is_stale(reported, stale_after_hours=stale_after_hours, now=now),
            }
        )
    return {
        "region_code": region.code,
        "region_name": region.name,
        "generated_at": now.isoformat(),
        # Subscribe to /api/v1/live?since=<seq> to keep this picture current.
        "seq": last_seq(session),
        "totals": {
            "groups": len(groups),
            "capacity": sum(g["capacity"] for g in groups),
            "free_places": sum(g["free_places"] for g in groups),
            "held_places": sum(g["held_places"] for g in groups),
            "net_free_places": sum(g["net_free_places"] for g in groups),
            "occupied_today": sum(g["occupied_today"] for g in groups),
            "stale_groups": sum(1 for g in groups if g["stale"]),
        },
        "groups": groups,
    }
