"""Free places that follow the occupancy feed (issue 14, point 4): a group whose provider chose
so has free places = max(held, contracted places − youths present); admissions, discharges,
holds, proposals and capacity changes move them, and the live feed announces every change as a
report. A group reported by hand is left alone by the feed. The discrepancy list settles each
difference in one action; the crisis overview takes its occupancy from the feed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.availability.service import refresh_feed_groups
from backend.domain import utcnow
from backend.events.models import Event
from backend.occupancy.bulk import StaySpec, bulk_insert_stays
from backend.providers.models import Group
from tests.backend.register.test_terms_and_profile import contracted_a_year_ago
from tests.factories import create_referral, group_row, put_availability


def follow(client: Any, world: Any, group_id: int, who: str, on: bool = True) -> Any:
    return client.put(f"/api/v1/groups/{group_id}/places-source", json={"follow_feed": on}, headers=world.headers(who))


def feed(client: Any, world: Any, who: str, *events: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/v1/occupancy/events", json={"events": list(events)}, headers=world.headers(who))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refused"] == 0, body
    return body  # type: ignore[no-any-return]


def admission(event_id: str, group_id: int, ref: str, hours_ago: float = 3) -> dict[str, Any]:
    at = utcnow() - timedelta(hours=hours_ago)
    return {
        "event_id": event_id,
        "kind": "admission",
        "group_id": group_id,
        "at": at.isoformat(),
        "stay_reference": ref,
        "origin_region_code": "JZ14",
    }


def discharge(event_id: str, group_id: int, ref: str, hours_ago: float = 1) -> dict[str, Any]:
    at = utcnow() - timedelta(hours=hours_ago)
    return {
        "event_id": event_id,
        "kind": "discharge",
        "group_id": group_id,
        "at": at.isoformat(),
        "stay_reference": ref,
    }


@contextmanager
def live(client: Any, world: Any, who: str = "coordinator") -> Iterator[Any]:
    headers = {"Authorization": f"Bearer {world.tokens[who]}"}
    with client.websocket_connect("/api/v1/live", headers=headers) as ws:
        assert ws.receive_json()["type"] == "hello"
        yield ws


def next_group(ws: Any, group_id: int) -> dict[str, Any]:
    """The next live message that carries the group's public shape."""
    while True:
        message = ws.receive_json()
        if (message.get("group") or {}).get("id") == group_id:
            return message  # type: ignore[no-any-return]


def places(group: dict[str, Any]) -> tuple[int, int, int]:
    return group["free_places"], group["held_places"], group["net_free_places"]


def test_a_feed_group_follows_admissions_discharges_and_holds_and_the_live_feed_says_so(client, world, db):
    wilg = world.groups_b[1]  # crisis group of provider B, 4 places, 1 reported free
    with live(client, world) as ws:
        switched = follow(client, world, wilg, "provider_b")
        assert switched.status_code == 200, switched.text
        assert switched.json()["places_from_feed"] is True and places(switched.json()) == (4, 0, 4)
        message = next_group(ws, wilg)
        assert message["type"] == "availability.changed" and places(message["group"]) == (4, 0, 4)

        feed(client, world, "key_b", admission("a1", wilg, "ST-1"), admission("a2", wilg, "ST-2"))
        message = next_group(ws, wilg)
        assert message["type"] == "availability.changed"
        assert places(message["group"]) == (2, 0, 2) and message["group"]["feed_present"] == 2
        assert message["group"]["stale"] is False

        held = client.post(
            "/api/v1/holds",
            json={"group_id": wilg, "crisis_reference": "CR-77", "age": 15},
            headers=world.headers("crisis"),
        )
        assert held.status_code == 201, held.text
        # A hold takes one of the free places: open places go down, the feed's figure stays.
        assert places(next_group(ws, wilg)["group"]) == (2, 1, 1)

        feed(client, world, "key_b", discharge("d1", wilg, "ST-1"))
        message = next_group(ws, wilg)
        assert message["type"] == "availability.changed" and places(message["group"]) == (3, 1, 2)

        released = client.delete(f"/api/v1/holds/{held.json()['id']}", headers=world.headers("crisis"))
        assert released.status_code == 200, released.text
        assert places(next_group(ws, wilg)["group"]) == (3, 0, 3)
    row = group_row(db, wilg)
    assert (row.free_places, row.held_places, row.feed_present, row.places_from_feed) == (3, 0, 1, True)
    with db.transaction(write=False) as session:
        audited = session.exec(select(AuditEntry).where(AuditEntry.action == "availability.feed")).all()
        switch = session.exec(select(AuditEntry).where(AuditEntry.action == "availability.places_from_feed")).one()
    assert [a.detail["feed_present"] for a in audited] == [2, 1]
    assert switch.actor_role == "provider" and switch.detail["before"] == {"places_from_feed": False, "free_places": 1}


