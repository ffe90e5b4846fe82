"""Placements: from an accepted proposal (or a confirmed crisis hold) to arrival and discharge.

Places move only through the availability service: the place a proposal held stays held while
the youth is expected (``accept``), becomes occupied on arrival (``places.occupy``), is released
when the youth does not come (``places.release``) and is free again on discharge
(``places.vacate``). Admissions and discharges go through the occupancy service, so the feed,
the stays and the post-calculation see exactly what happened in plekwijzer.

Locks are taken referral first, then placement (a conditional status change), then group, as
in proposals, so two of these never wait on each other in a cycle. Every status change is a
conditional UPDATE (``WHERE status = ...``): an arrival racing a no-show has one winner.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal, ensure_provider_in_scope
from backend.availability import service as places
from backend.availability.service import Notice
from backend.domain import as_utc, utcnow
from backend.errors import Conflict, Forbidden, NotFound, RuleViolation
from backend.events.service import append_event
from backend.notifications import triggers as notification_triggers
from backend.occupancy.models import ADMISSION, CANCEL, DISCHARGE, OccupancyEvent, OccupancyEventIn, OccupancyStay
from backend.occupancy.service import input_moment, local_day, record_admission, record_discharge, today
from backend.placements.models import (
    DESTINATIONS,
    MAX_ARRIVAL_DAYS,
    NOT_ARRIVING,
    OPEN_STATUSES,
    PLACEMENT_STATUS_LABELS,
    ArrivalRequest,
    DischargeRequest,
    NotArrivingRequest,
    Placement,
    PlacementPublic,
    TransferRequest,
)
from backend.providers.models import Group
from backend.referrals.models import Referral, ReferralStatus
from backend.referrals.service import save_referral

log = logging.getLogger(__name__)

PLACEMENT_CHANGED = "placement.changed"
SOURCE = "plekwijzer"
# Who hears a placement's events besides the provider of its group: never the youth's data,
# only ids and dates.
AUDIENCE = ["coordinator", "admin"]
FEED_STALE_HOURS = 24.0


# --- reading ------------------------------------------------------------------------------------


def _visible(principal: Principal, placement: Placement) -> bool:
    if principal.role == "provider":
        return placement.provider_id == principal.provider_id
    if principal.role in ("coordinator", "admin"):
        return principal.may_see_region(placement.region_id)
    return False


def load_placement(*, session: Session, principal: Principal, placement_id: int) -> Placement:
    placement = session.get(Placement, placement_id)
    if placement is None or not _visible(principal, placement):
        # 404 for another provider's or region's placement: nobody learns it exists.
        raise NotFound("Plaatsing niet gevonden.")
    return placement


def to_public(session: Session, principal: Principal, placement: Placement) -> PlacementPublic:
    referral = session.get(Referral, placement.referral_id)
    group = session.get(Group, placement.group_id)
    assert referral is not None
    coordinator = principal.role in ("coordinator", "admin")
    created_at = as_utc(placement.created_at)
    updated_at = as_utc(placement.updated_at)
    assert created_at is not None and updated_at is not None
    return PlacementPublic(
        id=placement.id,  # type: ignore[arg-type]
        referral_id=placement.referral_id if coordinator else None,
        reference=referral.reference if coordinator else None,
        group_id=placement.group_id,
        group_name=group.name if group else None,
        provider_id=placement.provider_id,
        region_id=placement.region_id,
        proposal_id=placement.proposal_id,
        hold_id=placement.hold_id,
        transferred_from=placement.transferred_from,
        status=placement.status,
        status_label=PLACEMENT_STATUS_LABELS.get(placement.status, placement.status),
        expected_arrival=placement.expected_arrival,
        stay_reference=placement.stay_reference,
        arrived_at=as_utc(placement.arrived_at),
        discharged_at=as_utc(placement.discharged_at),
        destination=placement.destination,
        destination_label=DESTINATIONS.get(placement.destination or "", None),
        end_reason=placement.end_reason,
        risk_profile=referral.risk_profile,
        created_at=created_at,
        updated_at=updated_at,
        version=placement.version,
    )


def read_placement(*, session: Session, principal: Principal, placement_id: int) -> Placement:
    placement = load_placement(session=session, principal=principal, placement_id=placement_id)
    audit.record(
        session=session,
        actor=principal,
        action="placement.read",
        object_type="referral",
        object_id=placement.referral_id,
        purpose=Purpose.placement_review,
        detail={"placement_id": placement_id},
    )
    return placement


def list_placements(
    *,
    session: Session,
    principal: Principal,
    status: str | None = None,
    group_id: int | None = None,
    referral_id: int | None = None,
    provider_id: int | None = None,
) -> list[Placement]:
    """A provider's own groups' placements; a coordinator's region's; everything for an admin
    bound to no region. ``provider_id``: one provider's only (an administrator acting for it)."""
    if principal.role not in ("provider", "coordinator", "admin"):
        raise Forbidden("U heeft geen rechten voor deze handeling.", code="role_forbidden")
    query = select(Placement).order_by(col(Placement.created_at).desc(), col(Placement.id).desc())
    if principal.role == "provider":
        query = query.where(Placement.provider_id == principal.provider_id)
        if referral_id is not None:
            # A provider does not know referrals; asking by one is a question it may not ask.
            raise Forbidden("Zorgaanbieders zoeken niet op verwijzing.", code="role_forbidden")
    elif principal.region_scope is not None:
        query = query.where(Placement.region_id == principal.region_scope)
    if provider_id is not None:
        ensure_provider_in_scope(session, principal, provider_id)
        query = query.where(Placement.provider_id == provider_id)
    if status is not None:
        if status not in PLACEMENT_STATUS_LABELS:
            raise RuleViolation(f"Onbekende status '{status}' (kies uit {', '.join(PLACEMENT_STATUS_LABELS)}).")
        query = query.where(Placement.status == status)
    if group_id is not None:
        query = query.where(Placement.group_id == group_id)
    if referral_id is not None:
        query = query.where(Placement.referral_id == referral_id)
    rows = list(session.exec(query.limit(1000)).all())
    referral_ids = sorted({p.referral_id for p in rows})
    audit.record(
        session=session,
        actor=principal,
        action="placement.list",
        object_type="referral",
        object_id=str(referral_id) if referral_id is not None else "*",
        purpose=Purpose.placement_review,
        detail={"status": status, "group_id": group_id, "count": len(rows), "referral_ids": referral_ids[:500]},
        youth=audit.referrals(referral_ids),
    )
    return rows


