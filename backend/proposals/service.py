"""Placement proposals: claiming a place, accept, decline, expiry, and what providers see.

Every place a proposal holds is claimed with one conditional UPDATE on the group row, so a batch
run, a single proposal and a crisis hold racing for the last bed can never together hold more
than is free (the database CHECK held_places <= free_places is the last line of defence).
Status changes of a proposal are conditional UPDATEs as well (``WHERE status = 'open'``), so an
accept racing an expiry or a second accept has exactly one winner on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlmodel import Session, col, select

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal, ensure_provider_in_scope
from backend.availability import service as places
from backend.availability.service import Notice
from backend.db import Database
from backend.domain import NEED_TAGS, as_utc, utcnow
from backend.errors import Conflict, Forbidden, NotFound, RuleViolation
from backend.events.service import append_event
from backend.notifications import triggers as notification_triggers
from backend.placements import service as placements
from backend.placements.models import Placement
from backend.proposals.models import (
    DECLINE_REASONS,
    PROPOSAL_STATUS_LABELS,
    DeclineRequest,
    NeedProfile,
    Proposal,
    ProposalPublic,
)
from backend.providers.models import Group, Provider
from backend.referrals.models import STATUS_LABELS, Referral, ReferralStatus
from backend.referrals.service import age_on, load_referral, save_referral
from backend.regions.models import Municipality, Region
from backend.regions.settings import load_settings, region_settings

SYSTEM = Principal(kind="system", id=0, name="plekwijzer", role="system", provider_id=None)

PROPOSAL_CREATED = "proposal.created"
PROPOSAL_ACCEPTED = "proposal.accepted"
PROPOSAL_DECLINED = "proposal.declined"
PROPOSAL_EXPIRED = "proposal.expired"
PROPOSAL_WITHDRAWN = "proposal.withdrawn"


def _set_status(session: Session, proposal: Proposal, status: str, **values: Any) -> bool:
    """Move an open proposal to ``status``; False when someone else moved it first."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Proposal)
            .where(Proposal.id == proposal.id, Proposal.status == "open")  # type: ignore[arg-type]
            .values(status=status, **values)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        return False
    session.refresh(proposal)
    return True


# --- creating -----------------------------------------------------------------------------------


def create_proposal(
    *,
    session: Session,
    referral: Referral,
    group_id: int,
    actor: Principal,
    expiry_hours: float,
    stale_after_hours: float,
    score: float | None = None,
    components: dict[str, float] | None = None,
    distance_km: float | None = None,
    run_id: int | None = None,
) -> Proposal:
    """Claim a place and send the proposal. Raises Conflict when the place was just taken."""
    if referral.status != ReferralStatus.waiting:
        raise Conflict(
            "Voor deze jongere loopt al een voorstel, of zij is niet meer wachtend.", code="referral_not_waiting"
        )
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound("Groep niet gevonden.")
    now = utcnow()
    proposal = Proposal(
        referral_id=referral.id,  # type: ignore[arg-type]
        group_id=group_id,
        provider_id=group.provider_id,
        region_id=referral.region_id,
        run_id=run_id,
        score=score,
        components=components or {},
        distance_km=distance_km,
        status="open",
        created_at=now,
        created_by=actor.label,
        expires_at=now + timedelta(hours=expiry_hours),
    )
    session.add(proposal)
    session.flush()
    if (
        places.claim(
            session=session,
            group_id=group_id,
            stale_after_hours=stale_after_hours,
            notice=Notice(
                PROPOSAL_CREATED,
                actor,
                "proposal.create",
                "referral",
                referral.id or 0,
                Purpose.proposal_send,
                detail={"proposal_id": proposal.id, "group_id": group_id, "run_id": run_id},
                extra={"proposal_id": proposal.id},
            ),
        )
        is None
    ):
        raise Conflict(
            "Deze plek is net vergeven: de groep heeft geen vrije plek meer "
            "(vrije plaatsen min vastgehouden plaatsen). Kies een andere optie.",
            code="place_taken",
        )
    referral.status = ReferralStatus.proposed
    save_referral(session=session, referral=referral, actor=actor.label, change="proposed")
    notification_triggers.proposal_new(session, proposal, group)
    return proposal


# --- reading ------------------------------------------------------------------------------------


def _visible(principal: Principal, proposal: Proposal) -> bool:
    if principal.role == "provider":
        return proposal.provider_id == principal.provider_id
    if principal.role in ("coordinator", "admin"):
        return principal.may_see_region(proposal.region_id)
    return False


