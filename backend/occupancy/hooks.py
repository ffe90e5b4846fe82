"""What other domains do after a feed batch was written, without occupancy importing them.

A placement ends when the provider's own system reports the discharge of its stay, and starts
when it reports the admission of an expected youth (``backend/placements``). Occupancy cannot
import placements (placements imports occupancy), so the registry hands the function in here
(``backend/registry.py``) and ``ingest_events`` calls it after the batch is written, in the
batch's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlmodel import Session

from backend.auth import Principal
from backend.occupancy.models import OccupancyEventIn

# fn(*, session, principal, events): the accepted events of one batch, in processing order.
BatchHook = Callable[..., Any]
_after_batch: list[BatchHook] = []


def register(hook: BatchHook) -> None:
    if hook not in _after_batch:
        _after_batch.append(hook)


def after_batch(*, session: Session, principal: Principal, events: Sequence[OccupancyEventIn]) -> None:
    if not events:
        return
    for hook in _after_batch:
        hook(session=session, principal=principal, events=events)