# --- shared steps -------------------------------------------------------------------------------


def _lock_referral(session: Session, referral_id: int) -> Referral:
    return session.exec(
        select(Referral).where(Referral.id == referral_id).with_for_update().execution_options(populate_existing=True)
    ).one()


def _move(session: Session, placement: Placement, frm: str | tuple[str, ...], **values: Any) -> bool:
    """Change an open placement's status; False when someone else changed it first."""
    allowed = (frm,) if isinstance(frm, str) else frm
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Placement)
            .where(col(Placement.id) == placement.id, col(Placement.status).in_(allowed))
            .values(**values, updated_at=utcnow(), version=Placement.version + 1)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        return False
    session.refresh(placement)
    return True


def _closed(placement: Placement, doing: str) -> Conflict:
    label = PLACEMENT_STATUS_LABELS.get(placement.status, placement.status).lower()
    return Conflict(f"Deze plaatsing is al '{label}'; {doing} kan niet meer.", code="placement_closed")


def _announce(session: Session, placement: Placement, actor: Principal, change: str) -> None:
    append_event(
        session=session,
        type=PLACEMENT_CHANGED,
        payload={
            "audience": AUDIENCE,
            "placement_id": placement.id,
            "group_id": placement.group_id,
            "status": placement.status,
            "change": change,
        },
        group_id=placement.group_id,
        provider_id=placement.provider_id,
        region_id=placement.region_id,
        actor=actor.label,
    )


def _notice(placement: Placement, actor: Principal, action: str, purpose: Purpose, **detail: Any) -> Notice:
    return Notice(
        PLACEMENT_CHANGED,
        actor,
        action,
        "referral",
        placement.referral_id,
        purpose,
        detail={"placement_id": placement.id, "group_id": placement.group_id, **detail},
        # No audience here: the group's new places are for everyone who watches the region
        # (crisis team, viewers); the event names no youth.
        extra={"placement_id": placement.id},
    )