def load_proposal(*, session: Session, principal: Principal, proposal_id: int) -> Proposal:
    if principal.role not in ("provider", "coordinator", "admin"):
        raise Forbidden("U heeft geen rechten voor deze handeling.", code="role_forbidden")
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or not _visible(principal, proposal):
        # 404 for another provider's proposal: nobody learns it exists.
        raise NotFound("Plaatsingsvoorstel niet gevonden.")
    return proposal


def decline_label(session: Session, proposal: Proposal) -> str | None:
    """The label of the reason in the region's list (retired ones too), read leniently: a broken
    setting elsewhere in the region must not hide a proposal."""
    code = proposal.decline_reason
    if not code:
        return None
    region = session.get(Region, proposal.region_id)
    settings, _problems = load_settings(region.settings if region else None)
    return settings.decline_labels().get(code, DECLINE_REASONS.get(code))


def decline_reasons_for(*, session: Session, principal: Principal) -> dict[str, str]:
    """The reasons the caller's region offers now (code -> label): the region of the user, or
    of the provider behind an API key; the default list for a caller bound to no region."""
    region_id = principal.region_id
    if region_id is None and principal.provider_id is not None:
        provider = session.get(Provider, principal.provider_id)
        region_id = provider.region_id if provider else None
    region = session.get(Region, region_id) if region_id is not None else None
    settings, _problems = load_settings(region.settings if region else None)
    return settings.active_decline_reasons()


def _check_reason(session: Session, proposal: Proposal, reason: str) -> None:
    """The reason must be one the proposal's region offers now (not retired)."""
    settings = region_settings(session.get(Region, proposal.region_id))
    offered = settings.active_decline_reasons()
    if reason in offered:
        return
    choose = ", ".join(offered)
    if reason in settings.decline_labels():
        raise RuleViolation(
            f"De reden '{reason}' is vervallen; de reden moet een van deze zijn: {choose}.",
            code="decline_reason_retired",
        )
    raise RuleViolation(f"De reden moet een van deze zijn: {choose}.", code="decline_reason_unknown")


def _person(label: str | None) -> str | None:
    """The name in an actor label ("user:12:coordinator_twente" -> "coordinator_twente"); the
    system that expires proposals is nobody."""
    if not label:
        return None
    kind, _id, name = [*label.split(":", 2), "", ""][:3]
    return None if kind == "system" else name or label


def _coordinator_contact(session: Session, proposal: Proposal) -> str | None:
    region = session.get(Region, proposal.region_id)
    settings, _problems = load_settings(region.settings if region else None)
    return settings.coordinator_contact


def to_public(session: Session, principal: Principal, proposal: Proposal) -> ProposalPublic:
    referral = session.get(Referral, proposal.referral_id)
    group = session.get(Group, proposal.group_id)
    assert referral is not None
    municipality = session.get(Municipality, referral.home_municipality_id) if referral.home_municipality_id else None
    siblings = 0
    if referral.sibling_set and proposal.status == "open":
        siblings = len(
            session.exec(
                select(Proposal.id)
                .join(Referral, col(Referral.id) == Proposal.referral_id)
                .where(
                    Referral.sibling_set == referral.sibling_set,
                    Referral.region_id == referral.region_id,
                    Proposal.status == "open",
                    Proposal.provider_id == proposal.provider_id,
                    Proposal.referral_id != referral.id,
                )
            ).all()
        )
    profile = NeedProfile(
        age=age_on(referral.birth_year, referral.birth_month),
        gender=referral.gender,
        required_intensity=referral.required_intensity,
        risk_profile=referral.risk_profile,
        needs=list(referral.needs),
        need_labels=[NEED_TAGS.get(t, t) for t in referral.needs],
        urgency=referral.urgency,
        secure_authorisation=referral.secure_authorisation,
        home_municipality=municipality.name if municipality else None,
        siblings_in_proposal=siblings,
    )
    coordinator = principal.role in ("coordinator", "admin")
    created_at = as_utc(proposal.created_at)
    expires_at = as_utc(proposal.expires_at)
    assert created_at is not None and expires_at is not None
    return ProposalPublic(
        id=proposal.id,  # type: ignore[arg-type]
        group_id=proposal.group_id,
        group_name=group.name if group else None,
        provider_id=proposal.provider_id,
        care_form=group.care_form if group else None,
        group_intensity=group.intensity if group else None,
        status=proposal.status,
        status_label=PROPOSAL_STATUS_LABELS.get(proposal.status, proposal.status),
        score=proposal.score,
        components=proposal.components or {},
        distance_km=proposal.distance_km,
        created_at=created_at,
        expires_at=expires_at,
        answered_at=as_utc(proposal.answered_at),
        decline_reason=proposal.decline_reason,
        decline_label=decline_label(session, proposal),
        decline_text=proposal.decline_text,
        run_id=proposal.run_id,
        profile=profile,
        proposed_by=_person(proposal.created_by),
        coordinator_contact=_coordinator_contact(session, proposal),
        answered_by=_person(proposal.answered_by),
        referral_id=referral.id if coordinator else None,
        reference=referral.reference if coordinator else None,
        **_placement_fields(session, proposal),
    )


