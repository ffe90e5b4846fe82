"""A referral's history in time order: every proposal, decline (with its reason), expiry, crisis
hold, arrival, placement and discharge, and the referral's own intake, changes and withdrawal,
each with who and when.

Read from the tables that own these facts (proposals, holds, placements) and, for what only the
audit log keeps (who entered or changed a referral, the reason of a withdrawal), from the audit
rows about this referral. Nothing is stored twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from backend.audit import service as audit
from backend.audit.models import AuditEntry
from backend.audit.purposes import Purpose
from backend.auth import Principal
from backend.crisis.models import Hold
from backend.domain import as_utc
from backend.placements.models import DESTINATIONS, Placement
from backend.proposals.models import Proposal
from backend.proposals.service import decline_label
from backend.providers.models import Group, Provider
from backend.referrals.service import load_referral

_REFERRAL_ACTIONS = ("referral.create", "referral.update", "referral.withdraw")


def who(label: str | None) -> str:
    """A person's name from an actor label ("user:12:alice"); a provider's system by name."""
    if not label:
        return "onbekend"
    kind, _sep, rest = label.partition(":")
    if kind == "user":
        return rest.partition(":")[2] or rest
    if kind in ("api_key", "api-key"):
        return "systeem van de aanbieder"
    if kind == "provider":
        return "de aanbieder"
    return "plekwijzer" if kind == "system" else label


def _item(at: datetime | None, kind: str, title: str, by: str | None, **extra: Any) -> dict[str, Any] | None:
    if at is None:
        return None
    return {"at": as_utc(at).isoformat(), "kind": kind, "title": title, "who": who(by), **extra}  # type: ignore[union-attr]


def timeline(*, session: Session, principal: Principal, referral_id: int) -> dict[str, Any]:
    referral = load_referral(session=session, principal=principal, referral_id=referral_id)
    groups: dict[int, tuple[str, str]] = {}

    def place(group_id: int) -> dict[str, Any]:
        if group_id not in groups:
            row = session.execute(
                select(Group.name, Provider.name)
                .join(Provider, col(Provider.id) == col(Group.provider_id))
                .where(col(Group.id) == group_id)
            ).first()
            groups[group_id] = (row[0], row[1]) if row else (f"groep {group_id}", "")
        name, provider = groups[group_id]
        return {"group_id": group_id, "group_name": name, "provider_name": provider}

    items: list[dict[str, Any] | None] = []
    for row in session.exec(
        select(AuditEntry)
        .where(
            AuditEntry.object_type == "referral",
            AuditEntry.object_id == str(referral_id),
            col(AuditEntry.action).in_(_REFERRAL_ACTIONS),
        )
        .order_by(col(AuditEntry.id))
    ).all():
        if row.action == "referral.create":
            items.append(_item(row.at, "created", "Verwijzing ingevoerd", row.actor))
        elif row.action == "referral.update":
            items.append(_item(row.at, "updated", "Verwijzing gewijzigd", row.actor))
        else:
            reason = (row.detail or {}).get("reason")
            items.append(_item(row.at, "withdrawn", "Verwijzing ingetrokken", row.actor, reason=reason))
    for p in session.exec(select(Proposal).where(Proposal.referral_id == referral_id)).all():
        where = place(p.group_id)
        items.append(_item(p.created_at, "proposal", "Voorstel verstuurd", p.created_by, proposal_id=p.id, **where))
        if p.status == "declined":
            reason = decline_label(session, p) or p.decline_reason
            # "Anders" is only a pointer to the provider's own words.
            text = p.decline_text if p.decline_reason == "anders" and p.decline_text else reason
            if p.decline_text and text != p.decline_text:
                text = f"{reason}: {p.decline_text}"
            items.append(_item(p.answered_at, "declined", "Voorstel afgewezen", p.answered_by, reason=text, **where))
        elif p.status == "accepted":
            items.append(_item(p.answered_at, "accepted", "Voorstel geaccepteerd", p.answered_by, **where))
        elif p.status == "expired":
            items.append(
                _item(
                    p.answered_at or p.expires_at,
                    "expired",
                    "Voorstel verlopen (niet op tijd beantwoord)",
                    "system:",
                    **where,
                )
            )
        elif p.status == "withdrawn":
            items.append(_item(p.answered_at, "proposal_withdrawn", "Voorstel ingetrokken", p.answered_by, **where))
    for h in session.exec(select(Hold).where(Hold.referral_id == referral_id)).all():
        where = place(h.group_id)
        items.append(_item(h.created_at, "hold", "Plek vastgehouden", h.created_by, **where))
        if h.status == "confirmed":
            items.append(
                _item(h.confirmed_at, "hold_confirmed", "Aankomst bevestigd", h.ended_by or h.created_by, **where)
            )
        elif h.status in ("released", "expired", "rejected"):
            title = {"released": "Vasthouding vrijgegeven", "expired": "Vasthouding verlopen"}.get(
                h.status, "Vasthouding afgewezen door de aanbieder"
            )
            items.append(_item(h.ended_at, f"hold_{h.status}", title, h.ended_by, reason=h.end_reason, **where))
    for pl in session.exec(select(Placement).where(Placement.referral_id == referral_id)).all():
        where = place(pl.group_id)
        items.append(
            _item(
                pl.created_at,
                "placement",
                "Plaatsing afgesproken",
                pl.created_by,
                expected_arrival=pl.expected_arrival.isoformat(),
                **where,
            )
        )
        # The arrival is the provider's to record (or its feed's); the placement keeps no name for it.
        items.append(_item(pl.arrived_at, "arrived", "Aangekomen: start zorg", "provider:", **where))
        if pl.status == "discharged":
            items.append(
                _item(
                    pl.discharged_at,
                    "discharged",
                    "Uitgestroomd",
                    pl.ended_by or "provider:",
                    destination=DESTINATIONS.get(pl.destination or "", pl.destination),
                    **where,
                )
            )
        elif pl.status in ("no_show", "cancelled"):
            title = "Niet verschenen" if pl.status == "no_show" else "Plaatsing gaat niet door"
            items.append(_item(pl.updated_at, pl.status, title, pl.ended_by, reason=pl.end_reason, **where))
    events = sorted((i for i in items if i is not None), key=lambda i: i["at"])
    audit.record(
        session=session,
        actor=principal,
        action="referral.timeline",
        object_type="referral",
        object_id=referral_id,
        purpose=Purpose.referral_review,
        region_id=referral.region_id,
    )
    placed = None
    if referral.placed_group_id is not None:
        placed = {**place(referral.placed_group_id), "placed_at": as_utc(referral.placed_at)}
        placed["placed_at"] = placed["placed_at"].isoformat() if placed["placed_at"] else None
        placed["discharged_at"] = as_utc(referral.discharged_at).isoformat() if referral.discharged_at else None  # type: ignore[union-attr]
    return {"referral_id": referral_id, "status": referral.status, "placed": placed, "events": events}