def open_stay(session: Session, referral_id: int) -> OccupancyStay | None:
    return session.exec(
        select(OccupancyStay).where(
            OccupancyStay.referral_id == referral_id, col(OccupancyStay.discharged_at).is_(None)
        )
    ).first()


def _refuse_second_stay(session: Session, referral: Referral) -> None:
    """A youth has at most one open stay: a second admission for the same referral is refused."""
    stay = open_stay(session, referral.id)  # type: ignore[arg-type]
    if stay is None:
        return
    group = session.get(Group, stay.group_id)
    raise Conflict(
        f"Deze jongere is al opgenomen in {group.name if group else 'een groep'} "
        f"(verblijf '{stay.stay_reference}'); een tweede opname voor dezelfde verwijzing kan niet. "
        "Meld eerst het ontslag, of gebruik een overplaatsing.",
        code="referral_already_admitted",
    )


def _admit(
    session: Session, placement: Placement, referral: Referral, *, at: datetime, stay_reference: str
) -> OccupancyStay:
    """The admission of the placement's stay, or, when the provider's feed already admitted a
    stay under this reference that no placement owns, that stay: one stay per youth."""
    existing = session.exec(
        select(OccupancyStay).where(
            OccupancyStay.group_id == placement.group_id,
            OccupancyStay.stay_reference == stay_reference,
            col(OccupancyStay.discharged_at).is_(None),
        )
    ).first()
    if existing is not None and existing.referral_id not in (None, referral.id):
        raise Conflict(
            f"Verblijf '{stay_reference}' hoort bij een andere jongere in deze groep; kies een andere "
            "verblijfsreferentie.",
            code="stay_reference_taken",
        )
    if existing is not None:
        stay = existing
    else:
        event = record_admission(
            session=session,
            group_id=placement.group_id,
            at=at,
            origin_region_code=referral.origin_region_code,
            stay_reference=stay_reference,
            source=SOURCE,
            event_id=f"{SOURCE}:placement:{placement.id}:admission",
        )
        stay = session.exec(select(OccupancyStay).where(OccupancyStay.admission_event == event.id)).one()
    stay.referral_id = referral.id
    stay.risk_profile = referral.risk_profile
    session.add(stay)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # Another arrival for this referral committed between our check and this write.
        raise Conflict(
            "Deze jongere is intussen al opgenomen; een tweede opname voor dezelfde verwijzing kan niet.",
            code="referral_already_admitted",
        ) from None
    return stay


def _moment(value: datetime | None, *, now: datetime, what: str) -> datetime:
    if value is None:
        return now
    moment = input_moment(value).astimezone(UTC)
    if moment > now + timedelta(minutes=5):
        raise RuleViolation(f"Het tijdstip van {what} ligt in de toekomst.", code="moment_future")
    if moment < now - timedelta(days=365):
        raise RuleViolation(f"Het tijdstip van {what} ligt meer dan een jaar terug.", code="moment_too_old")
    return moment


def check_expected(expected: date) -> date:
    """The expected arrival: today or later, at most ``MAX_ARRIVAL_DAYS`` ahead."""
    current = today()
    if expected < current:
        raise RuleViolation(
            f"De verwachte aankomstdatum {expected:%d-%m-%Y} ligt in het verleden; kies vandaag of later.",
            code="arrival_in_past",
        )
    if expected > current + timedelta(days=MAX_ARRIVAL_DAYS):
        raise RuleViolation(
            f"De verwachte aankomstdatum {expected:%d-%m-%Y} ligt meer dan {MAX_ARRIVAL_DAYS} dagen vooruit.",
            code="arrival_too_far",
        )
    return expected


def _acts_for_group(principal: Principal, placement: Placement) -> None:
    """Arrival, discharge and transfer are the provider's (its planners or its system)."""
    if principal.role not in ("provider", "admin"):
        raise Forbidden(
            "Alleen de zorgaanbieder van de groep legt aankomst, uitstroom en overplaatsing vast.",
            code="role_forbidden",
        )


