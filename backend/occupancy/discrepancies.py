"""Groups whose reported free places disagree with the occupancy feed, and the one action that
settles each: take the feed's figure over as a report, or let the group follow the feed from now
on (its free places are then derived, see ``backend/availability/service.py``)."""

from __future__ import annotations

from typing import Literal

from sqlmodel import Session, col, select

from backend.auth import Principal
from backend.availability import service as places
from backend.availability.models import AvailabilityUpdate
from backend.availability.service import PlaceChange
from backend.errors import RuleViolation
from backend.occupancy.models import Discrepancy
from backend.occupancy.service import current_occupancy
from backend.providers.models import Group
from backend.providers.service import get_group_for

Resolution = Literal["take_feed", "follow_feed"]


def feed_figures(session: Session, group: Group) -> tuple[str, int, int] | None:
    """(source, present, free places the feed leaves) of a group, None without feed data."""
    figure = current_occupancy(session=session, groups=[group])[group.id]  # type: ignore[index]
    if figure["source"] == "none":
        return None
    present = int(figure["present"])  # type: ignore[call-overload]
    return str(figure["source"]), present, max(0, group.capacity - present)


def list_discrepancies(session: Session, groups: list[Group]) -> list[Discrepancy]:
    """Groups reported by hand whose free places differ from what the feed leaves free (places −
    youths present according to the feed, or the newest census). Groups that follow the feed
    agree by construction and are left out."""
    manual = [g for g in groups if not g.places_from_feed]
    figures = current_occupancy(session=session, groups=manual)
    out: list[Discrepancy] = []
    for group in manual:
        figure = figures[group.id]  # type: ignore[index]
        if figure["source"] == "none":
            continue  # nothing to compare with
        present = int(figure["present"])  # type: ignore[call-overload]
        feed_free = max(0, group.capacity - present)
        if feed_free != group.free_places:
            out.append(
                Discrepancy(
                    group_id=group.id,  # type: ignore[arg-type]
                    group_name=group.name,
                    provider_id=group.provider_id,
                    capacity=group.capacity,
                    reported_free_places=group.free_places,
                    reported_at=group.reported_at,
                    feed_present=present,
                    feed_free_places=feed_free,
                    difference=group.free_places - feed_free,
                    source=str(figure["source"]),
                    held_places=group.held_places,
                )
            )
    return out


def region_groups(session: Session, *, region_id: int, provider_id: int | None) -> list[Group]:
    query = select(Group).where(Group.region_id == region_id)
    if provider_id is not None:
        query = query.where(Group.provider_id == provider_id)
    return list(session.exec(query.order_by(col(Group.id))).all())


def resolve(
    *, session: Session, principal: Principal, group_id: int, action: Resolution, stale_after_hours: float
) -> PlaceChange:
    """One action per difference. ``take_feed``: a report of the free places the feed leaves
    (never fewer than the places held for a crisis, a proposal or an expected arrival; admitting,
    its reason, the waiting list and the expected date stay as reported). ``follow_feed``: the
    group's free places follow the feed from now on."""
    group = get_group_for(session=session, principal=principal, group_id=group_id)
    if action == "follow_feed":
        return places.set_places_from_feed(
            session=session, principal=principal, group_id=group_id, follow=True, stale_after_hours=stale_after_hours
        )
    figures = feed_figures(session, group)
    if figures is None:
        raise RuleViolation(
            "Voor deze groep is er geen bezetting uit de feed of een telling; er is niets over te nemen.",
            code="no_feed_data",
        )
    report = AvailabilityUpdate(
        free_places=max(group.held_places, figures[2]),
        admitting=group.admitting,
        reason=group.not_admitting_reason,
        expected_free_date=group.expected_free_date,
        waiting_list=group.waiting_list,
    )
    return places.report(
        session=session,
        principal=principal,
        group_id=group_id,
        report=report,
        expected_version=group.version,
        stale_after_hours=stale_after_hours,
    )
