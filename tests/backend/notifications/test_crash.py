"""A worker killed with SIGKILL in the middle of delivering 1,000 notifications loses none: a
``plekwijzer notify-worker`` process is killed while it delivers, an API process's dispatcher
(here a thread of the test, sharing the outbox by FOR UPDATE SKIP LOCKED) goes on, and every
notification still arrives at least once: the receiver's distinct idempotency keys are exactly
the 1,000, the rows the dead worker had claimed delivered after their lease ran out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlmodel import func, select

from backend.db import Database
from backend.notifications.dispatcher import run_worker
from backend.notifications.models import DELIVERED, Notification
from tests.backend.notifications.receivers import add_endpoint, outbox_rows, webhook_receiver
from tests.conftest import TEST_SECRET, make_settings
from tests.servers import ROOT

COUNT = 1000


def start_worker(database_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PLEKWIJZER_DATABASE_URL": database_url,
        "PLEKWIJZER_SECRET_KEY": TEST_SECRET,
        "PLEKWIJZER_ENVIRONMENT": "test",
        # A dead worker's claim is free again after a second (the default is two minutes).
        "PLEKWIJZER_NOTIFY_LEASE_SECONDS": "1",
        "PLEKWIJZER_NOTIFY_BATCH": "50",
    }
    command = [sys.executable, "-m", "backend.cli", "notify-worker", "--poll-seconds", "0.05"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def delivered(db) -> int:  # type: ignore[no-untyped-def]
    with db.transaction(write=False) as session:
        query = select(func.count()).select_from(Notification).where(Notification.status == DELIVERED)
        return int(session.exec(query).one())


def test_killing_a_worker_mid_delivery_loses_no_notification(db, world, backend_name):
    if backend_name != "postgresql":
        pytest.skip("a separate worker process: PostgreSQL (SQLite delivers in the API process)")
    short_lease = Database(make_settings(db.settings.database_url, notify_lease_seconds=1, notify_batch=50))
    with webhook_receiver() as receiver:
        with db.transaction() as session:
            endpoint = add_endpoint(session, db.settings, world.provider_b, receiver.url)
            session.add_all(outbox_rows(endpoint.id, world.provider_b, COUNT))
        worker = start_worker(db.settings.database_url)
        stop = threading.Event()
        survivor = threading.Thread(target=run_worker, args=(short_lease,), kwargs={"poll_seconds": 0.05, "stop": stop})
        try:
            receiver.wait_for(lambda r: len(r.requests) >= 200, timeout=120)
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            assert len(receiver.requests) < COUNT, "the kill came too late to prove anything"
            with short_lease.transaction(write=False) as session:
                claimed = session.exec(select(func.count()).where(Notification.status == "sending")).one()
            survivor.start()
            receiver.wait_for(lambda r: len(r.keys) == COUNT, timeout=120)
            deadline = time.monotonic() + 30
            while delivered(db) < COUNT and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            if worker.poll() is None:
                worker.kill()
            if survivor.is_alive():
                survivor.join(timeout=10)
    assert claimed > 0, "the worker died holding no claim: the lease was not put to the test"
    assert receiver.keys == {f"bulk:{i}" for i in range(COUNT)}
    assert len(receiver.requests) >= COUNT  # at least once; a repeat carries its key again
    assert delivered(db) == COUNT
