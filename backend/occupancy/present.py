"""Who is present in a group now, by pseudonymous stay reference (the occupancy screen)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from backend.occupancy.models import OccupancyEvent, OccupancyStay, PresentStay


def present_stays(*, session: Session, group_id: int) -> list[PresentStay]:
    """The open stays of a group, oldest admission first, each with the sender's id of its
    admission (what a correction names)."""
    rows = session.exec(
        select(OccupancyStay, col(OccupancyEvent.event_id))
        .join(OccupancyEvent, col(OccupancyEvent.id) == col(OccupancyStay.admission_event))
        .where(OccupancyStay.group_id == group_id, col(OccupancyStay.discharged_at).is_(None))
        .order_by(col(OccupancyStay.admitted_at), col(OccupancyStay.id))
    ).all()
    return [
        PresentStay(
            stay_reference=stay.stay_reference,
            admitted_at=stay.admitted_at,
            origin_region_code=stay.origin_region_code,
            admission_event_id=event_id,
        )
        for stay, event_id in rows
    ]


def recent_events(*, session: Session, group_id: int, limit: int = 500) -> list[OccupancyEvent]:
    """The group's newest ``limit`` events, in time order (a year of history holds more than a
    screen needs; the latest are the ones to check and correct)."""
    newest = session.exec(
        select(OccupancyEvent)
        .where(OccupancyEvent.group_id == group_id)
        .order_by(col(OccupancyEvent.at).desc(), col(OccupancyEvent.id).desc())
        .limit(limit)
    ).all()
    return list(reversed(newest))