def _placement_fields(session: Session, proposal: Proposal) -> dict[str, Any]:
    """An accepted proposal shows the placement it started (its stay reference is what the
    provider's own system should use for the admission)."""
    if proposal.status != "accepted":
        return {}
    placement = session.exec(select(Placement).where(Placement.proposal_id == proposal.id)).first()
    if placement is None:
        return {}  # accepted before placements existed
    return {
        "placement_id": placement.id,
        "placement_status": placement.status,
        "expected_arrival": placement.expected_arrival,
        "stay_reference": placement.stay_reference,
    }


def read_proposal(*, session: Session, principal: Principal, proposal_id: int) -> ProposalPublic:
    proposal = load_proposal(session=session, principal=principal, proposal_id=proposal_id)
    audit.record(
        session=session,
        actor=principal,
        action="proposal.read",
        object_type="referral",
        object_id=proposal.referral_id,
        purpose=Purpose.proposal_review,
        detail={"proposal_id": proposal_id},
        region_id=proposal.region_id,
    )
    return to_public(session, principal, proposal)


def list_proposals(
    *, session: Session, principal: Principal, status: str | None, provider_id: int | None = None
) -> list[ProposalPublic]:
    """Newest first. ``provider_id``: one provider's proposals only (the administrator acting
    for one provider sees that provider's, not every provider's)."""
    if principal.role not in ("provider", "coordinator", "admin"):
        raise Forbidden("U heeft geen rechten voor deze handeling.", code="role_forbidden")
    query = select(Proposal).order_by(col(Proposal.created_at).desc(), col(Proposal.id).desc())
    if principal.role == "provider":
        query = query.where(Proposal.provider_id == principal.provider_id)
    elif principal.region_scope is not None:
        query = query.where(Proposal.region_id == principal.region_scope)
    if provider_id is not None:
        ensure_provider_in_scope(session, principal, provider_id)
        query = query.where(Proposal.provider_id == provider_id)
    if status is not None:
        if status not in PROPOSAL_STATUS_LABELS:
            raise RuleViolation(f"Onbekende status '{status}' (kies uit {', '.join(PROPOSAL_STATUS_LABELS)}).")
        query = query.where(Proposal.status == status)
    rows = list(session.exec(query.limit(1000)).all())
    audit.record(
        session=session,
        actor=principal,
        action="proposal.list",
        object_type="referral",
        object_id="*",
        purpose=Purpose.proposal_review,
        detail={"referral_ids": sorted({p.referral_id for p in rows})[:500]},
        youth=audit.referrals(sorted({p.referral_id for p in rows})),
    )
    return [to_public(session, principal, p) for p in rows]


# --- answering ----------------------------------------------------------------------------------


def _may_answer(principal: Principal, proposal: Proposal) -> None:
    if principal.role not in ("provider", "admin"):
        raise Forbidden("Alleen de zorgaanbieder beantwoordt een plaatsingsvoorstel.", code="role_forbidden")


def _lock_referral(session: Session, referral_id: int) -> Referral:
    # Locks are always taken referral first, then proposal, then group (as in proposing, sending
    # a run and withdrawing), so two of these never wait on each other in a cycle.
    return session.exec(
        select(Referral).where(Referral.id == referral_id).with_for_update().execution_options(populate_existing=True)
    ).one()


def _closed_message(proposal: Proposal) -> str:
    label = PROPOSAL_STATUS_LABELS.get(proposal.status, proposal.status).lower()
    return f"Dit plaatsingsvoorstel is al {label} en kan niet meer worden beantwoord."


