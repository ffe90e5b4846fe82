"""Appending events. Every state change that others may watch goes through ``append_event``.

An event is handed to this process's live hubs once the transaction that wrote it commits; an
event written inside a savepoint that is rolled back is dropped with it, so the live feed never
shows a change the database does not have.
"""

from __future__ import annotations

import weakref
from typing import Any, Protocol

from sqlalchemy import event as sa_event
from sqlalchemy import select as sa_select
from sqlalchemy import text
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, func, select

from backend.db import on_commit
from backend.domain import utcnow
from backend.events.models import Event, EventCounter, StoredEvent

NOTIFY_CHANNEL = "plekwijzer_events"


class LocalListener(Protocol):
    """A live hub of this process: takes committed events from any thread."""

    def offer_threadsafe(self, events: list[Any]) -> None: ...

    def wake_threadsafe(self) -> None: ...


_listeners: weakref.WeakSet[Any] = weakref.WeakSet()


def listen_locally(listener: LocalListener) -> None:
    _listeners.add(listener)


def stop_listening(listener: LocalListener) -> None:
    _listeners.discard(listener)


def deliver_local(events: list[StoredEvent]) -> None:
    """Hand committed events to this process's hubs (an empty list only wakes them)."""
    for listener in list(_listeners):
        if events:
            listener.offer_threadsafe(events)
        else:
            listener.wake_threadsafe()


def append_event(
    *,
    session: Session,
    type: str,
    payload: dict[str, Any],
    group_id: int | None = None,
    provider_id: int | None = None,
    region_id: int | None = None,
    actor: str | None = None,
) -> StoredEvent:
    """Write an event in the session's transaction: the next sequence number and one INSERT."""
    seq = next_seq(session)
    at = utcnow()
    session.connection().execute(
        _INSERT_EVENT,
        {
            "seq": seq,
            "type": type,
            "at": at,
            "region_id": region_id,
            "provider_id": provider_id,
            "group_id": group_id,
            "actor": actor,
            "payload": payload,
        },
    )
    event = StoredEvent(
        seq=seq,
        type=type,
        at=at,
        region_id=region_id,
        provider_id=provider_id,
        group_id=group_id,
        actor=actor,
        payload=payload,
    )
    deliver_after_commit(session, event)
    return event


def append_events(session: Session, events: list[dict[str, Any]], *, actor: str | None = None) -> list[StoredEvent]:
    """Many events at once (a register import): the counter moves once by their number and
    they are inserted in one statement, in order. Each item has ``type``, ``payload`` and
    optionally ``group_id``, ``provider_id``, ``region_id``."""
    if not events:
        return []
    conn = session.connection()
    statement = _NEXT_SEQS_PG if conn.dialect.name == "postgresql" else _NEXT_SEQS
    last = int(conn.execute(statement, {"n": len(events)}).scalar_one())
    at = utcnow()
    stored = [
        StoredEvent(
            seq=last - len(events) + 1 + index,
            type=item["type"],
            at=at,
            region_id=item.get("region_id"),
            provider_id=item.get("provider_id"),
            group_id=item.get("group_id"),
            actor=actor,
            payload=item["payload"],
        )
        for index, item in enumerate(events)
    ]
    conn.execute(
        _INSERT_EVENT,
        [
            {
                "seq": e.seq,
                "type": e.type,
                "at": e.at,
                "region_id": e.region_id,
                "provider_id": e.provider_id,
                "group_id": e.group_id,
                "actor": e.actor,
                "payload": e.payload,
            }
            for e in stored
        ],
    )
    for event in stored:
        deliver_after_commit(session, event)
    return stored


def next_seq(session: Session) -> int:
    """The next event sequence number, in the session's transaction.

    Incrementing the single counter row takes its row lock until commit: this is what makes
    the sequence gapless and committed in order (see events/models.py). On PostgreSQL the same
    statement queues the wake-up of the other API processes (delivered at commit, dropped if
    the transaction or savepoint is rolled back)."""
    conn = session.connection()
    return int(conn.execute(_NEXT_SEQ_PG if conn.dialect.name == "postgresql" else _NEXT_SEQ).scalar_one())


# pg_notify in RETURNING runs once for the updated row: counter and wake-up in one round trip.
_NEXT_SEQ_PG = text(
    "UPDATE event_counter SET last_seq = last_seq + 1 WHERE id = 1 "
    f"RETURNING last_seq, pg_notify('{NOTIFY_CHANNEL}', last_seq::text)"
)
_NEXT_SEQ = text("UPDATE event_counter SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq")
_NEXT_SEQS_PG = text(
    "UPDATE event_counter SET last_seq = last_seq + :n WHERE id = 1 "
    f"RETURNING last_seq, pg_notify('{NOTIFY_CHANNEL}', last_seq::text)"
)
_NEXT_SEQS = text("UPDATE event_counter SET last_seq = last_seq + :n WHERE id = 1 RETURNING last_seq")
_INSERT_EVENT = Event.__table__.insert()  # type: ignore[attr-defined]  # built once


def deliver_after_commit(session: Session, event: StoredEvent) -> None:
    """Hand ``event`` to this process's live hubs once the session's transaction commits.

    The committed rows go straight to the hubs, which saves each of them a database read per
    change. Each event remembers the savepoint it was written in: when that savepoint (or one
    around it) rolls back, the event goes with it."""
    pending: list[tuple[StoredEvent, SessionTransaction | None]] | None = session.info.get("_live_events")
    if pending is None:
        pending = session.info["_live_events"] = []
        on_commit(session, lambda: deliver_local([e for e, _ in session.info.pop("_live_events", pending)]))
    pending.append((event, session.get_nested_transaction()))


# Listens on the Session class, once: a listener per session object costs every session more.
@sa_event.listens_for(OrmSession, "after_soft_rollback")
def _drop_rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    pending = session.info.get("_live_events")
    if not pending:
        return
    if not rolled_back.nested:  # the whole transaction: nothing of it reaches the feed
        pending.clear()
        return

    def inside(transaction: SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is rolled_back:
                return True
            transaction = transaction.parent
        return False

    pending[:] = [(e, t) for e, t in pending if not inside(t)]


def last_seq(session: Session) -> int:
    value = session.exec(select(EventCounter.last_seq).where(EventCounter.id == 1)).first()
    return int(value or 0)


def events_after(session: Session, seq: int, *, limit: int | None = None) -> list[Event]:
    query = select(Event).where(Event.seq > seq).order_by(Event.seq)  # type: ignore[arg-type]
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def count_events_after(session: Session, seq: int) -> int:
    return int(
        session.execute(
            sa_select(func.count()).select_from(Event).where(Event.seq > seq)  # type: ignore[arg-type]
        ).scalar_one()
    )
