"""The live feed keeps to the region: a websocket of region B's coordinator, crisis worker,
viewer or region administrator never carries region A's events (referrals, holds, places).

"Never receives" is shown by ordering, as in tests/backend/live: the feed delivers in sequence
order, so when region A's changes come first and one visible change of region B last, the first
message each region-B client gets must be region B's."""

from __future__ import annotations

from contextlib import ExitStack

from tests.backend.scope.regions import ROLES_B, build_region_b
from tests.factories import create_referral, set_free


def next_change(ws):  # type: ignore[no-untyped-def]
    while True:
        message = ws.receive_json()
        if message["type"] not in ("hello", "snapshot"):
            return message


def region_a_changes(client, world) -> None:  # type: ignore[no-untyped-def]
    create_referral(client, world, "TW-A-7")
    made = client.post(
        "/api/v1/holds",
        json={"group_id": world.groups_b[1], "crisis_reference": "CR-A-7", "age": 14},
        headers=world.headers("crisis"),
    )
    assert made.status_code == 201, made.text
    set_free(client, world, world.groups_a[0], 1, "provider_a")


def test_region_b_websockets_never_carry_region_a_events(client, world, db, settings):
    b = build_region_b(db, settings)
    with ExitStack() as stack:
        sockets = {
            who: stack.enter_context(client.websocket_connect("/api/v1/live", headers=b.headers(who)))
            for who in ROLES_B
        }
        own = stack.enter_context(client.websocket_connect("/api/v1/live", headers=world.headers("coordinator")))
        for ws in [*sockets.values(), own]:
            assert ws.receive_json()["type"] == "hello"
        region_a_changes(client, world)
        response = client.put(
            f"/api/v1/groups/{b.group_id}/availability", json={"free_places": 1}, headers=b.headers("provider")
        )
        assert response.status_code == 200, response.text
        b_seq = int(response.headers["X-Event-Seq"])
        for who, ws in sockets.items():
            first = next_change(ws)
            assert (first["seq"], first["region_id"]) == (b_seq, b.region_id), f"region B's {who} got {first}"
        # Region A's coordinator does hear region A: the filter is the region, not silence.
        heard = next_change(own)
        assert heard["region_id"] == world.region_id and heard["type"] == "referral.changed"


def test_replay_with_since_skips_region_a_events_too(client, world, db, settings):
    b = build_region_b(db, settings)
    region_a_changes(client, world)
    response = client.put(
        f"/api/v1/groups/{b.group_id}/availability", json={"free_places": 1}, headers=b.headers("provider")
    )
    b_seq = int(response.headers["X-Event-Seq"])
    for who in ROLES_B:
        with client.websocket_connect("/api/v1/live?since=0", headers=b.headers(who)) as ws:
            first = ws.receive_json()
            assert (first["seq"], first["region_id"]) == (b_seq, b.region_id), f"region B's {who} got {first}"
            assert ws.receive_json()["type"] == "hello"