def _end_referral(session: Session, referral: Referral, *, at: datetime, destination: str, actor: str) -> None:
    referral.status = ReferralStatus.discharged
    referral.discharged_at = at
    referral.discharge_destination = destination
    save_referral(session=session, referral=referral, actor=actor, change="discharged")


# --- starting -----------------------------------------------------------------------------------


def start_from_proposal(
    *,
    session: Session,
    principal: Principal,
    referral: Referral,
    proposal_id: int,
    group: Group,
    expected_arrival: date | None,
) -> Placement:
    """An accepted proposal: the youth is expected on a date and the proposal's held place stays
    held for them (no admission yet). The caller locked the referral and closed the proposal."""
    expected = check_expected(expected_arrival or today())
    now = utcnow()
    placement = Placement(
        referral_id=referral.id,  # type: ignore[arg-type]
        group_id=group.id,  # type: ignore[arg-type]
        provider_id=group.provider_id,
        region_id=referral.region_id,
        proposal_id=proposal_id,
        status="accepted",
        expected_arrival=expected,
        stay_reference="-",
        created_at=now,
        created_by=principal.label,
        updated_at=now,
    )
    session.add(placement)
    session.flush()
    placement.stay_reference = f"plaatsing-{placement.id}"
    session.add(placement)
    referral.status = ReferralStatus.accepted
    referral.placed_group_id = group.id
    referral.placed_at = None
    referral.discharged_at = None
    referral.discharge_destination = None
    save_referral(session=session, referral=referral, actor=principal.label, change="accepted")
    _announce(session, placement, principal, "accepted")
    return placement


def place_from_hold(
    *,
    session: Session,
    principal: Principal,
    hold_id: int,
    referral_id: int,
    group: Group,
    stay_reference: str | None,
    stale_after_hours: float,
) -> Placement:
    """A confirmed crisis hold that names a referral places it: arrived at once, with the
    admission recorded under the stay. The hold's place is occupied by the crisis service."""
    referral = _lock_referral(session, referral_id)
    _refuse_second_stay(session, referral)
    if referral.status == ReferralStatus.withdrawn:
        raise Conflict(
            "Deze verwijzing is ingetrokken; bevestig de crisisplaats zonder verwijzing.", code="referral_closed"
        )
    now = utcnow()
    # The youth went to the crisis place instead: an arrival still expected elsewhere is off.
    for expected in session.exec(
        select(Placement).where(Placement.referral_id == referral_id, Placement.status == "accepted")
    ).all():
        _not_arriving(
            session,
            principal,
            expected,
            referral,
            kind="cancelled",
            reason="Crisisplaatsing elders bevestigd",
            back_to_waiting=False,
            stale_after_hours=stale_after_hours,
        )
    placement = Placement(
        referral_id=referral_id,
        group_id=group.id,  # type: ignore[arg-type]
        provider_id=group.provider_id,
        region_id=referral.region_id,
        hold_id=hold_id,
        status="arrived",
        expected_arrival=local_day(now),
        stay_reference="-",
        arrived_at=now,
        created_at=now,
        created_by=principal.label,
        updated_at=now,
    )
    session.add(placement)
    session.flush()
    placement.stay_reference = stay_reference or f"plaatsing-{placement.id}"
    session.add(placement)
    _admit(session, placement, referral, at=now, stay_reference=placement.stay_reference)
    referral.status = ReferralStatus.placed
    referral.placed_group_id = group.id
    referral.placed_at = now
    referral.discharged_at = None
    referral.discharge_destination = None
    save_referral(session=session, referral=referral, actor=principal.label, change="placed")
    audit.record(
        session=session,
        actor=principal,
        action="placement.arrive",
        object_type="referral",
        object_id=referral_id,
        purpose=Purpose.crisis_arrival,
        detail={"placement_id": placement.id, "group_id": group.id, "hold_id": hold_id},
    )
    _announce(session, placement, principal, "arrived")
    return placement


# --- the lifecycle ------------------------------------------------------------------------------


