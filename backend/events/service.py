"""Appending events. Every state change that others may watch goes through ``append_event``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy import text
from sqlmodel import Session, func, select

from backend.db import on_commit
from backend.domain import utcnow
from backend.events.models import Event, EventCounter, StoredEvent

NOTIFY_CHANNEL = "plekwijzer_events"


def append_event(
    *,
    session: Session,
    type: str,
    payload: dict[str, Any],
    group_id: int | None = None,
    provider_id: int | None = None,
    region_id: int | None = None,
    actor: str | None = None,
) -> Event:
    seq = next_seq(session)
    event = Event(seq=seq, type=type, at=utcnow(), region_id=region_id, provider_id=provider_id,
                  group_id=group_id, actor=actor, payload=payload)
    session.add(event)
    session.flush()
    deliver_after_commit(session, event)
    return event


def next_seq(session: Session) -> int:
    """The next event sequence number, in the session's transaction.

    Incrementing the single counter row takes its row lock until commit: this is what makes
    the sequence gapless and committed in order (see events/models.py). On PostgreSQL the same
    statement queues the wake-up of the other API processes (delivered at commit, dropped if
    the transaction or savepoint is rolled back)."""
    conn = session.connection()
    return int(conn.execute(
        _NEXT_SEQ_PG if conn.dialect.name == "postgresql" else _NEXT_SEQ).scalar_one())


# pg_notify in RETURNING runs once for the updated row: counter and wake-up in one round trip.
_NEXT_SEQ_PG = text(
    "UPDATE event_counter SET last_seq = last_seq + 1 WHERE id = 1 "
    f"RETURNING last_seq, pg_notify('{NOTIFY_CHANNEL}', last_seq::text)"
)
_NEXT_SEQ = text("UPDATE event_counter SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq")
_INSERT_EVENT = Event.__table__.insert()  # type: ignore[attr-defined]  # built once


def append_event_core(
    *,
    session: Session,
    type: str,
    payload: dict[str, Any],
    group_id: int | None = None,
    provider_id: int | None = None,
    region_id: int | None = None,
    actor: str | None = None,
) -> StoredEvent:
    """``append_event`` with two plain statements instead of the ORM unit of work (flush), for
    hot paths such as reporting availability. Same counter, same table, same live delivery.

    Not for use inside a savepoint (``begin_nested``): the event is handed to the live feed
    once the transaction commits, and a rolled-back savepoint would not take it back. The ORM
    version notices that case (the event loses its identity); this one refuses it.
    """
    if session.in_nested_transaction():
        raise RuntimeError("append_event_core cannot be used inside a savepoint")
    seq = next_seq(session)
    at = utcnow()
    session.connection().execute(_INSERT_EVENT, {
        "seq": seq, "type": type, "at": at, "region_id": region_id, "provider_id": provider_id,
        "group_id": group_id, "actor": actor, "payload": payload})
    event = StoredEvent(seq=seq, type=type, at=at, region_id=region_id,
                        provider_id=provider_id, group_id=group_id, actor=actor,
                        payload=payload)
    deliver_after_commit(session, event)
    return event


def deliver_after_commit(session: Session, event: Event | StoredEvent) -> None:
    """Hand ``event`` to this process's live hubs once the session's transaction commits."""
    # The committed rows go straight to this process's hubs, which saves each of them a
    # database read per change; a hub that sees a gap still reads the table.
    pending = session.info.get("_live_events")
    if pending is None:
        from backend.live.hub import deliver_local

        pending = session.info["_live_events"] = []
        on_commit(session, lambda: deliver_local(session.info.pop("_live_events", pending)))
    pending.append(event)


def deliver_committed(event: StoredEvent) -> None:
    """Hand an event written on an autocommit connection (so already committed) to this
    process's live hubs."""
    from backend.live.hub import deliver_local

    deliver_local([event])


def last_seq(session: Session) -> int:
    value = session.exec(select(EventCounter.last_seq).where(EventCounter.id == 1)).first()
    return int(value or 0)


def events_after(session: Session, seq: int, *, limit: int | None = None) -> list[Event]:
    query = select(Event).where(Event.seq > seq).order_by(Event.seq)  # type: ignore[arg-type]
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def count_events_after(session: Session, seq: int) -> int:
    return int(session.execute(
        sa_select(func.count()).select_from(Event).where(Event.seq > seq)  # type: ignore[arg-type]
    ).scalar_one())