def accept(
    *,
    session: Session,
    principal: Principal,
    proposal_id: int,
    stale_after_hours: float,
    expected_arrival: date | None = None,
) -> Proposal:
    """Accept: the youth is expected on ``expected_arrival`` (default today) and the place the
    proposal held stays held for them. No admission yet: that is the arrival
    (``backend/placements``), when care really starts."""
    proposal = load_proposal(session=session, principal=principal, proposal_id=proposal_id)
    _may_answer(principal, proposal)
    if expected_arrival is not None:
        placements.check_expected(expected_arrival)
    now = utcnow()
    expires_at = as_utc(proposal.expires_at)
    if proposal.status == "open" and expires_at is not None and expires_at <= now:
        raise Conflict(
            "Dit plaatsingsvoorstel is verlopen; de coördinator kan een nieuw voorstel sturen.", code="proposal_expired"
        )
    referral = _lock_referral(session, proposal.referral_id)
    if not _set_status(session, proposal, "accepted", answered_at=now, answered_by=principal.label):
        session.refresh(proposal)
        raise Conflict(_closed_message(proposal), code="proposal_closed")
    group = session.get(Group, proposal.group_id)
    assert group is not None
    placement = placements.start_from_proposal(
        session=session,
        principal=principal,
        referral=referral,
        proposal_id=proposal.id,  # type: ignore[arg-type]
        group=group,
        expected_arrival=expected_arrival,
    )
    audit.record(
        session=session,
        actor=principal,
        action="proposal.accept",
        object_type="referral",
        object_id=referral.id or 0,
        purpose=Purpose.proposal_accept,
        detail={
            "proposal_id": proposal.id,
            "group_id": proposal.group_id,
            "placement_id": placement.id,
            "expected_arrival": placement.expected_arrival.isoformat(),
        },
    )
    append_event(
        session=session,
        type=PROPOSAL_ACCEPTED,
        payload={"proposal_id": proposal.id, "placement_id": placement.id, "group_id": proposal.group_id},
        group_id=proposal.group_id,
        provider_id=proposal.provider_id,
        region_id=proposal.region_id,
        actor=principal.label,
    )
    notification_triggers.proposal_answered(session, proposal, "proposal_accepted")
    return proposal


def decline(
    *, session: Session, principal: Principal, proposal_id: int, data: DeclineRequest, stale_after_hours: float
) -> Proposal:
    proposal = load_proposal(session=session, principal=principal, proposal_id=proposal_id)
    _may_answer(principal, proposal)
    _check_reason(session, proposal, data.reason)
    now = utcnow()
    expires_at = as_utc(proposal.expires_at)
    if proposal.status == "open" and expires_at is not None and expires_at <= now:
        raise Conflict("Dit plaatsingsvoorstel is al verlopen; de plek is weer vrijgegeven.", code="proposal_expired")
    _lock_referral(session, proposal.referral_id)
    if not _set_status(
        session,
        proposal,
        "declined",
        answered_at=now,
        answered_by=principal.label,
        decline_reason=data.reason,
        decline_text=data.text,
    ):
        session.refresh(proposal)
        raise Conflict(_closed_message(proposal), code="proposal_closed")
    _back_to_waiting(
        session=session,
        proposal=proposal,
        stale_after_hours=stale_after_hours,
        exclude_group=True,
        notice=Notice(
            PROPOSAL_DECLINED,
            principal,
            "proposal.decline",
            "referral",
            proposal.referral_id,
            Purpose.proposal_decline,
            detail={"proposal_id": proposal.id, "reason": data.reason, "text": data.text},
            extra={"proposal_id": proposal.id},
        ),
    )
    notification_triggers.proposal_answered(session, proposal, "proposal_declined")
    return proposal


def _back_to_waiting(
    *, session: Session, proposal: Proposal, stale_after_hours: float, exclude_group: bool, notice: Notice
) -> None:
    """Give the held place back and put the youth on the waiting list again."""
    referral = _lock_referral(session, proposal.referral_id)
    places.release(session=session, group_id=proposal.group_id, notice=notice, stale_after_hours=stale_after_hours)
    if referral.status == ReferralStatus.proposed:
        referral.status = ReferralStatus.waiting
    if exclude_group and proposal.group_id not in referral.excluded_group_ids:
        # A group that said no is not proposed again (the coordinator can undo this).
        referral.excluded_group_ids = sorted([*referral.excluded_group_ids, proposal.group_id])
    save_referral(session=session, referral=referral, actor=notice.actor.label, change=notice.event_type.split(".")[-1])