def arrive(
    *, session: Session, principal: Principal, placement_id: int, data: ArrivalRequest, stale_after_hours: float
) -> Placement:
    """Start of care: the held place becomes occupied and the admission is recorded."""
    placement = load_placement(session=session, principal=principal, placement_id=placement_id)
    _acts_for_group(principal, placement)
    now = utcnow()
    at = _moment(data.arrived_at, now=now, what="aankomst")
    referral = _lock_referral(session, placement.referral_id)
    if placement.status != "accepted":
        raise _closed(placement, "een aankomst vastleggen")
    _refuse_second_stay(session, referral)
    stay_reference = data.stay_reference or placement.stay_reference
    if not _move(session, placement, "accepted", status="arrived", arrived_at=at, stay_reference=stay_reference):
        session.refresh(placement)
        raise _closed(placement, "een aankomst vastleggen")
    _start_care(session, principal, placement, referral, at=at, stale_after_hours=stale_after_hours, admit=True)
    return placement


def _start_care(
    session: Session,
    principal: Principal,
    placement: Placement,
    referral: Referral,
    *,
    at: datetime,
    stale_after_hours: float,
    admit: bool,
) -> None:
    if (
        places.occupy(
            session=session,
            group_id=placement.group_id,
            stale_after_hours=stale_after_hours,
            notice=_notice(placement, principal, "placement.arrive", Purpose.placement_arrival, change="arrived"),
        )
        is None
    ):
        # Cannot happen while the CHECK holds: the accepted placement held this place.
        raise Conflict("De vastgehouden plek van deze plaatsing is er niet meer.", code="place_gone")
    if admit:
        _admit(session, placement, referral, at=at, stay_reference=placement.stay_reference)
    referral.status = ReferralStatus.placed
    referral.placed_group_id = placement.group_id
    referral.placed_at = at
    save_referral(session=session, referral=referral, actor=principal.label, change="placed")


def not_arriving(
    *, session: Session, principal: Principal, placement_id: int, data: NotArrivingRequest, stale_after_hours: float
) -> Placement:
    """A no-show or a cancelled arrival: the held place is released and the youth waits again."""
    placement = load_placement(session=session, principal=principal, placement_id=placement_id)
    if principal.role not in ("provider", "coordinator", "admin"):
        raise Forbidden("U heeft geen rechten voor deze handeling.", code="role_forbidden")
    referral = _lock_referral(session, placement.referral_id)
    if placement.status != "accepted":
        raise _closed(placement, f"'{NOT_ARRIVING[data.kind].lower()}' melden")
    if not _not_arriving(
        session,
        principal,
        placement,
        referral,
        kind=data.kind,
        reason=data.reason,
        back_to_waiting=True,
        stale_after_hours=stale_after_hours,
    ):
        session.refresh(placement)
        raise _closed(placement, f"'{NOT_ARRIVING[data.kind].lower()}' melden")
    return placement


def _not_arriving(
    session: Session,
    principal: Principal,
    placement: Placement,
    referral: Referral,
    *,
    kind: str,
    reason: str,
    back_to_waiting: bool,
    stale_after_hours: float,
) -> bool:
    if not _move(session, placement, "accepted", status=kind, end_reason=reason, ended_by=principal.label):
        return False
    places.release(
        session=session,
        group_id=placement.group_id,
        stale_after_hours=stale_after_hours,
        notice=_notice(placement, principal, f"placement.{kind}", Purpose.placement_no_show, kind=kind, reason=reason),
    )
    notification_triggers.placement_fell_through(session, placement, kind)
    if back_to_waiting and referral.status == ReferralStatus.accepted:
        # Back on the waiting list with its original waiting date: the youth lost no turn.
        referral.status = ReferralStatus.waiting
        referral.placed_group_id = None
        save_referral(session=session, referral=referral, actor=principal.label, change=kind)
    return True


def discharge(
    *, session: Session, principal: Principal, placement_id: int, data: DischargeRequest, stale_after_hours: float
) -> Placement:
    """End of care: the discharge is recorded, the place is free again, the referral ends."""
    placement = load_placement(session=session, principal=principal, placement_id=placement_id)
    _acts_for_group(principal, placement)
    now = utcnow()
    at = _moment(data.discharged_at, now=now, what="uitstroom")
    referral = _lock_referral(session, placement.referral_id)
    if placement.status != "arrived":
        raise _closed(placement, "uitstroom vastleggen")
    arrived = as_utc(placement.arrived_at)
    if arrived is not None and at < arrived:
        raise RuleViolation("De uitstroom ligt vóór de aankomst.", code="discharge_before_arrival")
    _end_stay(session, placement, at=at)
    if not _move(session, placement, "arrived", status="discharged", discharged_at=at, destination=data.destination):
        session.refresh(placement)
        raise _closed(placement, "uitstroom vastleggen")
    _free_place(session, principal, placement, stale_after_hours, destination=data.destination)
    _end_referral(session, referral, at=at, destination=data.destination, actor=principal.label)
    return placement


