"""The live feed in one process (Starlette's TestClient): messages, filters, visibility,
authentication (one-time tickets, headers; never a credential in the URL), replay with
``since`` and the snapshot fallback.

"Does not receive" is shown by ordering, not by waiting: the feed delivers in sequence order,
so when an invisible change is made first and a visible one second, the first message the
client gets must be the visible one.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from starlette.websockets import WebSocketDisconnect


def live_url(**params: object) -> str:
    pairs: list[tuple[str, object]] = []
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, item))
    return "/api/v1/live?" + urlencode(pairs)


def connect(client, *, token: str | None = None, api_key: str | None = None, **params: object):  # type: ignore[no-untyped-def]
    """A websocket with the credential in a header (how provider systems connect)."""
    headers = {"X-API-Key": api_key} if api_key else {"Authorization": f"Bearer {token}"}
    return client.websocket_connect(live_url(**params), headers=headers)


def ticket(client, world, who: str) -> str:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/live/ticket", headers=world.headers(who))
    assert response.status_code == 201, response.text
    return str(response.json()["ticket"])


def put(client, world, group_id: int, free: int, who: str):  # type: ignore[no-untyped-def]
    response = client.put(
        f"/api/v1/groups/{group_id}/availability", json={"free_places": free}, headers=world.headers(who)
    )
    assert response.status_code == 200, response.text
    return int(response.headers["X-Event-Seq"])


def owner(world, group_id: int) -> str:  # type: ignore[no-untyped-def]
    return "provider_a" if group_id in world.groups_a else "provider_b"


def next_change(ws) -> dict:  # type: ignore[no-untyped-def]
    """The next message that is not a control message."""
    while True:
        message = ws.receive_json()
        if message["type"] not in ("hello", "snapshot"):
            return message


def test_connected_client_receives_change_with_seq_type_and_new_state(client, world):
    group_id = world.groups_a[0]
    with connect(client, token=world.tokens["coordinator"]) as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["seq"] == 0
        seq = put(client, world, group_id, 5, "provider_a")
        message = ws.receive_json()
    assert message["seq"] == seq == 1
    assert message["type"] == "availability.changed"
    assert message["group_id"] == group_id
    assert message["group"]["id"] == group_id
    assert message["group"]["free_places"] == 5
    assert message["group"]["version"] == 2
    assert message["group"]["net_free_places"] == 5


@pytest.mark.parametrize("who", ["provider_b", "key_b"])
def test_a_browser_connects_with_a_one_time_ticket(client, world, who):
    group_id = world.groups_b[0]
    once = ticket(client, world, who)
    with client.websocket_connect(live_url(ticket=once)) as ws:
        assert ws.receive_json()["type"] == "hello"
        put(client, world, group_id, 3, "key_b")
        message = next_change(ws)
    assert (message["group_id"], message["group"]["free_places"]) == (group_id, 3)
    # Used up: the same ticket opens nothing a second time.
    with pytest.raises(WebSocketDisconnect) as closed:  # noqa: SIM117 - the connect itself fails
        with client.websocket_connect(live_url(ticket=once)) as ws:
            ws.receive_json()
    assert closed.value.code == 1008


@pytest.mark.parametrize("who", ["provider_b", "key_b"])
def test_a_token_or_key_in_the_url_is_not_accepted(client, world, who):
    """Credentials in a URL end up in access logs: the feed no longer reads them there."""
    query = {"token": world.tokens[who]} if who in world.tokens else {"api_key": world.api_keys[who]}
    with pytest.raises(WebSocketDisconnect) as closed:  # noqa: SIM117 - the connect itself fails
        with client.websocket_connect(live_url(**query)) as ws:
            ws.receive_json()
    assert closed.value.code == 1008


def test_authorization_header_works_too(client, world):
    with client.websocket_connect("/api/v1/live", headers=world.headers("viewer")) as ws:
        assert ws.receive_json()["type"] == "hello"


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ({}, {"Authorization": "Bearer not-a-jwt"}),
        ({}, {"X-API-Key": "pw_000000000000.wrong"}),
        ({"ticket": "geen-geldig-ticket"}, {}),
        ({}, {}),
    ],
)
def test_bad_or_missing_credentials_close_the_connection(client, world, query, headers):
    with pytest.raises(WebSocketDisconnect) as closed:  # noqa: SIM117 - the connect itself fails
        with client.websocket_connect(live_url(**query), headers=headers) as ws:
            ws.receive_json()
    assert closed.value.code == 1008


def test_invalid_filter_closes_with_explanation(client, world):
    with pytest.raises(WebSocketDisconnect) as closed:  # noqa: SIM117
        with connect(client, token=world.tokens["admin"], municipality_id="Enschede") as ws:
            ws.receive_json()
    assert closed.value.code == 1008


def test_provider_never_receives_another_providers_group_changes(client, world):
    other, own = world.groups_a[0], world.groups_b[1]
    with connect(client, token=world.tokens["provider_b"]) as ws:
        ws.receive_json()
        put(client, world, other, 4, "provider_a")
        put(client, world, own, 0, "provider_b")
        message = next_change(ws)
    assert message["group_id"] == own
    assert message["provider_id"] == world.provider_b


def test_provider_replay_skips_other_providers_changes(client, world):
    put(client, world, world.groups_a[0], 4, "provider_a")
    put(client, world, world.groups_b[0], 2, "provider_b")
    put(client, world, world.groups_a[1], 0, "provider_a")
    with connect(client, api_key=world.api_keys["key_b"], since=0) as ws:
        replayed = ws.receive_json()
        hello = ws.receive_json()
    assert (replayed["seq"], replayed["group_id"]) == (2, world.groups_b[0])
    assert hello == {"type": "hello", "seq": 3, "replayed": 1}


def test_care_form_filter(client, world):
    woongroep, behandelgroep = world.groups_a  # care forms of the factory world
    with connect(client, token=world.tokens["coordinator"], care_form="behandelgroep") as ws:
        ws.receive_json()
        put(client, world, woongroep, 4, "provider_a")
        put(client, world, behandelgroep, 0, "provider_a")
        message = next_change(ws)
    assert message["group_id"] == behandelgroep
    assert message["group"]["care_form"] == "behandelgroep"


def test_several_care_forms_and_municipality_filter(client, world):
    almelo = world.municipality_ids["Almelo"]
    with connect(client, token=world.tokens["crisis"], care_form=["crisis", "woongroep"], municipality_id=almelo) as ws:
        ws.receive_json()
        put(client, world, world.groups_a[0], 4, "provider_a")  # woongroep in Enschede
        put(client, world, world.groups_b[0], 0, "provider_b")  # gezinshuis in Almelo
        put(client, world, world.groups_b[1], 0, "provider_b")  # crisis in Almelo
        message = next_change(ws)
    assert message["group_id"] == world.groups_b[1]
    assert message["group"]["municipality_id"] == almelo


def test_own_filter(client, world):
    put(client, world, world.groups_a[0], 4, "provider_a")
    put(client, world, world.groups_b[0], 0, "provider_b")
    # An admin sees every provider, but "own" limits the feed to the caller's own groups (none).
    with connect(client, token=world.tokens["admin"], since=0) as ws:
        ws.receive_json(), ws.receive_json()
        assert ws.receive_json() == {"type": "hello", "seq": 2, "replayed": 2}
    with connect(client, token=world.tokens["admin"], since=0, own="true") as ws:
        assert ws.receive_json() == {"type": "hello", "seq": 2, "replayed": 0}
    with connect(client, token=world.tokens["provider_a"], own="true") as ws:
        ws.receive_json()
        put(client, world, world.groups_b[1], 0, "provider_b")
        put(client, world, world.groups_a[1], 0, "provider_a")
        assert next_change(ws)["group_id"] == world.groups_a[1]


def test_reconnect_with_since_returns_exactly_the_missed_events_in_order(client, world):
    a0, a1 = world.groups_a
    with connect(client, token=world.tokens["coordinator"]) as ws:
        ws.receive_json()
        put(client, world, a0, 1, "provider_a")
        put(client, world, a1, 2, "provider_a")
        seen = [next_change(ws)["seq"] for _ in range(2)]
    assert seen == [1, 2]
    # Offline: five changes are made that this client did not see.
    missed = [
        put(client, world, group_id, free, owner(world, group_id))
        for group_id, free in [(a0, 3), (world.groups_b[0], 1), (a1, 0), (a0, 7), (world.groups_b[1], 0)]
    ]
    with connect(client, token=world.tokens["coordinator"], since=seen[-1]) as ws:
        replay = [ws.receive_json() for _ in missed]
        hello = ws.receive_json()
        # After the replay the feed goes on live, without a gap or a duplicate.
        live_seq = put(client, world, a1, 1, "provider_a")
        after = ws.receive_json()
    assert [m["seq"] for m in replay] == missed == [3, 4, 5, 6, 7]
    assert [m["group"]["free_places"] for m in replay] == [3, 1, 0, 7, 0]
    assert hello == {"type": "hello", "seq": 7, "replayed": 5}
    assert after["seq"] == live_seq == 8


def test_too_far_behind_gets_a_snapshot_instead_of_a_replay(client, world, settings):
    settings.live_max_replay = 3
    group_id = world.groups_a[0]
    for free in [1, 2, 3, 4, 5]:
        put(client, world, group_id, free, "provider_a")
    with connect(client, token=world.tokens["coordinator"], since=1) as ws:
        snapshot = ws.receive_json()
        put(client, world, group_id, 6, "provider_a")
        after = ws.receive_json()
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == 5
    by_id = {g["id"]: g for g in snapshot["groups"]}
    assert set(by_id) == {*world.groups_a, *world.groups_b}
    assert by_id[group_id]["free_places"] == 5 and by_id[group_id]["version"] == 6
    assert after["seq"] == 6 and after["group"]["free_places"] == 6


def test_snapshot_respects_visibility_and_filters(client, world):
    with connect(client, token=world.tokens["provider_a"], snapshot="true") as ws:
        own = ws.receive_json()
    with connect(client, token=world.tokens["viewer"], snapshot="true", care_form="crisis") as ws:
        crisis = ws.receive_json()
    assert sorted(g["id"] for g in own["groups"]) == sorted(world.groups_a)
    assert [g["id"] for g in crisis["groups"]] == [world.groups_b[1]]


def test_every_connected_client_that_may_see_it_receives_the_change(client, world):
    group_id = world.groups_b[1]
    viewers = ["admin", "coordinator", "crisis", "viewer", "provider_b"]
    with (
        connect(client, token=world.tokens[viewers[0]]) as w0,
        connect(client, token=world.tokens[viewers[1]]) as w1,
        connect(client, token=world.tokens[viewers[2]]) as w2,
        connect(client, token=world.tokens[viewers[3]]) as w3,
        connect(client, api_key=world.api_keys["key_b"]) as w4,
    ):
        sockets = [w0, w1, w2, w3, w4]
        for ws in sockets:
            ws.receive_json()
        seq = put(client, world, group_id, 0, "provider_b")
        received = [next_change(ws) for ws in sockets]
    assert {(m["seq"], m["group_id"]) for m in received} == {(seq, group_id)}


def test_event_from_a_rolled_back_savepoint_is_never_delivered(client, world, db):
    from backend.events.service import append_event

    with connect(client, token=world.tokens["admin"]) as ws:
        ws.receive_json()
        with db.transaction() as session:
            append_event(session=session, type="test.kept", payload={"n": 1})
            try:
                with session.begin_nested():
                    append_event(session=session, type="test.undone", payload={"n": 2})
                    raise RuntimeError("savepoint fails")
            except RuntimeError:
                pass
            append_event(session=session, type="test.kept", payload={"n": 3})
        first, second = ws.receive_json(), ws.receive_json()
    assert [(m["seq"], m["type"], m["n"]) for m in (first, second)] == [(1, "test.kept", 1), (2, "test.kept", 3)]
