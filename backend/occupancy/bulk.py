"""Loading many stays at once (demo data, benchmarks, imports of a past year).

It writes the same rows the feed writes (an admission event, a discharge event when the stay
has ended, and the stay), in a few multi-row INSERTs instead of one checked event at a time.
The caller guarantees the stays are consistent (no group over its places); nothing is checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, text
from sqlmodel import Session, select

from backend.domain import utcnow
from backend.occupancy.models import ADMISSION, DISCHARGE, OccupancyEvent, OccupancyStay
from backend.occupancy.service import local_day


@dataclass(frozen=True)
class StaySpec:
    group_id: int
    provider_id: int
    stay_reference: str
    origin_region_code: str
    admitted_at: datetime
    discharged_at: datetime | None


def bulk_insert_stays(*, session: Session, stays: Sequence[StaySpec], source: str, chunk: int = 5000) -> int:
    """Insert the stays with explicit ids (so stays can point at their events without a
    round trip per row); returns the number of events written."""
    # COALESCE(..., 0) is never NULL, but SQLAlchemy types it like its first argument (int | None).
    next_id = int(session.exec(select(func.coalesce(func.max(OccupancyEvent.id), 0))).one()) + 1  # type: ignore[arg-type]
    next_stay = int(session.exec(select(func.coalesce(func.max(OccupancyStay.id), 0))).one()) + 1  # type: ignore[arg-type]
    now = utcnow()
    events: list[dict[str, object]] = []
    rows: list[dict[str, object]] = []
    for spec in stays:
        admit_id = next_id
        next_id += 1
        admit_day = local_day(spec.admitted_at)
        events.append(
            {
                "id": admit_id,
                "event_id": f"{source}-{admit_id}",
                "provider_id": spec.provider_id,
                "group_id": spec.group_id,
                "kind": ADMISSION,
                "at": spec.admitted_at,
                "day": admit_day,
                "origin_region_code": spec.origin_region_code,
                "stay_reference": spec.stay_reference,
                "cancels_event_id": None,
                "source": source,
                "received_at": now,
                "received_by": source,
            }
        )
        discharge_id = discharge_day = None
        if spec.discharged_at is not None:
            discharge_id = next_id
            next_id += 1
            discharge_day = local_day(spec.discharged_at)
            events.append(
                {
                    "id": discharge_id,
                    "event_id": f"{source}-{discharge_id}",
                    "provider_id": spec.provider_id,
                    "group_id": spec.group_id,
                    "kind": DISCHARGE,
                    "at": spec.discharged_at,
                    "day": discharge_day,
                    "origin_region_code": spec.origin_region_code,
                    "stay_reference": spec.stay_reference,
                    "cancels_event_id": None,
                    "source": source,
                    "received_at": now,
                    "received_by": source,
                }
            )
        rows.append(
            {
                "id": next_stay,
                "group_id": spec.group_id,
                "stay_reference": spec.stay_reference,
                "origin_region_code": spec.origin_region_code,
                "admitted_at": spec.admitted_at,
                "admit_day": admit_day,
                "discharged_at": spec.discharged_at,
                "discharge_day": discharge_day,
                "admission_event": admit_id,
                "discharge_event": discharge_id,
            }
        )
        next_stay += 1
    for start in range(0, len(events), chunk):
        session.execute(insert(OccupancyEvent), events[start : start + chunk])
    for start in range(0, len(rows), chunk):
        session.execute(insert(OccupancyStay), rows[start : start + chunk])
    if session.get_bind().dialect.name == "postgresql":
        # Explicit ids leave the sequences behind; move them on so the feed's inserts continue.
        for table in ("occupancy_events", "occupancy_stays"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
            )
    session.flush()
    return len(events)