def _end_stay(session: Session, placement: Placement, *, at: datetime) -> None:
    stay = session.exec(
        select(OccupancyStay).where(
            OccupancyStay.group_id == placement.group_id,
            OccupancyStay.referral_id == placement.referral_id,
            col(OccupancyStay.discharged_at).is_(None),
        )
    ).first()
    if stay is None:
        return  # the feed already ended it, or the stay was withdrawn by the provider's system
    record_discharge(
        session=session,
        group_id=placement.group_id,
        at=at,
        stay_reference=stay.stay_reference,
        source=SOURCE,
        event_id=f"{SOURCE}:placement:{placement.id}:discharge",
    )


def _free_place(
    session: Session,
    principal: Principal,
    placement: Placement,
    stale_after_hours: float,
    *,
    destination: str | None = None,
    action: str = "placement.discharge",
    purpose: Purpose = Purpose.placement_discharge,
    change: str = "discharged",
    **detail: Any,
) -> None:
    """The place the youth occupied is free again (discharge, transfer, a withdrawn arrival)."""
    if destination is not None:
        detail["destination"] = destination
    freed = places.vacate(
        session=session,
        group_id=placement.group_id,
        stale_after_hours=stale_after_hours,
        notice=_notice(placement, principal, action, purpose, **detail),
    )
    if freed is None:
        # The group already reports every place free: no place change, but the ending is
        # still audited and announced.
        audit.record(
            session=session,
            actor=principal,
            action=action,
            object_type="referral",
            object_id=placement.referral_id,
            purpose=purpose,
            detail={"placement_id": placement.id, "group_id": placement.group_id, **detail},
        )
        _announce(session, placement, principal, change)


def transfer(
    *, session: Session, principal: Principal, placement_id: int, data: TransferRequest, stale_after_hours: float
) -> Placement:
    """Move an arrived youth to another group of the same provider, in one action: a discharge
    from this group and an admission in the other. Answers the new placement."""
    placement = load_placement(session=session, principal=principal, placement_id=placement_id)
    _acts_for_group(principal, placement)
    target = session.get(Group, data.group_id)
    if target is None or target.provider_id != placement.provider_id or not principal.may_see_region(target.region_id):
        raise NotFound("Groep niet gevonden (overplaatsen kan naar een andere groep van dezelfde aanbieder).")
    if target.id == placement.group_id:
        raise RuleViolation("De jongere verblijft al in deze groep.", code="transfer_same_group")
    now = utcnow()
    at = _moment(data.at, now=now, what="overplaatsing")
    referral = _lock_referral(session, placement.referral_id)
    if placement.status != "arrived":
        raise _closed(placement, "overplaatsen")
    arrived = as_utc(placement.arrived_at)
    if arrived is not None and at < arrived:
        raise RuleViolation("De overplaatsing ligt vóór de aankomst.", code="transfer_before_arrival")
    _end_stay(session, placement, at=at)
    if not _move(session, placement, "arrived", status="discharged", discharged_at=at, destination="residential"):
        session.refresh(placement)
        raise _closed(placement, "overplaatsen")
    _free_place(session, principal, placement, stale_after_hours, destination="residential")
    following = Placement(
        referral_id=placement.referral_id,
        group_id=target.id,  # type: ignore[arg-type]
        provider_id=target.provider_id,
        region_id=placement.region_id,
        transferred_from=placement.id,
        status="arrived",
        expected_arrival=local_day(at),
        stay_reference="-",
        arrived_at=at,
        created_at=now,
        created_by=principal.label,
        updated_at=now,
    )
    session.add(following)
    session.flush()
    following.stay_reference = data.stay_reference or f"plaatsing-{following.id}"
    session.add(following)
    claimed = places.claim(
        session=session,
        group_id=target.id,  # type: ignore[arg-type]
        stale_after_hours=stale_after_hours,
        notice=_notice(following, principal, "placement.transfer", Purpose.placement_transfer, source=placement.id),
    )
    if claimed is None:
        raise Conflict(
            f"{target.name} heeft geen vrije plek (of neemt nu niemand op); de jongere blijft waar zij is.",
            code="place_taken",
        )
    _start_care(session, principal, following, referral, at=at, stale_after_hours=stale_after_hours, admit=True)
    _announce(session, placement, principal, "transferred")
    _announce(session, following, principal, "arrived")
    return following


