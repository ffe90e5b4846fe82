"""Concurrent availability reports through a real server: none is lost, versions and event
sequence numbers advance by exactly the number of reports, without gaps, in commit order."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest
from sqlmodel import col, select

from backend.audit.models import AuditEntry
from backend.events.models import Event
from backend.providers.models import Group
from tests.conftest import TEST_SECRET
from tests.servers import running_server, server_process

N = 50


async def _fire(
    base_url: str, group_id: int, headers: dict[str, str], *, count: int = N, one_retried: bool = False
) -> list[httpx.Response]:
    """``count`` reports at the same moment: different ones, or (``one_retried``) the same
    report with the same Idempotency-Key, as a client retrying in a storm sends it."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:
        start = asyncio.Event()

        async def one(i: int) -> httpx.Response:
            await start.wait()
            body, key = (
                ({"free_places": 2, "waiting_list": 7}, "one-retry-storm")
                if one_retried
                else ({"free_places": i % 5, "waiting_list": i}, f"concurrent-{i}")
            )
            return await http.put(
                f"/api/v1/groups/{group_id}/availability", json=body, headers={**headers, "Idempotency-Key": key}
            )

        tasks = [asyncio.create_task(one(i)) for i in range(count)]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)


def _check(db, group_id: int, responses: list[httpx.Response], seq_before: int, version_before: int) -> None:  # type: ignore[no-untyped-def]
    assert [r.status_code for r in responses] == [200] * N, [r.text for r in responses if r.status_code != 200][:3]
    versions = sorted(r.json()["version"] for r in responses)
    seqs = sorted(int(r.headers["X-Event-Seq"]) for r in responses)
    assert versions == list(range(version_before + 1, version_before + N + 1))
    assert seqs == list(range(seq_before + 1, seq_before + N + 1))
    with db.transaction(write=False) as session:
        group = session.get(Group, group_id)
        events = session.exec(select(Event).where(Event.seq > seq_before).order_by(col(Event.seq))).all()
    assert group.version == version_before + N
    assert [e.seq for e in events] == seqs
    # Sequence order is commit order: each event carries the next version of the group.
    assert [e.payload["group"]["version"] for e in events] == versions
    # The stored state is the one of the last committed report.
    last = events[-1].payload["group"]
    assert (group.free_places, group.waiting_list) == (last["free_places"], last["waiting_list"])
    # Each audit row's "before" is the state the previous report left: none read a stale row.
    with db.transaction(write=False) as session:
        audits = session.exec(
            select(AuditEntry)
            .where(AuditEntry.action == "availability.update", AuditEntry.object_id == str(group_id))
            .order_by(col(AuditEntry.id))
        ).all()
    chain = [a.detail for a in audits if a.detail["seq"] in set(seqs)]
    assert [d["seq"] for d in sorted(chain, key=lambda d: d["seq"])] == seqs
    chain.sort(key=lambda d: d["after"]["version"])
    for previous, current in itertools.pairwise(chain):
        assert current["before"] == previous["after"]


@pytest.mark.postgres_only
def test_20_concurrent_retries_with_one_key_change_once_on_postgresql(backend_name, database_url, db, world):
    """A client that retries in a storm (or a proxy that repeats requests) gets one change and
    twenty identical answers, even when the retries arrive together at two processes."""
    if backend_name != "postgresql":
        pytest.skip("two API worker processes need PostgreSQL")
    group_id = world.groups_a[1]
    seq_before, version_before = _state(db, group_id)
    with server_process(database_url, secret_key=TEST_SECRET, workers=2) as base_url:
        responses = asyncio.run(_fire(base_url, group_id, world.headers("key_a"), count=20, one_retried=True))
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses][:3]
    assert len({r.text for r in responses}) == 1
    assert {r.headers["ETag"] for r in responses} == {f'"{version_before + 1}"'}
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert _state(db, group_id) == (seq_before + 1, version_before + 1)


def _state(db, group_id: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    from backend.events.service import last_seq

    with db.transaction(write=False) as session:
        return last_seq(session), session.get(Group, group_id).version


@pytest.mark.postgres_only
def test_50_concurrent_updates_to_one_group_all_land_on_postgresql(backend_name, database_url, db, world):
    if backend_name != "postgresql":
        pytest.skip("two API worker processes need PostgreSQL")
    group_id = world.groups_a[0]
    seq_before, version_before = _state(db, group_id)
    with server_process(database_url, secret_key=TEST_SECRET, workers=2) as base_url:
        responses = asyncio.run(_fire(base_url, group_id, world.headers("key_a")))
    _check(db, group_id, responses, seq_before, version_before)


def test_50_concurrent_updates_to_one_group_all_land(settings, db, world):
    """The same on either database with uvicorn in a thread of this process (on SQLite
    writers queue on ``BEGIN IMMEDIATE``; on PostgreSQL on the group's row lock)."""
    group_id = world.groups_b[0]
    seq_before, version_before = _state(db, group_id)
    with running_server(settings) as base_url:
        responses = asyncio.run(_fire(base_url, group_id, world.headers("provider_b")))
    _check(db, group_id, responses, seq_before, version_before)
