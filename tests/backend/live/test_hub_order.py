"""The hub passes this process's committed events on as they are handed over, in sequence
order even when committing threads hand them over out of order, and reads the event table for
a gap it cannot fill itself (another process's event)."""

from __future__ import annotations

import asyncio
import json

from backend.auth import Principal
from backend.events.service import append_event, stop_listening
from backend.live.hub import LiveHub, Subscriber


def _write_events(db, count: int):  # type: ignore[no-untyped-def]
    events = []
    for n in range(count):
        with db.transaction() as session:
            events.append(append_event(session=session, type="test.event", payload={"n": n}))
    return events


async def _received(subscriber: Subscriber, count: int) -> list[int]:
    seqs = []
    for _ in range(count):
        item = await asyncio.wait_for(subscriber.queue.get(), timeout=2)
        assert item is not None
        seqs.append(json.loads(item[1])["seq"])
    return seqs


def test_out_of_order_hand_overs_are_published_in_order_and_gaps_are_read(db, world):
    async def scenario() -> None:
        hub = LiveHub(db)
        await hub.start()
        stop_listening(hub)  # this test hands the events over itself
        try:
            subscriber = Subscriber(principal=Principal(kind="user", id=1, name="test", role="admin", provider_id=None))
            hub.subscribe(subscriber)
            first, second, third, fourth = _write_events(db, 4)
            # Thread B hands over before thread A: held back until A's event arrives.
            hub._offer_committed([second])
            assert subscriber.queue.empty()
            hub._offer_committed([first])
            assert await _received(subscriber, 2) == [first.seq, second.seq]
            # The third was committed elsewhere and never handed over: read from the table.
            hub._offer_committed([fourth])
            assert await _received(subscriber, 2) == [third.seq, fourth.seq]
            assert hub.last_seq == fourth.seq and not hub._early
        finally:
            await hub.stop()

    asyncio.run(scenario())