# --- the provider's own feed -------------------------------------------------------------------


def after_feed_batch(*, session: Session, principal: Principal, events: Sequence[OccupancyEventIn]) -> None:
    """Placements follow the admissions and discharges the provider's own system sends
    (registered in ``backend/registry.py``, called by ``occupancy.service.ingest_events``).

    - An admission under the stay reference of an expected placement is its arrival.
    - An admission with a ``risk_profile`` gives its stay that profile (youths placed outside
      plekwijzer count toward the profile-C limit too).
    - A discharge of a placement's stay ends the placement and the referral (destination as
      sent, else "anders/onbekend") and frees the place.
    """
    # Only the "stale" mark of the group on the live feed depends on it; the group's region
    # may set its own (availability service), and the feed has no settings of its own here.
    settings_hours = FEED_STALE_HOURS
    # A batch may hold a year of history: a fixed number of statements per batch, never one
    # per event, except for the few events that concern an open placement.
    _note_risk_profiles(session, [e for e in events if e.kind == ADMISSION and e.risk_profile and e.stay_reference])
    moving = [e for e in events if e.kind in (ADMISSION, DISCHARGE) and e.stay_reference]
    group_ids = sorted({e.group_id for e in moving})
    placed: set[tuple[int, str]] = set()
    for start in range(0, len(group_ids), 500):
        placed.update(
            (int(g), str(r))
            for g, r in session.exec(
                select(Placement.group_id, Placement.stay_reference).where(
                    col(Placement.group_id).in_(group_ids[start : start + 500]),
                    col(Placement.status).in_(OPEN_STATUSES),
                )
            ).all()
        )
    for item in moving:
        if (item.group_id, item.stay_reference) not in placed:
            continue
        at = input_moment(item.at).astimezone(UTC)
        if item.kind == ADMISSION:
            _feed_admission(session, principal, item, at=at, stale_after_hours=settings_hours)
        else:
            _feed_discharge(session, principal, item, at=at, stale_after_hours=settings_hours)
    _withdrawn_arrivals(
        session, principal, sorted({e.group_id for e in events if e.kind == CANCEL}), stale_after_hours=settings_hours
    )


def _withdrawn_arrivals(
    session: Session, principal: Principal, group_ids: Sequence[int], *, stale_after_hours: float
) -> None:
    """The provider's system withdrew the admission of an arrived placement (a cancellation
    removes its stay). With a corrected admission under the same stay reference, that stay is
    the placement's arrival; without one the arrival did not happen: the placement ends as
    cancelled and the youth waits again with its original waiting date, like a no-show."""
    if not group_ids:
        return
    arrived = session.exec(
        select(Placement).where(col(Placement.group_id).in_(group_ids), Placement.status == "arrived")
    ).all()
    for placement in arrived:
        if open_stay(session, placement.referral_id) is not None:
            continue
        referral = _lock_referral(session, placement.referral_id)
        corrected = _open_stay_of(session, placement.group_id, placement.stay_reference)
        if corrected is not None and corrected.referral_id is None:
            at = as_utc(corrected.admitted_at)
            if not _move(session, placement, "arrived", arrived_at=at):
                continue
            corrected.referral_id = referral.id
            corrected.risk_profile = referral.risk_profile
            session.add(corrected)
            referral.placed_at = at
            save_referral(session=session, referral=referral, actor=principal.label, change="arrival_corrected")
            _announce(session, placement, principal, "arrival_corrected")
            continue
        reason = "De opname is ingetrokken door het systeem van de aanbieder."
        if not _move(
            session,
            placement,
            "arrived",
            status="cancelled",
            arrived_at=None,
            end_reason=reason,
            ended_by=principal.label,
        ):
            continue
        _free_place(
            session,
            principal,
            placement,
            stale_after_hours,
            action="placement.arrival_withdrawn",
            purpose=Purpose.placement_no_show,
            change="cancelled",
            reason=reason,
        )
        referral.status = ReferralStatus.waiting
        referral.placed_group_id = None
        referral.placed_at = None
        save_referral(session=session, referral=referral, actor=principal.label, change="arrival_withdrawn")


