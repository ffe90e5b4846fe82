"""No double booking, guaranteed by the database: 100 crisis workers press "vasthouden" on the
same group at the same moment, through real servers (threads and separate processes)."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack

import httpx
import pytest

from tests.backend.crisis.helpers import events, group_row, set_places
from tests.conftest import TEST_SECRET
from tests.servers import running_server, server_process

N_REQUESTS = 100


def fire_at_once(
    base_urls: list[str], requests: list[tuple[str, str, dict | None]], headers: dict
) -> list[httpx.Response]:
    """Send all requests at the same moment: every one is open before any answer is read.

    asyncio rather than 100 threads: the same concurrency on the server side, far less overhead
    on the 2-core machine the tests run on. Requests alternate between the given servers."""

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
        async with httpx.AsyncClient(headers=headers, timeout=120.0, limits=limits) as http:
            return await asyncio.gather(
                *(
                    http.request(method, base_urls[i % len(base_urls)] + path, json=body)
                    for i, (method, path, body) in enumerate(requests)
                )
            )

    return asyncio.run(run())


def hold_requests(group_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("POST", "/api/v1/holds", {"group_id": group_id, "crisis_reference": f"CR-{i:03d}"}) for i in range(N_REQUESTS)
    ]


def check_outcome(responses: list[httpx.Response], free: int) -> None:
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * free + [409] * (N_REQUESTS - free), (
        codes,
        [r.text for r in responses if r.status_code >= 500][:3],
    )
    for refused in (r for r in responses if r.status_code == 409):
        body = refused.json()
        assert body["detail"].startswith("Deze plaats is net door iemand anders vastgehouden of bezet.")
        assert "alternatives" in body


def test_one_free_place_100_concurrent_holds_exactly_one_wins(settings, world, db):
    group_id = world.groups_b[1]  # Crisisgroep Wilg
    set_places(db, group_id, free=1)
    with running_server(settings) as base_url:
        responses = fire_at_once([base_url], hold_requests(group_id), world.headers("crisis"))
    check_outcome(responses, 1)
    row = group_row(db, group_id)
    assert (row.free_places, row.held_places) == (1, 1)
    assert [e.type for e in events(db)] == ["hold.created"]


def test_three_free_places_two_processes_exactly_three_win(settings, database_url, world, db):
    group_id = world.groups_b[1]
    set_places(db, group_id, free=3)
    # Two API replicas (a separate process and one in this process) on one database: only the
    # database can keep the count right.
    with ExitStack() as stack:
        other = stack.enter_context(server_process(database_url, secret_key=TEST_SECRET))
        here = stack.enter_context(running_server(settings))
        responses = fire_at_once([other, here], hold_requests(group_id), world.headers("crisis"))
    check_outcome(responses, 3)
    row = group_row(db, group_id)
    assert (row.free_places, row.held_places) == (3, 3)
    assert len(events(db)) == 3


def test_confirm_and_release_racing_on_one_hold_only_one_wins(settings, world, db):
    group_id = world.groups_b[1]
    set_places(db, group_id, free=2)
    with running_server(settings) as base_url:
        headers = world.headers("crisis")
        created = httpx.post(
            f"{base_url}/api/v1/holds", headers=headers, json={"group_id": group_id, "crisis_reference": "CR-RACE"}
        )
        assert created.status_code == 201
        hold_id = created.json()["id"]
        racing = [("POST", f"/api/v1/holds/{hold_id}/confirm", None), ("DELETE", f"/api/v1/holds/{hold_id}", None)] * 10
        responses = fire_at_once([base_url], racing, headers)
    assert sorted(r.status_code for r in responses) == [200] + [409] * 19
    [winner] = [r for r in responses if r.status_code == 200]
    row = group_row(db, group_id)
    if winner.json()["status"] == "confirmed":
        assert (row.free_places, row.held_places) == (1, 0)
    else:
        assert (row.free_places, row.held_places) == (2, 0)
    assert len(events(db)) == 2


def test_database_refuses_held_above_free_even_without_the_condition(db, world):
    """The CHECK constraint is the backstop: a write that skips the conditional UPDATE fails."""
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    from backend.providers.models import Group

    group_id = world.groups_b[1]
    set_places(db, group_id, free=0)
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.execute(update(Group).where(Group.id == group_id).values(held_places=Group.held_places + 1))
    assert group_row(db, group_id).held_places == 0
