"""Faults: the database connection cut in the middle of requests, and websocket clients cut off.

A TCP proxy (``proxy.py``) sits between a real API process and PostgreSQL, and a second one
between the clients and the API. The shared PostgreSQL server itself is never stopped. While
writers hammer the API, both proxies drop every connection and refuse new ones for a moment.
What must hold:
- requests during the cut fail cleanly: 503 with a Dutch message and ``Retry-After``, no 500;
- nothing half-written: per group, version, events and audit rows tell the same story, and the
  event sequence is gapless;
- the API process recovers by itself (same process, no restart);
- websocket clients reconnect with ``since=`` and receive every event exactly once.
"""

from __future__ import annotations

import random
import threading
import time

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.events.models import Event
from backend.providers.models import Group
from tests.conftest import TEST_SECRET
from tests.proof.live_client import ResumingListener
from tests.proof.proxy import TcpProxy
from tests.servers import server_process

pytestmark = pytest.mark.slow

DUTCH_503 = "De database is even niet bereikbaar"


def _put(http: httpx.Client, base: str, headers: dict[str, str], group_id: int, free: int) -> httpx.Response:
    return http.put(f"{base}/api/v1/groups/{group_id}/availability", json={"free_places": free}, headers=headers)


def _wait_recovered(http, base, headers, group_id, timeout=20.0) -> float:
    started = time.monotonic()
    last = "geen antwoord"
    while time.monotonic() - started < timeout:
        try:
            response = _put(http, base, headers, group_id, 1)
            if response.status_code == 200:
                return time.monotonic() - started
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise AssertionError(f"de API herstelde niet binnen 20 s na het terugkomen van de database (laatst: {last})")


def test_database_cut_fails_cleanly_recovers_and_feed_resumes(database_url, backend_name, world, db):
    if backend_name != "postgresql":
        pytest.skip("the cut runs through a TCP proxy in front of PostgreSQL")
    url = make_url(database_url)
    headers = world.headers("provider_a")
    groups = world.groups_a
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as db_proxy:
        proxied_db = url.set(host="127.0.0.1", port=db_proxy.port).render_as_string(hide_password=False)
        with server_process(proxied_db, secret_key=TEST_SECRET) as api:
            api_port = int(api.rsplit(":", 1)[1])
            with TcpProxy("127.0.0.1", api_port) as api_proxy, httpx.Client(timeout=15) as http:
                base = f"http://127.0.0.1:{api_proxy.port}"
                listener = ResumingListener(base, world.tokens["admin"]).start()
                for n in range(3):
                    assert _put(http, base, headers, groups[n % 2], n % 2).status_code == 200

                results: list[tuple[int, int, httpx.Response | None]] = []
                stop = threading.Event()

                def writer(seed: int) -> None:
                    rng = random.Random(seed)
                    with httpx.Client(timeout=15) as own:
                        while not stop.is_set():
                            group_id = rng.choice(groups)
                            free = rng.randint(0, 5)
                            try:
                                response = _put(own, api, headers, group_id, free)
                            except httpx.HTTPError:
                                response = None
                            results.append((group_id, free, response))

                threads = [threading.Thread(target=writer, args=(s,)) for s in range(4)]
                for thread in threads:
                    thread.start()
                try:
                    time.sleep(0.6)
                    # The cut: every database connection and every websocket client at once.
                    cut_db = db_proxy.cut()
                    api_proxy.cut()
                    during = _put(http, api, headers, groups[0], 2)
                    listing = http.get(f"{api}/api/v1/availability", headers=headers)
                    time.sleep(1.5)
                    db_proxy.restore()
                    api_proxy.restore()
                    recovery_seconds = _wait_recovered(http, api, headers, groups[0])
                    time.sleep(0.5)
                finally:
                    # Also when an assertion fails: writers left running would keep the test
                    # process alive after its end.
                    stop.set()
                    for thread in threads:
                        thread.join(timeout=30)
                final = _put(http, api, headers, groups[1], 3)
                assert final.status_code == 200, final.text
                final_seq = int(final.headers["X-Event-Seq"])
                assert listener.wait_for(final_seq), (listener.last_seq, final_seq, listener.errors)
                listener.stop()

    # Requests during the cut: a clean, retryable 503 in Dutch.
    assert cut_db >= 1
    for response in (during, listing):
        assert response.status_code == 503, response.text
        assert DUTCH_503 in response.json()["detail"]
        assert response.headers["Retry-After"]
    statuses = [r.status_code if r is not None else "geen antwoord" for _, _, r in results]
    assert set(statuses) <= {200, 503}, sorted(set(map(str, statuses)))
    assert statuses.count(503) >= 1 and statuses.count(200) >= 10
    assert recovery_seconds < 15

    # Nothing half-written.
    with db.transaction(write=False) as session:
        events = list(session.exec(select(Event).order_by(Event.seq)).all())
        audit = list(session.exec(select(AuditEntry).where(AuditEntry.object_type == "group")).all())
        rows = {g.id: g for g in session.exec(select(Group)).all()}
    seqs = [e.seq for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), "gaten in de volgnummers"
    by_seq = {e.seq: e for e in events}
    for group_id in world.groups_a + world.groups_b:
        group_events = [e for e in events if e.group_id == group_id]
        group_audit = [a for a in audit if a.object_id == str(group_id)]
        assert rows[group_id].version - 1 == len(group_events) == len(group_audit)
        assert sorted(a.detail["seq"] for a in group_audit) == [e.seq for e in group_events]
        if group_events:
            assert group_events[-1].payload["group"]["free_places"] == rows[group_id].free_places
            assert group_events[-1].payload["group"]["version"] == rows[group_id].version
    # Every write the client was told succeeded is really there, exactly as answered.
    for group_id, free, response in results:
        if response is not None and response.status_code == 200:
            event = by_seq[int(response.headers["X-Event-Seq"])]
            assert (event.group_id, event.payload["group"]["free_places"]) == (group_id, free)

    # The live feed: reconnected after the cut and lost nothing, delivered nothing twice.
    assert listener.connects >= 2
    assert listener.seqs == list(range(1, final_seq + 1))