def test_an_open_proposal_is_held_and_its_arrival_counts_through_the_feed(client, world, db):
    group_id = world.groups_a[0]  # woongroep of provider A, 8 places
    assert follow(client, world, group_id, "admin").status_code == 200  # the region's administrator may too
    feed(client, world, "key_a", admission("a1", group_id, "ST-A1"))
    assert places(client.get(f"/api/v1/groups/{group_id}", headers=world.headers("provider_a")).json()) == (7, 0, 7)
    referral = create_referral(client, world)
    with live(client, world) as ws:
        sent = client.post(
            f"/api/v1/referrals/{referral['id']}/proposals",
            json={"group_id": group_id},
            headers=world.headers("coordinator"),
        )
        assert sent.status_code == 201, sent.text
        assert places(next_group(ws, group_id)["group"]) == (7, 1, 6)
        accepted = client.post(f"/api/v1/proposals/{sent.json()['id']}/accept", headers=world.headers("provider_a"))
        assert accepted.status_code == 200, accepted.text
        # Accepted is an expected arrival: the place stays held, nobody is present yet.
        row = group_row(db, group_id)
        assert (row.free_places, row.held_places, row.feed_present) == (7, 1, 1)
        arrived = client.post(
            f"/api/v1/placements/{accepted.json()['placement_id']}/arrival",
            json={},
            headers=world.headers("provider_a"),
        )
        assert arrived.status_code == 200, arrived.text
        # On arrival the held place is given up and the youth is present through the admission
        # (in either order: each step derives the free places again).
        final = next_group(ws, group_id)
        while final["group"]["held_places"] != 0 or final["group"]["feed_present"] != 2:
            final = next_group(ws, group_id)
    assert places(final["group"]) == (6, 0, 6)
    row = group_row(db, group_id)
    assert (row.free_places, row.held_places, row.feed_present) == (6, 0, 2)


def test_a_group_reported_by_hand_is_left_alone_by_the_feed(client, world, db):
    group_id = world.groups_a[1]  # 6 places, 1 reported free, manual
    before = group_row(db, group_id)
    feed(client, world, "key_a", admission("a1", group_id, "ST-1"), admission("a2", group_id, "ST-2"))
    after = group_row(db, group_id)
    assert (after.free_places, after.version, after.reported_at) == (1, before.version, before.reported_at)
    with db.transaction(write=False) as session:
        changed = session.exec(select(Event).where(Event.type == "availability.changed")).all()
    assert changed == []
    # ... and its provider keeps reporting free places by hand.
    assert put_availability(client, world, group_id, {"free_places": 3}).status_code == 200


def test_a_report_on_a_feed_group_may_change_admitting_but_not_the_free_places(client, world, db):
    group_id = world.groups_a[0]
    assert follow(client, world, group_id, "provider_a").status_code == 200
    refused = put_availability(client, world, group_id, {"free_places": 2})
    assert refused.status_code == 422
    assert refused.json()["code"] == "free_places_from_feed" and "bezettingsfeed" in refused.json()["detail"]
    row = group_row(db, group_id)
    assert (row.free_places, row.admitting) == (8, True)
    kept = put_availability(
        client, world, group_id, {"free_places": 8, "admitting": False, "reason": "personeelstekort"}
    )
    assert kept.status_code == 200, kept.text
    assert (kept.json()["free_places"], kept.json()["admitting"], kept.json()["reason"]) == (
        8,
        False,
        "personeelstekort",
    )
    # Switched back, the provider reports free places again.
    back = follow(client, world, group_id, "provider_a", on=False)
    assert back.status_code == 200 and back.json()["places_from_feed"] is False
    assert put_availability(client, world, group_id, {"free_places": 2, "admitting": True}).status_code == 200


def test_who_may_switch_a_group_to_the_feed(client, world, db):
    own_b = world.groups_b[1]
    assert follow(client, world, own_b, "provider_a").status_code == 404  # another provider's group
    assert follow(client, world, own_b, "coordinator").status_code == 403
    assert follow(client, world, own_b, "key_b").status_code == 200  # the provider's own system
    refused = client.put(
        f"/api/v1/groups/{own_b}/places-source", json={"follow_feed": "ja", "x": 1}, headers=world.headers("provider_b")
    )
    assert refused.status_code == 422


