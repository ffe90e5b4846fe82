"""Every create honours ``Idempotency-Key`` like the availability report: a retry with the same
key and body gets the first answer (status, body, headers, ``Idempotent-Replayed: true``) and
makes nothing new; the same key with another body is refused in Dutch and changes nothing; and
concurrent requests with one key make one object (holds, through a real server)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import func, select

from backend.crisis.models import Hold
from backend.domain import utcnow
from backend.matching.models import MatchingRun
from backend.occupancy.models import OccupancyCensus, OccupancyEvent
from backend.placements.models import Placement
from backend.proposals.models import Proposal
from backend.referrals.models import Referral
from tests.backend.crisis.test_concurrency import fire_at_once
from tests.factories import create_referral, group_row, referral_body, set_free
from tests.servers import running_server

REPLAYED = "Idempotent-Replayed"


def count(db: Any, table: Any) -> int:
    with db.transaction(write=False) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


@dataclass
class Create:
    """One kind of create: who sends it, where, two different bodies, and what it makes."""

    who: str
    path: Callable[[Any, Any, Any], str]
    body: Callable[[Any], dict[str, Any]]
    other: Callable[[Any], dict[str, Any]]
    table: Any
    status: int = 201


def yesterday() -> str:
    return (utcnow() - timedelta(days=1)).isoformat()


def admission(world: Any, event_id: str) -> dict[str, Any]:
    return {
        "events": [
            {
                "event_id": event_id,
                "kind": "admission",
                "group_id": world.groups_a[1],
                "at": yesterday(),
                "stay_reference": "ST-1",
                "origin_region_code": "JZ14",
            }
        ]
    }


def arrived_placement(client: Any, world: Any) -> int:
    """A youth placed in group A0 (proposal accepted, arrival recorded)."""
    referral = create_referral(client, world, "TW-VERHUIS")
    proposal = client.post(
        f"/api/v1/referrals/{referral['id']}/proposals",
        json={"group_id": world.groups_a[0]},
        headers=world.headers("coordinator"),
    ).json()
    accepted = client.post(f"/api/v1/proposals/{proposal['id']}/accept", headers=world.headers("provider_a"))
    placement_id = accepted.json()["placement_id"]
    arrived = client.post(f"/api/v1/placements/{placement_id}/arrival", json={}, headers=world.headers("provider_a"))
    assert arrived.status_code == 200, arrived.text
    return int(placement_id)


CREATES = {
    "hold": Create(
        who="crisis",
        path=lambda client, world, db: "/api/v1/holds",
        body=lambda world: {"group_id": world.groups_b[1], "crisis_reference": "CR-1", "age": 15},
        other=lambda world: {"group_id": world.groups_b[1], "crisis_reference": "CR-2", "age": 15},
        table=Hold,
    ),
    "referral": Create(
        who="coordinator",
        path=lambda client, world, db: "/api/v1/referrals",
        body=lambda world: referral_body("TW-1"),
        other=lambda world: referral_body("TW-2"),
        table=Referral,
    ),
    "proposal": Create(
        who="coordinator",
        path=lambda client, world, db: f"/api/v1/referrals/{create_referral(client, world)['id']}/proposals",
        body=lambda world: {"group_id": world.groups_a[0]},
        other=lambda world: {"group_id": world.groups_a[1]},
        table=Proposal,
    ),
    "matching run": Create(
        who="coordinator",
        path=lambda client, world, db: create_referral(client, world) and "/api/v1/matching/runs",
        body=lambda world: {},
        other=lambda world: {"time_limit_s": 5},
        table=MatchingRun,
    ),
    "occupancy events": Create(
        who="key_a",
        path=lambda client, world, db: "/api/v1/occupancy/events",
        body=lambda world: admission(world, "e-1"),
        other=lambda world: admission(world, "e-2"),
        table=OccupancyEvent,
        status=200,
    ),
    # A transfer makes the youth's next placement (a discharge here, an admission there).
    "placement transfer": Create(
        who="provider_a",
        path=lambda client, world, db: f"/api/v1/placements/{arrived_placement(client, world)}/transfer",
        body=lambda world: {"group_id": world.groups_a[1]},
        other=lambda world: {"group_id": world.groups_a[1], "stay_reference": "EIK-1"},
        table=Placement,
    ),
    "occupancy census": Create(
        who="key_a",
        path=lambda client, world, db: "/api/v1/occupancy/census",
        body=lambda world: {"counts": [{"group_id": world.groups_a[1], "date": yesterday()[:10], "present": 3}]},
        other=lambda world: {"counts": [{"group_id": world.groups_a[1], "date": yesterday()[:10], "present": 4}]},
        table=OccupancyCensus,
        status=200,
    ),
}


@pytest.mark.parametrize("kind", list(CREATES))
def test_a_retry_with_the_same_key_gets_the_first_answer_and_makes_nothing_new(client, world, db, kind):
    create = CREATES[kind]
    set_free(client, world, world.groups_b[1], 3, "provider_b")  # room for more than one hold
    path = create.path(client, world, db)
    before = count(db, create.table)

    def send(body: dict[str, Any], key: str = "retry-1") -> Any:
        return client.post(path, json=body, headers={**world.headers(create.who), "Idempotency-Key": key})

    body = create.body(world)
    first = send(body)
    assert first.status_code == create.status, first.text
    assert REPLAYED not in first.headers
    again = send(body)
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert again.headers[REPLAYED] == "true"
    for header in ("Location", "ETag", "X-Event-Seq"):
        assert again.headers.get(header) == first.headers.get(header)
    assert count(db, create.table) == before + 1

    reused = send(create.other(world))
    assert reused.status_code == 422, reused.text
    assert reused.json()["code"] == "idempotency_key_reused" and "al gebruikt" in reused.json()["detail"]
    assert count(db, create.table) == before + 1


def test_two_holds_with_one_key_claim_one_place_and_without_a_key_two(client, world, db):
    group_id = world.groups_b[1]
    set_free(client, world, group_id, 3, "provider_b")
    body = {"group_id": group_id, "crisis_reference": "CR-1", "age": 15}
    keyed = {**world.headers("crisis"), "Idempotency-Key": "een-sleutel"}
    answers = [client.post("/api/v1/holds", json=body, headers=keyed) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201] and answers[0].json()["id"] == answers[1].json()["id"]
    assert group_row(db, group_id).held_places == 1
    # Without a key a second press is a second hold: the key is what makes the retry safe.
    assert client.post("/api/v1/holds", json=body, headers=world.headers("crisis")).status_code == 201
    assert group_row(db, group_id).held_places == 2


def test_a_refused_create_keeps_no_claim_so_the_retry_is_done(client, world, db):
    headers = {**world.headers("coordinator"), "Idempotency-Key": "run-1"}
    refused = client.post("/api/v1/matching/runs", json={}, headers=headers)
    assert refused.status_code == 422 and refused.json()["code"] == "nothing_to_match"
    create_referral(client, world)
    done = client.post("/api/v1/matching/runs", json={}, headers=headers)
    assert done.status_code == 201, done.text
    assert REPLAYED not in done.headers
    again = client.post("/api/v1/matching/runs", json={}, headers=headers)
    assert again.headers[REPLAYED] == "true" and again.json()["id"] == done.json()["id"]
    # A refused hold (not a crisis place) rolls its claim back with it: the key is free again.
    held = {**world.headers("crisis"), "Idempotency-Key": "hold-1"}
    wrong = client.post("/api/v1/holds", json={"group_id": world.groups_a[0], "crisis_reference": "CR-1"}, headers=held)
    assert wrong.status_code == 422 and wrong.json()["code"] == "not_crisis_place"
    wilg = client.post("/api/v1/holds", json={"group_id": world.groups_b[1], "crisis_reference": "CR-1"}, headers=held)
    assert wilg.status_code == 201 and REPLAYED not in wilg.headers


def test_an_invalid_key_is_refused_in_dutch(client, world):
    headers = {**world.headers("coordinator"), "Idempotency-Key": "x" * 201}
    response = client.post("/api/v1/referrals", json=referral_body(), headers=headers)
    assert response.status_code == 422 and "Idempotency-Key" in response.json()["detail"]


def test_concurrent_holds_with_one_key_make_one_hold(settings, world, db):
    """20 presses of "vasthouden" at the same moment with one key (a client retrying in a
    storm), through a real server: one hold, one place, and 19 replays of its answer."""
    group_id = world.groups_b[1]
    with db.transaction() as session:
        from backend.providers.models import Group

        group = session.get(Group, group_id)
        group.free_places = 3
        session.add(group)
    body = {"group_id": group_id, "crisis_reference": "CR-STORM", "age": 15}
    headers = {**world.headers("crisis"), "Idempotency-Key": "storm-1"}
    with running_server(settings) as base_url:
        responses = fire_at_once([base_url], [("POST", "/api/v1/holds", body)] * 20, headers)
    assert sorted(r.status_code for r in responses) == [201] * 20, [r.text for r in responses if r.status_code != 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get(REPLAYED) == "true" for r in responses) == 19
    assert count(db, Hold) == 1
    assert group_row(db, group_id).held_places == 1


@pytest.mark.parametrize("kind", ["referral", "occupancy events"])
def test_concurrent_creates_with_one_key_make_one_object(settings, world, db, kind):
    """The same for a referral and an occupancy batch: ten at once with one key, one object."""
    create = CREATES[kind]
    body = create.body(world)
    headers = {**world.headers(create.who), "Idempotency-Key": f"storm-{kind}"}
    with running_server(settings) as base_url:
        responses = fire_at_once([base_url], [("POST", create.path(None, world, db), body)] * 10, headers)
    assert sorted(r.status_code for r in responses) == [create.status] * 10, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    assert sum(r.headers.get(REPLAYED) == "true" for r in responses) == 9
    assert count(db, create.table) == 1
