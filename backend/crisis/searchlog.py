"""Crisis searches counted for the steering indicators (#17): "crisis searches, holds and
confirmations". A search keeps nothing of the youth: when, for which region, how many free
places it found, and whether one was in the own region (``CrisisSearchCount``).

The search is the crisis team's hot path and a read: on SQLite it must not queue behind
writers. So a search only notes its count in this process's memory, and the periodic task
``crisis.write_search_counts`` writes the notes every two seconds in one transaction, and once
more when the process stops. A process that dies loses at most its last two seconds of counts:
a statistic, not a record anybody relies on for a youth.
"""

from __future__ import annotations

import threading
import weakref
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select

from backend.crisis.models import CrisisSearchCount
from backend.db import Database
from backend.domain import utcnow
from backend.regions.models import Region

_lock = threading.Lock()
# Per database (a test process serves several), the counts not yet written:
# (region code, moment, places found, one in the own region).
_pending: weakref.WeakKeyDictionary[Database, list[tuple[str, datetime, int, bool]]] = weakref.WeakKeyDictionary()


def note(db: Database, result: dict[str, Any]) -> None:
    """Count one search by its answer (``service.search``); a search without an own region (a
    service-wide administrator's) belongs to no region and is not counted."""
    code = result.get("own_region")
    if not code:
        return
    found = result["results"]
    entry = (code, utcnow(), sum(r["free_places"] for r in found), any(r["tier"] == 0 for r in found))
    with _lock:
        _pending.setdefault(db, []).append(entry)


def write_counts(db: Database) -> int:
    """Periodic: write the counts noted in this process (returns how many). When the write fails
    (database away), the counts are kept for the next round."""
    with _lock:
        entries = _pending.pop(db, [])
    if not entries:
        return 0
    try:
        with db.transaction() as session:
            codes = sorted({code for code, *_ in entries})
            query = select(Region.code, Region.id).where(col(Region.code).in_(codes))
            ids = {code: rid for code, rid in session.exec(query).all()}
            rows = [
                {"region_id": ids[code], "searched_at": at, "places_found": places, "own_region_found": own}
                for code, at, places, own in entries
                if code in ids
            ]
            if rows:
                session.connection().execute(insert(CrisisSearchCount), rows)
    except Exception:
        with _lock:
            _pending.setdefault(db, [])[:0] = entries
        raise
    return len(entries)
