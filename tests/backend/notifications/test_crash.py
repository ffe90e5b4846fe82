"""A worker killed with SIGKILL in the middle of delivering 1,000 notifications loses none: a
``plekwijzer notify-worker`` process is killed while it delivers, an API process's dispatcher
(here a thread of the test, sharing the outbox by FOR UPDATE SKIP LOCKED) goes on, and every
notification still arrives at least once: the receiver's distinct idempotency keys are exactly
the 1,000, the rows the dead worker had claimed delivered after their lease ran out.

Kept cheap for CI: the worker process is started while the app and test data are built (its
imports take seconds), and it is killed early, at a moment the receiver makes certain: it holds
the worker's requests in the middle of its second batch, so the kill always finds rows claimed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import insert
from sqlmodel import func, select

from backend.db import Database
from backend.notifications.dispatcher import run_worker
from backend.notifications.models import DELIVERED, Notification
from tests.backend.notifications.receivers import add_endpoint, outbox_rows, webhook_receiver
from tests.conftest import PG_URL, TEST_SECRET, make_settings
from tests.servers import ROOT

COUNT = 1000
BATCH = 50
# The receiver holds requests after this many: the worker is then part-way into its second batch.
STALL_AFTER = BATCH + 10

# A separate worker process needs PostgreSQL (SQLite delivers in the API process): the test
# is generated for PostgreSQL only, so no SQLite app and data are built just to be skipped.
pytestmark = [
    pytest.mark.skipif(not PG_URL, reason="a separate worker process: PostgreSQL only"),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


@pytest.fixture
def worker(database_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """A ``plekwijzer notify-worker`` process, started before the app and data fixtures so that
    its start-up overlaps theirs. It delivers nothing until the test writes the outbox."""
    env = {
        **os.environ,
        "PLEKWIJZER_DATABASE_URL": database_url,
        "PLEKWIJZER_SECRET_KEY": TEST_SECRET,
        "PLEKWIJZER_ENVIRONMENT": "test",
        # A dead worker's claim is free again after a second (the default is two minutes).
        "PLEKWIJZER_NOTIFY_LEASE_SECONDS": "1",
        "PLEKWIJZER_NOTIFY_BATCH": str(BATCH),
    }
    command = [sys.executable, "-m", "backend.cli", "notify-worker", "--poll-seconds", "0.05"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield process
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def delivered(db) -> int:  # type: ignore[no-untyped-def]
    with db.transaction(write=False) as session:
        query = select(func.count()).select_from(Notification).where(Notification.status == DELIVERED)
        return int(session.exec(query).one())


def test_killing_a_worker_mid_delivery_loses_no_notification(worker, db, world):
    short_lease = Database(make_settings(db.settings.database_url, notify_lease_seconds=1, notify_batch=BATCH))
    with webhook_receiver() as receiver:
        receiver.stall_after = STALL_AFTER
        with db.transaction() as session:
            endpoint = add_endpoint(session, db.settings, world.provider_b, receiver.url)
            rows = outbox_rows(endpoint.id, world.provider_b, COUNT)
            # One multi-row INSERT: a thousand ORM objects would cost a second more.
            session.execute(insert(Notification), [row.model_dump(exclude={"id"}) for row in rows])
        stop = threading.Event()
        survivor = threading.Thread(target=run_worker, args=(short_lease,), kwargs={"poll_seconds": 0.05, "stop": stop})
        try:
            # The worker's first batch answered, its second one held part-way: kill it there.
            receiver.wait_for(lambda r: len(r.requests) > STALL_AFTER, timeout=120)
            assert worker.poll() is None, "the worker ended by itself"
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            with short_lease.transaction(write=False) as session:
                claimed = session.exec(select(func.count()).where(Notification.status == "sending")).one()
            receiver.release.set()
            survivor.start()
            receiver.wait_for(lambda r: len(r.keys) == COUNT, timeout=120)
            deadline = time.monotonic() + 30
            while delivered(db) < COUNT and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            if survivor.is_alive():
                survivor.join(timeout=10)
    # The dead worker held its whole second batch, of which part had reached the receiver.
    assert claimed == BATCH, "the worker died holding no claim: the lease was not put to the test"
    assert receiver.keys == {f"bulk:{i}" for i in range(COUNT)}
    assert len(receiver.requests) > COUNT  # at least once: the held ones came again, with their key
    assert delivered(db) == COUNT
