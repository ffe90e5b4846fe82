"""The live feed's hub: one per API process.

The event table is the source of truth. A wake-up (in-process after a commit; on PostgreSQL also
``LISTEN/NOTIFY`` from other API processes) tells the hub to read the rows after the last
sequence number it delivered and push them to the websocket clients that may see them. A poll
every second is the safety net for a lost wake-up, so a client is never more than a second
behind even when a notification goes missing.

Each client gets its own queue; an event is serialised to JSON once and shared by all clients.
A client that falls too far behind is closed, and reconnects with ``?since=`` to catch up.

This process's own commits come straight from the committing thread, so they need no read.
Threads may hand them over slightly out of order (seq 7 before seq 6); the hub keeps the early
one and waits a few milliseconds for the gap to fill before it reads the table (a gap that is
another process's event is read then, in order).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from backend.auth import Principal, verified_keys
from backend.db import Database
from backend.domain import utcnow
from backend.events.models import Event, StoredEvent
from backend.events.service import (
    NOTIFY_CHANNEL,
    count_events_after,
    events_after,
    last_seq,
    listen_locally,
    stop_listening,
)
from backend.users.models import AuthSession, Role
from backend.users.sessions import API_KEY_REVOKED, SESSIONS_ENDED, access_deadline

log = logging.getLogger(__name__)

QUEUE_LIMIT = 5_000
POLL_SECONDS = 1.0
# On SQLite the poll is the only way between API processes, and an ended session or revoked key
# must be refused by every process within a second: poll more often (a cheap indexed read).
SQLITE_POLL_SECONDS = 0.3
# Events that only the hubs act on (sessions ended, keys revoked); never sent to a client.
AUTH_EVENT_PREFIX = "auth."
# Websocket close code for a session or key that was ended while connected: log in again.
SESSION_ENDED_CLOSE = 4401
# How long a gap in the sequence may wait for this process's own event to fill it before the
# hub reads the table: long enough for a thread that has committed to hand its event over.
GAP_GRACE_SECONDS = 0.005
# How long stop() waits for the hub's tasks to end after cancelling them.
STOP_SECONDS = 5.0
# How often the hub looks for websockets whose session or key has run out (idle timeout,
# maximum age, key expiry): an in-memory comparison; the database is asked only about a
# connection whose deadline has passed, since a refresh may have moved it on.
EXPIRY_CHECK_SECONDS = 0.25
EXPIRED_SESSION = "Uw sessie is verlopen; log opnieuw in."
EXPIRED_KEY = "Deze API-sleutel is verlopen."


def event_message(event: Event | StoredEvent) -> dict[str, Any]:
    message: dict[str, Any] = {
        "seq": event.seq,
        "type": event.type,
        "at": event.at.isoformat(),
        "group_id": event.group_id,
        "provider_id": event.provider_id,
        "region_id": event.region_id,
    }
    message.update(event.payload)
    return message


@dataclass(eq=False)
class Subscriber:
    principal: Principal
    care_forms: frozenset[str] | None = None
    municipalities: frozenset[int] | None = None
    own_only: bool = False
    queue: asyncio.Queue[tuple[int, str] | None] = field(default_factory=lambda: asyncio.Queue(maxsize=QUEUE_LIMIT))
    overflowed: bool = False
    # Set when the subscriber's session or key was ended: the reason it is closed with.
    ended_reason: str | None = None
    # When its session or key runs out on its own (idle, maximum age, key expiry); None: never.
    expires_at: datetime | None = None

    def wants(self, message: dict[str, Any]) -> bool:
        if str(message.get("type", "")).startswith(AUTH_EVENT_PREFIX):
            return False
        # A notification for one person (backend/notifications) goes to that person only.
        addressee = message.get("for_user_id")
        if addressee is not None and (self.principal.kind != "user" or self.principal.id != addressee):
            return False
        provider_id = message.get("provider_id")
        is_own = provider_id is not None and provider_id == self.principal.provider_id
        if self.principal.role == Role.provider and not is_own:
            return False
        if self.own_only and not is_own:
            return False
        # Region scope, as for every read: a caller bound to a region hears only that region's
        # events (a provider is scoped by its provider above).
        scope = self.principal.region_scope
        region_id = message.get("region_id")
        if scope is not None and region_id is not None and region_id != scope:
            return False
        audience = message.get("audience")
        if audience is not None and self.principal.role not in audience and not is_own:
            return False
        group = message.get("group") or {}
        if self.care_forms is not None and group.get("care_form") not in self.care_forms:
            return False
        return not (self.municipalities is not None and group.get("municipality_id") not in self.municipalities)

    def end(self) -> None:
        """Stop feeding this subscriber and wake its sender with the end marker."""
        if self.overflowed:
            return
        self.overflowed = True
        with contextlib.suppress(asyncio.QueueFull):
            if self.queue.full():
                self.queue.get_nowait()
            self.queue.put_nowait(None)

    def revoke(self, reason: str) -> None:
        """The session or key behind this subscriber has ended: drop what is queued (it may
        no longer see it) and wake its sender to close the websocket."""
        self.ended_reason = reason
        self.overflowed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    def offer(self, seq: int, text: str) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait((seq, text))
        except asyncio.QueueFull:
            # Too far behind: stop feeding it and tell the sender to close; the client
            # reconnects with ?since= and gets a replay or a snapshot.
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.get_nowait()
                self.queue.put_nowait(None)


class LiveHub:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.settings = db.settings
        self.subscribers: set[Subscriber] = set()
        self.last_seq = 0
        # Committed events of this process that arrived ahead of a gap, by sequence number.
        self._early: dict[int, Event | StoredEvent] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.poll_seconds = SQLITE_POLL_SECONDS if db.is_sqlite else POLL_SECONDS

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.last_seq = await asyncio.to_thread(self._read_last_seq)
        # After the position: a session ended later arrives as an event.
        await asyncio.to_thread(self._load_ended_sessions)
        self._tasks.append(asyncio.create_task(self._pump(), name="live-pump"))
        self._tasks.append(asyncio.create_task(self._watch_expiry(), name="live-expiry"))
        if not self.db.is_sqlite:
            self._tasks.append(asyncio.create_task(self._listen(), name="live-listen"))
        listen_locally(self)

    async def stop(self) -> None:
        stop_listening(self)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # Bounded: a shutdown must end even if a task does not (a read stuck in a thread).
            await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
        for subscriber in list(self.subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                subscriber.queue.put_nowait(None)

    def wake_threadsafe(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._wake.set)

    def offer_threadsafe(self, events: list[Event | StoredEvent]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._offer_committed, events)

    def _offer_committed(self, events: list[Event | StoredEvent]) -> None:
        """Publish committed events that continue the sequence; keep those after a gap for a
        moment (another thread's commit is on its way), then read the table if it stays."""
        for event in events:
            if event.seq > self.last_seq:
                self._early[event.seq] = event
        self._publish_early()
        if self._early and self._loop is not None:
            self._loop.call_later(GAP_GRACE_SECONDS, self._wake_if_behind)

    def _publish_early(self) -> None:
        while self.last_seq + 1 in self._early:
            self.publish([self._early.pop(self.last_seq + 1)])

    def _wake_if_behind(self) -> None:
        if self._early:
            self._wake.set()

    def _read_last_seq(self) -> int:
        with self.db.transaction(write=False) as session:
            return last_seq(session)

    def _load_ended_sessions(self) -> None:
        """Sessions ended within an access token's lifetime: their tokens may still be around."""
        since = utcnow() - timedelta(seconds=self.db.revocations.keep_seconds)
        with self.db.transaction(write=False) as session:
            ended = session.exec(select(AuthSession.id).where(col(AuthSession.ended_at) >= since)).all()
        self.db.revocations.end_sessions(i for i in ended if i is not None)

    def _apply_auth_event(self, event: Event | StoredEvent) -> None:
        if event.type == SESSIONS_ENDED:
            ids = {int(i) for i in event.payload.get("session_ids", [])}
            self.db.revocations.end_sessions(ids)
            for subscriber in list(self.subscribers):
                if subscriber.principal.kind == "user" and subscriber.principal.session_id in ids:
                    subscriber.revoke("Uw sessie is beëindigd; log opnieuw in.")
        elif event.type == API_KEY_REVOKED:
            key_id = event.payload.get("api_key_id")
            # Forget every remembered key check (cheap to redo): the revoked key is looked up
            # again, and refused, on its next request.
            verified_keys.clear()
            for subscriber in list(self.subscribers):
                if subscriber.principal.kind == "api_key" and subscriber.principal.id == key_id:
                    subscriber.revoke("Deze API-sleutel is ingetrokken.")

    async def _watch_expiry(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_CHECK_SECONDS)
            try:
                await self.close_expired()
            except Exception:  # the database may be away for a moment: try again next round
                log.warning("live feed could not check session expiry", exc_info=True)
                await asyncio.sleep(0.5)

    async def close_expired(self) -> None:
        """Close the websockets whose session or key has run out (code 4401, as an ended one)."""
        now = utcnow()
        due = [
            s
            for s in self.subscribers
            if s.expires_at is not None and s.expires_at <= now and s.ended_reason is None and not s.overflowed
        ]
        if not due:
            return
        deadlines = await asyncio.to_thread(self._read_deadlines, {s.principal for s in due})
        now = utcnow()
        for subscriber in due:
            deadline = deadlines[subscriber.principal]
            if deadline is not None and deadline <= now:
                subscriber.revoke(EXPIRED_KEY if subscriber.principal.kind == "api_key" else EXPIRED_SESSION)
            else:
                subscriber.expires_at = deadline  # refreshed meanwhile: look again then

    def _read_deadlines(self, principals: set[Principal]) -> dict[Principal, datetime | None]:
        with self.db.transaction(write=False) as session:
            return {principal: access_deadline(session, principal) for principal in principals}

    def _read_after(self, seq: int, limit: int | None = None) -> list[Event]:
        with self.db.transaction(write=False) as session:
            return events_after(session, seq, limit=limit)

    async def _pump(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
            # arrives as its timeout fires, and then stop() waits for this loop forever (seen as
            # an app shutdown that hangs now and then, more often with short polls).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._deliver_new()
            except Exception:  # the database may be away for a moment: try again next round
                log.warning("live feed could not read new events", exc_info=True)
                await asyncio.sleep(0.5)

    async def _deliver_new(self) -> None:
        while True:
            events = await asyncio.to_thread(self._read_after, self.last_seq, 2_000)
            if not events:
                break
            self.publish(events)
            if len(events) < 2_000:
                break
        self._early = {seq: e for seq, e in self._early.items() if seq > self.last_seq}
        self._publish_early()

    def publish(self, events: Iterable[Event | StoredEvent]) -> None:
        for event in events:
            if event.seq <= self.last_seq:
                continue
            if event.type.startswith(AUTH_EVENT_PREFIX):
                self._apply_auth_event(event)
            elif self.subscribers:  # nobody watching: nothing to serialise
                message = event_message(event)
                text = json.dumps(message, default=str)
                for subscriber in self.subscribers:
                    if subscriber.wants(message):
                        subscriber.offer(event.seq, text)
            self.last_seq = event.seq

    async def _listen(self) -> None:
        import psycopg

        url = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    # Anything committed while we were not listening is picked up now.
                    self._wake.set()
                    async for notice in conn.notifies():
                        # This process's own commits are delivered without a read; the
                        # notice may arrive before the committing thread hands its event
                        # over, so look again after the grace period.
                        if not notice.payload.isdigit():
                            self._wake.set()
                        elif int(notice.payload) > self.last_seq:
                            self._behind(int(notice.payload))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("LISTEN connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(1.0)

    def _behind(self, seq: int) -> None:
        """Another process (or this one, not handed over yet) committed ``seq``."""
        assert self._loop is not None
        self._loop.call_later(GAP_GRACE_SECONDS, lambda: self._wake.set() if seq > self.last_seq else None)

    # -- subscribing ------------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def catch_up(self, subscriber: Subscriber, since: int) -> tuple[list[str], int] | None:
        """The missed messages after ``since`` that this subscriber may see, with the last
        sequence number covered; ``None`` when too much was missed (send a snapshot)."""
        with self.db.transaction(write=False) as session:
            # The counter first: an event and its counter value commit together, so every event
            # up to ``current`` is visible to the next statement. Read the other way round (each
            # statement has its own snapshot under READ COMMITTED) an event committed in between
            # was neither replayed nor sent live: reported as covered, then skipped as a duplicate.
            current = last_seq(session)
            if count_events_after(session, since) > self.settings.live_max_replay:
                return None
            events = [e for e in events_after(session, since) if e.seq <= current]
        texts = []
        for event in events:
            message = event_message(event)
            if subscriber.wants(message):
                texts.append(json.dumps(message, default=str))
        # Events after ``current`` reach the subscriber through its queue (it subscribed first).
        return texts, current
