"""What each event says, in Dutch, and to whom: one function per trigger, called in one line from
the domain that makes the change (in its transaction), plus the periodic scan for situations that
arise with time (a proposal about to expire, a stale figure, an arrival that did not happen, a
youth waiting long, a re-assessment without a decision).

Texts name groups, proposals, placements and referral numbers, never a youth's reference: a
notification travels by e-mail and to other systems, and is no youth record.

The domain objects are taken as they are (duck typing), so that this module imports none of the
domains that call it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from backend.db import Database
from backend.domain import as_utc, utcnow
from backend.notifications.service import LOCAL, notify, sign_link


def _local(moment: datetime | None) -> str:
    moment = as_utc(moment)
    if moment is None:
        return "onbekend"
    return moment.astimezone(LOCAL).strftime("%d-%m-%Y %H:%M")


def _iso(moment: datetime | None) -> str | None:
    moment = as_utc(moment)
    return moment.isoformat() if moment else None


def hold_created(session: Session, hold: Any, group: Any) -> None:
    notify(
        session=session,
        trigger="hold_created",
        about=f"hold:{hold.id}",
        subject=f"Crisisplaatsing: plaats vastgehouden op {group.name}",
        body=(
            f"Het crisisteam houdt een plaats vast op {group.name} (crisisplaatsing {hold.id}) "
            f"tot {_local(hold.expires_at)}. De jongere kan komen; bevestig of wijs af in plekwijzer."
        ),
        provider_id=group.provider_id,
        region_id=group.region_id,
        group_id=group.id,
        payload={"hold_id": hold.id, "group_id": group.id, "expires_at": _iso(hold.expires_at)},
    )


def proposal_new(session: Session, proposal: Any, group: Any) -> None:
    notify(
        session=session,
        trigger="proposal_new",
        about=f"proposal:{proposal.id}",
        subject=f"Nieuw plaatsingsvoorstel voor {group.name}",
        body=(
            f"Plaatsingsvoorstel {proposal.id} voor {group.name} wacht op uw antwoord; "
            f"het verloopt op {_local(proposal.expires_at)}."
        ),
        provider_id=group.provider_id,
        region_id=proposal.region_id,
        group_id=group.id,
        payload={"proposal_id": proposal.id, "group_id": group.id, "expires_at": _iso(proposal.expires_at)},
    )


_ANSWERS = {
    "proposal_declined": "is afgewezen door de aanbieder",
    "proposal_expired": "is verlopen zonder antwoord",
    "proposal_accepted": "is aanvaard; de jongere wordt verwacht",
}


def proposal_answered(session: Session, proposal: Any, trigger: str) -> None:
    """Declined, expired or accepted: to the region's coordinators."""
    notify(
        session=session,
        trigger=trigger,
        about=f"proposal:{proposal.id}",
        subject=f"Plaatsingsvoorstel {proposal.id} {_ANSWERS[trigger].split(';')[0]}",
        body=f"Plaatsingsvoorstel {proposal.id} (verwijzing {proposal.referral_id}) {_ANSWERS[trigger]}.",
        region_id=proposal.region_id,
        group_id=proposal.group_id,
        payload={"proposal_id": proposal.id, "referral_id": proposal.referral_id, "group_id": proposal.group_id},
    )


def placement_fell_through(session: Session, placement: Any, kind: str) -> None:
    what = "niet gekomen" if kind == "no_show" else "geannuleerd"
    notify(
        session=session,
        trigger="placement_fell_through",
        about=f"placement:{placement.id}",
        subject=f"Plaatsing {placement.id} gaat niet door ({what})",
        body=(f"De aanvaarde plaatsing {placement.id} (verwijzing {placement.referral_id}) gaat niet door: {what}."),
        region_id=placement.region_id,
        group_id=placement.group_id,
        payload={"placement_id": placement.id, "referral_id": placement.referral_id, "kind": kind},
    )


def register_imported(session: Session, *, region_id: int, changes: int) -> None:
    """The contract register was read in: the region's coordinators hear it is done."""
    now = utcnow()
    notify(
        session=session,
        trigger="import_finished",
        about=f"register:{region_id}:{now.timestamp():.6f}",
        subject="Import klaar: contractregister",
        body=f"Het contractregister is ingelezen op {_local(now)}: {changes} wijzigingen.",
        region_id=region_id,
        payload={"what": "register", "changes": changes},
    )


# --- the periodic scan --------------------------------------------------------------------------


def scan(db: Database) -> int:
    """Find the situations that arise with time and notify each once (the outbox keys make a
    repeat write nothing). Each kind in its own transaction: one failing kind stops no other."""
    written = 0
    for step in (_expiring, _stale, _arrivals, _waiting, _reassessments):
        with db.transaction() as session:
            written += step(session, db)
    return written


def _settings_by_region(session: Session) -> dict[int, Any]:
    from backend.regions.models import Region
    from backend.regions.settings import load_settings

    return {r.id: load_settings(r.settings)[0] for r in session.exec(select(Region))}  # type: ignore[misc]