def withdraw_open_proposals(*, session: Session, referral: Referral, actor: Principal, stale_after_hours: float) -> int:
    """When a referral is withdrawn, its open proposals end and their places are released."""
    count = 0
    for proposal in session.exec(
        select(Proposal).where(Proposal.referral_id == referral.id, Proposal.status == "open")
    ).all():
        if _set_status(session, proposal, "withdrawn", answered_at=utcnow(), answered_by=actor.label):
            places.release(
                session=session,
                group_id=proposal.group_id,
                stale_after_hours=stale_after_hours,
                notice=Notice(
                    PROPOSAL_WITHDRAWN,
                    actor,
                    "proposal.withdraw",
                    "proposal",
                    proposal.id or 0,
                    Purpose.referral_withdrawal,
                    detail={"group_id": proposal.group_id},
                    extra={"proposal_id": proposal.id},
                    youth=tuple(audit.referrals([referral.id])),
                ),
            )
            count += 1
    return count


def withdraw_referral(
    *, session: Session, principal: Principal, referral_id: int, reason: str, stale_after_hours: float
) -> Referral:
    referral = load_referral(session=session, principal=principal, referral_id=referral_id, for_update=True)
    if referral.status == ReferralStatus.accepted:
        raise Conflict(
            "Deze jongere wordt verwacht in een groep; meld bij de plaatsing eerst 'Gaat niet door'.",
            code="referral_expected",
        )
    if referral.status in (ReferralStatus.placed, ReferralStatus.discharged, ReferralStatus.withdrawn):
        raise Conflict(f"Deze verwijzing is al {STATUS_LABELS[referral.status].lower()}.", code="referral_closed")
    if referral.status == ReferralStatus.proposed:
        # An open proposal holds a place for this youth; give it back.
        withdraw_open_proposals(
            session=session, referral=referral, actor=principal, stale_after_hours=stale_after_hours
        )
    referral.status = ReferralStatus.withdrawn
    save_referral(session=session, referral=referral, actor=principal.label, change="withdrawn")
    audit.record(
        session=session,
        actor=principal,
        action="referral.withdraw",
        object_type="referral",
        object_id=referral_id,
        purpose=Purpose.referral_withdrawal,
        detail={"reason": reason},
        region_id=referral.region_id,
    )
    return referral


# --- expiry -------------------------------------------------------------------------------------


def expire_due(
    *, session: Session, stale_after_hours: float, proposal_ids: list[int] | None = None, now: Any = None
) -> list[int]:
    """Expire open proposals past their deadline: place released, youth waiting again."""
    now = now or utcnow()
    query = select(Proposal).where(Proposal.status == "open", Proposal.expires_at <= now)
    if proposal_ids is not None:
        query = query.where(col(Proposal.id).in_(proposal_ids))
    # Every API replica runs this task. No row lock here: the referral is locked first (the
    # lock order everywhere is referral -> proposal -> group, so no deadlocks), and the
    # conditional status change lets exactly one replica expire each proposal.
    due = session.exec(query.order_by(col(Proposal.id)).limit(500)).all()
    expired: list[int] = []
    for proposal in due:
        _lock_referral(session, proposal.referral_id)
        if not _set_status(session, proposal, "expired", answered_at=now):
            continue
        _back_to_waiting(
            session=session,
            proposal=proposal,
            stale_after_hours=stale_after_hours,
            exclude_group=False,
            notice=Notice(
                PROPOSAL_EXPIRED,
                SYSTEM,
                "proposal.expire",
                "referral",
                proposal.referral_id,
                Purpose.proposal_expiry,
                detail={"proposal_id": proposal.id, "group_id": proposal.group_id},
                extra={"proposal_id": proposal.id},
            ),
        )
        notification_triggers.proposal_answered(session, proposal, "proposal_expired")
        assert proposal.id is not None
        expired.append(proposal.id)
    return expired


def expire_proposals(db: Database, proposal_ids: list[int] | None = None) -> list[int]:
    """The periodic task (and the lazy expiry before a proposal is touched)."""
    with db.transaction() as session:
        return expire_due(session=session, stale_after_hours=db.settings.stale_after_hours, proposal_ids=proposal_ids)
