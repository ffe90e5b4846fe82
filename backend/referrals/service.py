"""Referrals: creating, reading, editing and withdrawing them, always with an audit row."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal
from backend.domain import CARE_FORMS, as_utc, utcnow
from backend.errors import Conflict, Forbidden, NotFound, PreconditionFailed, RuleViolation
from backend.events.service import append_event
from backend.field_labels import field_label
from backend.placements.models import DESTINATIONS
from backend.referrals.models import (
    STATUS_LABELS,
    Referral,
    ReferralCreate,
    ReferralPublic,
    ReferralStatus,
    ReferralUpdate,
)
from backend.regions.models import Municipality, Region
from backend.regions.service import resolve_postcode
from backend.users.models import Role

# Roles that may see and edit youth data. Providers never see a referral, only the need
# profile of a proposal sent to them (backend/proposals).
REFERRAL_ROLES = (Role.coordinator, Role.admin)
AUDIENCE = ["coordinator", "admin"]
REFERRAL_CHANGED = "referral.changed"


def age_on(birth_year: int, birth_month: int, today: date | None = None) -> int:
    """Age in whole years; with only year and month known, the birthday counts from the
    first of the month (the youth is never younger than this)."""
    today = today or utcnow().date()
    return today.year - birth_year - (1 if today.month < birth_month else 0)


def waiting_days(referral: Referral, now: datetime | None = None) -> float:
    since = as_utc(referral.waiting_since)
    assert since is not None
    return max(0.0, ((now or utcnow()) - since).total_seconds() / 86400)


def to_public(referral: Referral) -> ReferralPublic:
    data = referral.model_dump()
    for key in ("waiting_since", "created_at", "updated_at", "placed_at", "discharged_at"):
        data[key] = as_utc(data.get(key))
    data["discharge_destination_label"] = DESTINATIONS.get(referral.discharge_destination or "")
    data["age"] = age_on(referral.birth_year, referral.birth_month)
    data["waiting_days"] = round(waiting_days(referral), 2)
    data["status_label"] = STATUS_LABELS.get(referral.status, referral.status)
    return ReferralPublic.model_validate(data)


def _region_for(session: Session, principal: Principal, requested: int | None) -> Region:
    region_id = requested if requested is not None else principal.region_id
    if region_id is None:
        raise RuleViolation("Kies de regio waarvoor deze verwijzing geldt.", code="region_required")
    if not principal.may_see_region(region_id):
        raise Forbidden("U werkt alleen met verwijzingen van uw eigen regio.", code="region_forbidden")
    region = session.get(Region, region_id)
    if region is None:
        raise NotFound("Regio niet gevonden.")
    return region


def resolve_home(
    *, session: Session, region_id: int, postcode: str | None, municipality: str | None
) -> tuple[str | None, int | None, float, float]:
    """Home area -> (postcode, municipality id, lat, lon).

    The postcode centroid is preferred (closer to the youth's school and network); when the
    postcode table was not imported, or the postcode is not an address postcode, the centre of
    the named municipality is used instead.
    """
    mun: Municipality | None = None
    if municipality:
        name = municipality.strip()
        mun = session.exec(
            select(Municipality).where(
                (func.lower(Municipality.name) == name.lower()) | (Municipality.cbs_code == name.upper())
            )
        ).first()
        if mun is None:
            raise RuleViolation(f"Gemeente '{name}' is onbekend.", code="municipality_unknown")
    if postcode:
        try:
            lat, lon = resolve_postcode(session=session, pc4=postcode)
            return postcode, mun.id if mun else None, lat, lon
        except RuleViolation:
            if mun is None:
                raise RuleViolation(
                    f"Postcode {postcode} is onbekend. Geef ook de woongemeente op, dan rekenen we "
                    f"vanaf het midden van de gemeente.",
                    code="postcode_unknown",
                ) from None
    assert mun is not None
    return postcode, mun.id, mun.lat, mun.lon


def _check_sibling_mode(session: Session, referral: Referral) -> None:
    """All siblings of one set must ask for the same kind of togetherness (group or location)."""
    if referral.sibling_set is None:
        return
    query = select(Referral).where(
        Referral.region_id == referral.region_id,
        Referral.sibling_set == referral.sibling_set,
        col(Referral.status).in_(["waiting", "proposed"]),
    )
    if referral.id is not None:
        query = query.where(Referral.id != referral.id)
    others = session.exec(query).all()
    if any(o.together != referral.together for o in others):
        raise RuleViolation(
            f"De andere jongeren in broer-zusgroep '{referral.sibling_set}' vragen om "
            f"'{others[0].together}' samen; kies voor iedereen in de set hetzelfde.",
            code="sibling_mode_mismatch",
        )


def _check_secure(referral: Referral) -> None:
    if "jeugdzorgplus" in referral.care_forms and not referral.secure_authorisation:
        raise RuleViolation(
            "Jeugdzorgplus kan alleen met een machtiging gesloten jeugdhulp; zet "
            "secure_authorisation aan of haal jeugdzorgplus uit de zorgvormen.",
            code="secure_authorisation_required",
        )


def _check_age(referral: Referral) -> None:
    age = age_on(referral.birth_year, referral.birth_month)
    if not 0 <= age <= 27:
        raise RuleViolation(
            f"Met dit geboortejaar en -maand is de jongere {age} jaar; jeugdhulp is voor 0 tot 27 jaar.",
            code="age_out_of_range",
        )


def save_referral(*, session: Session, referral: Referral, actor: str | None, change: str) -> None:
    """Store a change of a referral (a new version) and announce it on the live feed."""
    referral.updated_at = utcnow()
    referral.version += 1
    session.add(referral)
    session.flush()
    publish_referral_change(session=session, referral=referral, actor=actor, change=change)


def publish_referral_change(*, session: Session, referral: Referral, actor: str | None, change: str) -> None:
    # No reference and no profile on the feed: only coordinators watch it, and they read the
    # referral itself (audited) when they need more.
    append_event(
        session=session,
        type=REFERRAL_CHANGED,
        payload={"audience": AUDIENCE, "referral_id": referral.id, "status": referral.status, "change": change},
        region_id=referral.region_id,
        actor=actor,
    )


def create_referral(*, session: Session, principal: Principal, data: ReferralCreate) -> Referral:
    region = _region_for(session, principal, data.region_id)
    assert region.id is not None
    if session.exec(
        select(Referral.id).where(Referral.region_id == region.id, Referral.reference == data.reference)
    ).first():
        raise Conflict(
            f"Er bestaat al een verwijzing met referentie {data.reference} in deze regio.", code="reference_taken"
        )
    postcode, mun_id, lat, lon = resolve_home(
        session=session, region_id=region.id, postcode=data.home_postcode, municipality=data.home_municipality
    )
    now = utcnow()
    referral = Referral(
        region_id=region.id,
        reference=data.reference,
        birth_year=data.birth_year,
        birth_month=data.birth_month,
        gender=data.gender,
        home_postcode=postcode,
        home_municipality_id=mun_id,
        home_lat=lat,
        home_lon=lon,
        origin_region_code=(data.origin_region_code or region.code).upper(),
        care_forms=list(data.care_forms),
        required_intensity=data.required_intensity,
        risk_profile=data.risk_profile,
        needs=sorted(set(data.needs)),
        urgency=data.urgency,
        secure_authorisation=data.secure_authorisation,
        max_distance_km=data.max_distance_km,
        sibling_set=data.sibling_set,
        together=data.together,
        excluded_provider_ids=sorted(set(data.excluded_provider_ids)),
        excluded_group_ids=[],
        waiting_since=data.waiting_since or now,
        status=ReferralStatus.waiting,
        created_at=now,
        updated_at=now,
    )
    _check_age(referral)
    _check_secure(referral)
    _check_sibling_mode(session, referral)
    session.add(referral)
    session.flush()
    audit.record(
        session=session,
        actor=principal,
        action="referral.create",
        object_type="referral",
        object_id=referral.id or 0,
        purpose=Purpose.referral_intake,
        region_id=referral.region_id,
    )
    publish_referral_change(session=session, referral=referral, actor=principal.label, change="created")
    return referral


def load_referral(*, session: Session, principal: Principal, referral_id: int, for_update: bool = False) -> Referral:
    """The referral, if this principal may work with it (no audit row: callers write one)."""
    if principal.role not in REFERRAL_ROLES:
        raise Forbidden("U heeft geen rechten voor deze handeling.", code="role_forbidden")
    query = select(Referral).where(Referral.id == referral_id)
    if for_update:
        query = query.with_for_update()
    referral = session.exec(query).first()
    if referral is None or not principal.may_see_region(referral.region_id):
        raise NotFound("Verwijzing niet gevonden.")
    return referral


def read_referral(
    *, session: Session, principal: Principal, referral_id: int, purpose: Purpose = Purpose.referral_review
) -> Referral:
    referral = load_referral(session=session, principal=principal, referral_id=referral_id)
    audit.record(
        session=session,
        actor=principal,
        action="referral.read",
        object_type="referral",
        object_id=referral_id,
        purpose=purpose,
        region_id=referral.region_id,
    )
    return referral


def list_referrals(
    *,
    session: Session,
    principal: Principal,
    status: str | None,
    region_id: int | None,
    purpose: Purpose = Purpose.waiting_list_review,
) -> list[Referral]:
    if principal.role not in REFERRAL_ROLES:
        raise Forbidden("U heeft geen rechten voor deze handeling.", code="role_forbidden")
    query = select(Referral).order_by(col(Referral.waiting_since), col(Referral.id))
    if principal.region_scope is not None:
        query = query.where(Referral.region_id == principal.region_scope)
    if region_id is not None:
        query = query.where(Referral.region_id == region_id)
    if status is not None:
        if status not in STATUS_LABELS:
            raise RuleViolation(f"Onbekende status '{status}' (kies uit {', '.join(STATUS_LABELS)}).")
        query = query.where(Referral.status == status)
    rows = list(session.exec(query).all())
    audit.record(
        session=session,
        actor=principal,
        action="referral.list",
        object_type="referral",
        object_id="*",
        purpose=purpose,
        detail={"status": status, "count": len(rows), "ids": [r.id for r in rows][:500]},
        youth=audit.referrals(r.id for r in rows),
        region_id=region_id,
    )
    return rows


def update_referral(
    *, session: Session, principal: Principal, referral_id: int, data: ReferralUpdate, expected_version: int | None
) -> Referral:
    referral = load_referral(session=session, principal=principal, referral_id=referral_id, for_update=True)
    if expected_version is not None and expected_version != referral.version:
        raise PreconditionFailed(
            f"De verwijzing is intussen gewijzigd (nu versie {referral.version}, u had versie "
            f"{expected_version}). Laad haar opnieuw en probeer het nog eens.",
            extra={"current_version": referral.version},
        )
    if referral.status in (ReferralStatus.placed, ReferralStatus.discharged, ReferralStatus.withdrawn):
        raise Conflict(
            f"Een verwijzing met status '{STATUS_LABELS[referral.status]}' kan niet meer worden gewijzigd.",
            code="referral_closed",
        )
    changes = data.model_dump(exclude_unset=True)
    before = {k: getattr(referral, k, None) for k in changes if hasattr(referral, k)}
    if "home_postcode" in changes or "home_municipality" in changes:
        postcode = changes.pop("home_postcode", referral.home_postcode)
        municipality = changes.pop("home_municipality", None)
        if municipality is None and referral.home_municipality_id is not None:
            mun = session.get(Municipality, referral.home_municipality_id)
            municipality = mun.name if mun else None
        if not postcode and not municipality:
            raise RuleViolation("Geef een postcode (4 cijfers) of een woongemeente op.")
        (referral.home_postcode, referral.home_municipality_id, referral.home_lat, referral.home_lon) = resolve_home(
            session=session, region_id=referral.region_id, postcode=postcode, municipality=municipality
        )
    for key, value in changes.items():
        if key in ("needs", "excluded_provider_ids", "excluded_group_ids") and value is not None:
            value = sorted(set(value))
        if key == "origin_region_code" and value:
            value = value.upper()
        if value is None and key not in ("max_distance_km", "sibling_set", "waiting_since"):
            name = field_label(key)
            raise RuleViolation(f"{name[:1].upper()}{name[1:]} mag niet leeg zijn.", code="field_required")
        if key == "waiting_since" and value is None:
            continue
        setattr(referral, key, value)
    _check_age(referral)
    _check_secure(referral)
    _check_sibling_mode(session, referral)
    save_referral(session=session, referral=referral, actor=principal.label, change="updated")
    audit.record(
        session=session,
        actor=principal,
        action="referral.update",
        object_type="referral",
        object_id=referral_id,
        purpose=Purpose.referral_update,
        detail={"fields": sorted(data.model_dump(exclude_unset=True)), "before": _jsonable(before)},
        region_id=referral.region_id,
    )
    return referral


def care_form_labels() -> dict[str, str]:
    return {code: label for code, (label, _segment, _max) in CARE_FORMS.items()}


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}