def test_a_capacity_change_moves_derived_free_places_and_shows_over_booking(client, world, db):
    wilg = world.groups_b[1]  # 4 places
    assert follow(client, world, wilg, "provider_b").status_code == 200
    feed(
        client,
        world,
        "key_b",
        admission("a1", wilg, "ST-1"),
        admission("a2", wilg, "ST-2"),
        admission("a3", wilg, "ST-3"),
    )
    held = client.post(
        "/api/v1/holds", json={"group_id": wilg, "crisis_reference": "CR-1", "age": 15}, headers=world.headers("crisis")
    )
    assert held.status_code == 201, held.text
    assert (group_row(db, wilg).free_places, group_row(db, wilg).held_places) == (1, 1)
    contracted_a_year_ago(db, wilg)
    with live(client, world) as ws:
        more = client.post(
            f"/api/v1/groups/{wilg}/contract-terms",
            json={
                "valid_from": (utcnow().date() - timedelta(days=1)).isoformat(),
                "contracted_places": 6,
                "availability_funded": False,
            },
            headers=world.headers("admin"),
        )
        assert more.status_code == 201, more.text
        assert places(next_group(ws, wilg)["group"]) == (3, 1, 2)
        fewer = client.post(
            f"/api/v1/groups/{wilg}/contract-terms",
            json={"valid_from": utcnow().date().isoformat(), "contracted_places": 3, "availability_funded": False},
            headers=world.headers("admin"),
        )
        assert fewer.status_code == 201, fewer.text
        # 3 places, 3 present, 1 held: over-booked by one. Free stays at the held place (the
        # CHECK), nothing is open, and the public shape lets every screen warn.
        group = next_group(ws, wilg)["group"]
    assert places(group) == (1, 1, 0)
    assert (group["capacity"], group["feed_present"]) == (3, 3)
    assert group["held_places"] - max(0, group["capacity"] - group["feed_present"]) == 1
    overview = client.get("/api/v1/crisis/overview", headers=world.headers("coordinator")).json()
    assert next(g for g in overview["groups"] if g["group_id"] == wilg)["over_booked"] == 1
    assert client.delete(f"/api/v1/holds/{held.json()['id']}", headers=world.headers("crisis")).status_code == 200
    assert (group_row(db, wilg).free_places, group_row(db, wilg).held_places) == (0, 0)


def test_the_discrepancy_list_settles_each_difference_in_one_action(client, world, db):
    eik, esdoorn = world.groups_a[1], world.groups_a[0]  # 6 places 1 free; 8 places 2 free
    feed(client, world, "key_a", admission("a1", eik, "ST-1"), admission("a2", esdoorn, "ST-2"))
    listed = client.get("/api/v1/occupancy/discrepancies", headers=world.headers("provider_a")).json()
    by_id = {d["group_id"]: d for d in listed}
    assert (by_id[eik]["reported_free_places"], by_id[eik]["feed_free_places"]) == (1, 5)
    assert (by_id[esdoorn]["reported_free_places"], by_id[esdoorn]["feed_free_places"]) == (2, 7)

    taken = client.post(
        f"/api/v1/occupancy/discrepancies/{eik}/resolve",
        json={"action": "take_feed"},
        headers=world.headers("provider_a"),
    )
    assert taken.status_code == 200, taken.text
    assert (taken.json()["free_places"], taken.json()["places_from_feed"]) == (5, False)
    followed = client.post(
        f"/api/v1/occupancy/discrepancies/{esdoorn}/resolve",
        json={"action": "follow_feed"},
        headers=world.headers("provider_a"),
    )
    assert followed.status_code == 200, followed.text
    assert (followed.json()["free_places"], followed.json()["places_from_feed"]) == (7, True)
    assert client.get("/api/v1/occupancy/discrepancies", headers=world.headers("provider_a")).json() == []
    # The coordinator sees the list, but the difference is the provider's to settle.
    forbidden = client.post(
        f"/api/v1/occupancy/discrepancies/{eik}/resolve",
        json={"action": "take_feed"},
        headers=world.headers("coordinator"),
    )
    assert forbidden.status_code == 403
    other = client.post(
        f"/api/v1/occupancy/discrepancies/{eik}/resolve",
        json={"action": "take_feed"},
        headers=world.headers("provider_b"),
    )
    assert other.status_code == 404


