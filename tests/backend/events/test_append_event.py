"""One event writer: an event reaches this process's live hubs only once the transaction that
wrote it commits, and never when the savepoint (or the transaction) around it rolls back."""

from __future__ import annotations

import pytest

from backend.events.service import append_event, listen_locally, stop_listening


class Listener:
    def __init__(self) -> None:
        self.received: list[str] = []

    def offer_threadsafe(self, events) -> None:  # type: ignore[no-untyped-def]
        self.received += [e.type for e in events]

    def wake_threadsafe(self) -> None:
        pass


@pytest.fixture
def listener():
    listening = Listener()
    listen_locally(listening)
    yield listening
    stop_listening(listening)


def test_events_are_delivered_after_commit_without_those_of_rolled_back_savepoints(db, listener):
    with db.transaction() as session:
        append_event(session=session, type="kept.1", payload={})
        with session.begin_nested():
            append_event(session=session, type="kept.2", payload={})
        try:
            with session.begin_nested():
                append_event(session=session, type="undone.outer", payload={})
                with session.begin_nested():
                    append_event(session=session, type="undone.inner", payload={})
                raise RuntimeError("the outer savepoint fails")
        except RuntimeError:
            pass
        with session.begin_nested():
            try:
                with session.begin_nested():
                    append_event(session=session, type="undone.only.inner", payload={})
                    raise RuntimeError("only the inner savepoint fails")
            except RuntimeError:
                pass
            append_event(session=session, type="kept.3", payload={})
        last = append_event(session=session, type="kept.4", payload={})
        assert listener.received == []  # nothing before the commit
    assert listener.received == ["kept.1", "kept.2", "kept.3", "kept.4"]
    assert last.seq == 4  # the rolled-back numbers were given back: the sequence has no gaps


def test_a_rolled_back_transaction_delivers_nothing(db, listener):
    with pytest.raises(RuntimeError), db.transaction() as session:
        append_event(session=session, type="undone", payload={})
        raise RuntimeError("the request fails")
    assert listener.received == []