def _expiring(session: Session, db: Database) -> int:
    from backend.proposals.models import Proposal
    from backend.providers.models import Group

    regions = _settings_by_region(session)
    now = utcnow()
    longest = max((s.proposal_expiring_hours for s in regions.values()), default=0.0)
    rows = session.exec(
        select(Proposal, Group)
        .join(Group, col(Group.id) == col(Proposal.group_id))
        .where(Proposal.status == "open", col(Proposal.expires_at) <= now + timedelta(hours=longest))
    )
    written = 0
    for proposal, group in rows:
        hours = regions[proposal.region_id].proposal_expiring_hours
        expires = as_utc(proposal.expires_at)
        if expires is None or expires > now + timedelta(hours=hours) or expires <= now:
            continue
        written += notify(
            session=session,
            trigger="proposal_expiring",
            about=f"proposal:{proposal.id}",
            subject=f"Plaatsingsvoorstel {proposal.id} verloopt binnenkort",
            body=(
                f"Plaatsingsvoorstel {proposal.id} voor {group.name} verloopt op {_local(proposal.expires_at)}. "
                "Zonder antwoord gaat de plaats naar de volgende jongere."
            ),
            provider_id=group.provider_id,
            region_id=proposal.region_id,
            group_id=group.id,
            payload={"proposal_id": proposal.id, "expires_at": _iso(expires)},
        )
    return written


def _stale(session: Session, db: Database) -> int:
    from backend.providers.models import Group, Provider

    regions = _settings_by_region(session)
    now = utcnow()
    shortest = min((s.stale_notice_hours for s in regions.values()), default=20.0)
    rows = session.exec(
        select(Group, Provider)
        .join(Provider, col(Provider.id) == col(Group.provider_id))
        .where(
            col(Group.places_from_feed).is_(False),
            col(Group.reported_at).is_not(None),
            col(Group.reported_at) < now - timedelta(hours=shortest),
        )
    )
    written = 0
    for group, provider in rows:
        hours = regions[group.region_id].stale_notice_hours
        reported = as_utc(group.reported_at)
        if reported is None or reported >= now - timedelta(hours=hours):
            continue
        link = f"{db.settings.public_url.rstrip('/')}/api/v1/figure-confirmations?token=" + sign_link(
            db.settings, group_id=group.id or 0, version=group.version, now=now
        )
        written += notify(
            session=session,
            trigger="stale_figure",
            # One notice per figure: a new report makes a new version, and a later notice.
            about=f"group:{group.id}:v{group.version}",
            subject=f"Werk de plaatsen van {group.name} bij",
            body=(
                f"De vrije plaatsen van {group.name} ({group.free_places} vrij) zijn sinds "
                f"{_local(reported)} niet bijgewerkt. Is er niets veranderd? Bevestig het met één klik "
                f"(24 uur geldig): {link}"
            ),
            provider_id=provider.id,
            region_id=group.region_id,
            group_id=group.id,
            payload={"group_id": group.id, "reported_at": reported.isoformat()},
            extra_emails=[("provider", provider.contact_email)] if provider.contact_email else (),
        )
    return written


def _arrivals(session: Session, db: Database) -> int:
    from backend.placements.models import Placement

    today = utcnow().astimezone(LOCAL).date()
    written = 0
    for placement in session.exec(
        select(Placement).where(Placement.status == "accepted", col(Placement.expected_arrival) < today)
    ):
        written += notify(
            session=session,
            trigger="arrival_missed",
            about=f"placement:{placement.id}:{placement.expected_arrival.isoformat()}",
            subject=f"Plaatsing {placement.id}: verwachte aankomst niet gemeld",
            body=(
                f"De jongere van plaatsing {placement.id} (verwijzing {placement.referral_id}) werd op "
                f"{placement.expected_arrival.strftime('%d-%m-%Y')} verwacht; er is geen aankomst gemeld."
            ),
            region_id=placement.region_id,
            group_id=placement.group_id,
            payload={"placement_id": placement.id, "expected_arrival": placement.expected_arrival.isoformat()},
        )
    return written


def _waiting(session: Session, db: Database) -> int:
    from backend.referrals.models import Referral

    regions = _settings_by_region(session)
    now = utcnow()
    shortest = min((s.waiting_notice_days for s in regions.values()), default=14.0)
    written = 0
    for referral in session.exec(
        select(Referral).where(
            Referral.status == "waiting", col(Referral.waiting_since) < now - timedelta(days=shortest)
        )
    ):
        days = regions[referral.region_id].waiting_notice_days
        since = as_utc(referral.waiting_since) or now
        if since >= now - timedelta(days=days):
            continue
        written += notify(
            session=session,
            trigger="youth_waiting",
            about=f"referral:{referral.id}:{since.date().isoformat()}",
            subject=f"Verwijzing {referral.id} wacht al lang zonder voorstel",
            body=(
                f"Verwijzing {referral.id} wacht sinds {_local(since)} "
                f"({(now - since).days} dagen) zonder plaatsingsvoorstel."
            ),
            region_id=referral.region_id,
            payload={"referral_id": referral.id, "waiting_since": since.isoformat()},
        )
    return written


def _reassessments(session: Session, db: Database) -> int:
    from backend.intensity.models import IntensityReassessment
    from backend.providers.models import Group

    written = 0
    for item, group in session.exec(
        select(IntensityReassessment, Group)
        .join(Group, col(Group.id) == col(IntensityReassessment.group_id))
        .where(IntensityReassessment.status == "open")
    ):
        written += notify(
            session=session,
            trigger="reassessment_waiting",
            about=f"reassessment:{item.id}",
            subject=f"Herindicatie van {group.name} wacht op een besluit",
            body=(
                f"{group.name} vraagt intensiteit {item.intensity_after} (nu {item.intensity_before}), "
                f"aangevraagd op {_local(item.created_at)}. Neem een besluit onder Intensiteit."
            ),
            region_id=group.region_id,
            group_id=group.id,
            payload={"reassessment_id": item.id, "group_id": group.id},
        )
    return written