def test_take_feed_keeps_the_held_places_and_refuses_without_feed_data(client, world, db):
    wilg = world.groups_b[1]  # 4 places, 1 free
    assert (
        client.post(
            "/api/v1/holds",
            json={"group_id": wilg, "crisis_reference": "CR-1", "age": 15},
            headers=world.headers("crisis"),
        ).status_code
        == 201
    )
    none = client.post(
        f"/api/v1/occupancy/discrepancies/{wilg}/resolve", json={"action": "take_feed"}, headers=world.headers("key_b")
    )
    assert none.status_code == 422 and none.json()["code"] == "no_feed_data"
    feed(
        client,
        world,
        "key_b",
        *(admission(f"a{i}", wilg, f"ST-{i}") for i in range(4)),
    )  # the feed counts the group full, the hold still stands
    taken = client.post(
        f"/api/v1/occupancy/discrepancies/{wilg}/resolve", json={"action": "take_feed"}, headers=world.headers("key_b")
    )
    assert taken.status_code == 200, taken.text
    assert places(taken.json()) == (1, 1, 0)


def test_the_crisis_overview_takes_occupancy_from_the_feed(client, world, db):
    wilg = world.groups_b[1]  # 4 places, 1 reported free: by the report 3 occupied
    before = client.get("/api/v1/crisis/overview", headers=world.headers("coordinator")).json()
    row = next(g for g in before["groups"] if g["group_id"] == wilg)
    assert (row["occupied_today"], row["occupancy_source"]) == (3, "report")
    feed(client, world, "key_b", admission("a1", wilg, "ST-1"), admission("a2", wilg, "ST-2"))
    after = client.get("/api/v1/crisis/overview", headers=world.headers("coordinator")).json()
    row = next(g for g in after["groups"] if g["group_id"] == wilg)
    assert (row["occupied_today"], row["occupancy_rate"], row["occupancy_source"]) == (2, 0.5, "events")
    assert after["totals"]["occupied_today"] == 2


def test_present_stays_by_reference_for_the_provider_and_the_regions_coordinator(client, world, db):
    wilg = world.groups_b[1]
    feed(
        client,
        world,
        "key_b",
        admission("a1", wilg, "ST-1", hours_ago=5),
        admission("a2", wilg, "ST-2", hours_ago=4),
        discharge("d1", wilg, "ST-1"),
    )
    mine = client.get(f"/api/v1/occupancy/groups/{wilg}/stays", headers=world.headers("provider_b"))
    assert mine.status_code == 200, mine.text
    assert [(s["stay_reference"], s["admission_event_id"], s["origin_region_code"]) for s in mine.json()] == [
        ("ST-2", "a2", "JZ14")
    ]
    assert client.get(f"/api/v1/occupancy/groups/{wilg}/stays", headers=world.headers("coordinator")).status_code == 200
    assert client.get(f"/api/v1/occupancy/groups/{wilg}/stays", headers=world.headers("provider_a")).status_code == 404
    assert client.get(f"/api/v1/occupancy/groups/{wilg}/stays", headers=world.headers("viewer")).status_code == 403
    with db.transaction(write=False) as session:
        reads = session.exec(select(AuditEntry).where(AuditEntry.action == "occupancy.stays.read")).all()
    assert [(r.actor_role, r.purpose) for r in reads] == [
        ("provider", "occupancy_check"),
        ("coordinator", "occupancy_check"),
    ]


def test_the_periodic_refresh_derives_again_what_no_batch_announced(client, world, db):
    wilg = world.groups_b[1]
    assert follow(client, world, wilg, "provider_b").status_code == 200
    now = utcnow()
    with db.transaction() as session:
        # Stays loaded in bulk (as the demo does) reach no batch's announcement.
        bulk_insert_stays(
            session=session,
            stays=[
                StaySpec(
                    group_id=wilg,
                    provider_id=world.provider_b,
                    stay_reference=f"bulk-{i}",
                    origin_region_code="JZ14",
                    admitted_at=now - timedelta(days=2),
                    discharged_at=None,
                )
                for i in range(3)
            ],
            source="test",
        )
    assert group_row(db, wilg).free_places == 4
    assert refresh_feed_groups(db) == 1
    row = group_row(db, wilg)
    assert (row.free_places, row.feed_present) == (1, 3)
    assert refresh_feed_groups(db) == 0  # nothing behind: nothing written
    with db.transaction() as session:
        session.execute(update(Group).where(Group.id == wilg).values(places_from_feed=False))
    assert refresh_feed_groups(db) == 0