_STAYS = OccupancyStay.__table__  # type: ignore[attr-defined]
_EVENTS = OccupancyEvent.__table__  # type: ignore[attr-defined]
# The stay an admission event made gets the risk profile the event carried (one statement for
# the batch, executemany). A stay of a placement keeps its referral's profile.
_SET_RISK = (
    update(_STAYS)
    .where(
        _STAYS.c.admission_event
        == select(_EVENTS.c.id)
        .where(_EVENTS.c.provider_id == bindparam("b_provider"), _EVENTS.c.event_id == bindparam("b_event"))
        .scalar_subquery(),
        _STAYS.c.referral_id.is_(None),
    )
    .values(risk_profile=bindparam("b_risk"))
)


def _note_risk_profiles(session: Session, admissions: Sequence[OccupancyEventIn]) -> None:
    if not admissions:
        return
    group_ids = sorted({e.group_id for e in admissions})
    provider_of: dict[int, int] = {}
    for start in range(0, len(group_ids), 500):
        provider_of.update(
            (int(g or 0), int(p))
            for g, p in session.exec(
                select(Group.id, Group.provider_id).where(col(Group.id).in_(group_ids[start : start + 500]))
            ).all()
        )
    session.connection().execute(
        _SET_RISK,
        [
            {"b_provider": provider_of[e.group_id], "b_event": e.event_id, "b_risk": e.risk_profile}
            for e in admissions
            if e.group_id in provider_of
        ],
    )


def _open_stay_of(session: Session, group_id: int, stay_reference: str) -> OccupancyStay | None:
    return session.exec(
        select(OccupancyStay).where(
            OccupancyStay.group_id == group_id,
            OccupancyStay.stay_reference == stay_reference,
            col(OccupancyStay.discharged_at).is_(None),
        )
    ).first()


def _feed_admission(
    session: Session, principal: Principal, item: OccupancyEventIn, *, at: datetime, stale_after_hours: float
) -> None:
    stay = _open_stay_of(session, item.group_id, item.stay_reference or "")
    if stay is None:
        return
    placement = session.exec(
        select(Placement).where(
            Placement.group_id == item.group_id,
            Placement.stay_reference == item.stay_reference,
            Placement.status == "accepted",
        )
    ).first()
    if placement is None:
        return
    referral = _lock_referral(session, placement.referral_id)
    if open_stay(session, referral.id) is not None:  # type: ignore[arg-type]
        log.warning("feed admission %s not linked: referral %s already has an open stay", stay.id, referral.id)
        return
    if not _move(session, placement, "accepted", status="arrived", arrived_at=at):
        return
    stay.referral_id = referral.id
    stay.risk_profile = referral.risk_profile
    session.add(stay)
    session.flush()
    _start_care(session, principal, placement, referral, at=at, stale_after_hours=stale_after_hours, admit=False)
    _announce(session, placement, principal, "arrived")


def _feed_discharge(
    session: Session, principal: Principal, item: OccupancyEventIn, *, at: datetime, stale_after_hours: float
) -> None:
    placement = session.exec(
        select(Placement).where(
            Placement.group_id == item.group_id,
            Placement.stay_reference == item.stay_reference,
            Placement.status == "arrived",
        )
    ).first()
    if placement is None:
        return
    referral = _lock_referral(session, placement.referral_id)
    if _open_stay_of(session, item.group_id, item.stay_reference or "") is not None:
        return  # a later stay under the same reference is still open: not this placement's end
    destination = item.destination or "unknown"
    if not _move(session, placement, "arrived", status="discharged", discharged_at=at, destination=destination):
        return
    _free_place(session, principal, placement, stale_after_hours, destination=destination)
    _end_referral(session, referral, at=at, destination=destination, actor=principal.label)
