"""The occupancy feed through the API: batches, duplicates, order, capacity, corrections, census,
and the groups whose reported free places disagree with the feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.events.models import Event
from backend.occupancy.models import OccupancyEvent, OccupancyStay

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def ev(event_id, kind, group_id, at, ref, origin="JZ14", **extra):
    body = {"event_id": event_id, "kind": kind, "group_id": group_id, "at": at.isoformat(), "stay_reference": ref}
    if kind == "admission":
        body["origin_region_code"] = origin
    body.update(extra)
    return body


def post(client, world, events, who="key_b"):
    return client.post("/api/v1/occupancy/events", json={"events": events}, headers=world.headers(who))


def stays(db):
    with db.transaction(write=False) as session:
        return session.exec(select(OccupancyStay).order_by(OccupancyStay.id)).all()


def test_batch_with_impossible_events_keeps_the_others(client, world, db):
    crisis = world.groups_b[1]  # 4 places
    response = post(
        client,
        world,
        [
            ev("e1", "admission", crisis, T0, "y1"),
            ev("e2", "discharge", crisis, T0 + timedelta(days=1), "never-admitted"),
            ev("e3", "admission", crisis, datetime.now(UTC) + timedelta(days=2), "y-future"),
            ev("e4", "admission", crisis, T0 + timedelta(hours=2), "y2", origin="JZ07"),
            ev("e5", "admission", world.groups_a[0], T0, "y3"),  # provider A's group: not ours
        ],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["refused"]) == (2, 0, 3)
    by_id = {r["event_id"]: r for r in body["results"]}
    assert by_id["e1"]["status"] == "accepted" and by_id["e4"]["status"] == "accepted"
    assert by_id["e2"]["code"] == "occupancy_no_admission" and "zonder opname" in by_id["e2"]["reason"]
    assert by_id["e3"]["code"] == "occupancy_future" and "toekomst" in by_id["e3"]["reason"]
    assert by_id["e5"]["http_status"] == 404 and by_id["e5"]["reason"] == "Groep niet gevonden."
    assert [(s.stay_reference, s.origin_region_code) for s in stays(db)] == [("y1", "JZ14"), ("y2", "JZ07")]
    with db.transaction(write=False) as session:
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "occupancy.events.ingest")).all()
        changed = session.exec(select(Event).where(Event.type == "occupancy.changed")).all()
    assert len(audit) == 1 and audit[0].detail["accepted"] == 2
    assert [(e.group_id, e.payload["present"]) for e in changed] == [(crisis, 2)]
    current = client.get(f"/api/v1/occupancy/groups/{crisis}", headers=world.headers("viewer")).json()
    assert current["present"] == 2 and current["present_by_region"] == {"JZ14": 1, "JZ07": 1}


def test_duplicates_are_ignored_and_out_of_order_events_are_placed_in_time(client, world, db):
    crisis = world.groups_b[1]
    # The discharge comes first in the batch, and a later batch brings an earlier admission.
    batch = [ev("d1", "discharge", crisis, T0 + timedelta(days=3), "y1"), ev("a1", "admission", crisis, T0, "y1")]
    assert post(client, world, batch).json()["accepted"] == 2
    again = post(client, world, batch).json()
    assert (again["accepted"], again["duplicates"], again["refused"]) == (0, 2, 0)
    late = post(
        client,
        world,
        [
            ev("a0", "admission", crisis, T0 - timedelta(days=5), "y0"),
            ev("d0", "discharge", crisis, T0 - timedelta(days=4), "y0"),
        ],
    ).json()
    assert late["accepted"] == 2
    with db.transaction(write=False) as session:
        assert len(session.exec(select(OccupancyEvent)).all()) == 4
    days = client.get(
        f"/api/v1/occupancy/groups/{crisis}/bed-days",
        params={"start": "2025-02-20", "end": "2025-03-10"},
        headers=world.headers("coordinator"),
    ).json()
    occupied = {d["date"]: d["occupied"] for d in days["days"] if d["occupied"]}
    # y0: night of 24 Feb; y1: nights 1, 2 and 3 March (discharged on the 4th).
    assert occupied == {"2025-02-24": 1, "2025-03-01": 1, "2025-03-02": 1, "2025-03-03": 1}
    assert days["occupied_bed_days"] == 4 and days["by_region"] == {"JZ14": 4}


def test_capacity_is_checked_at_the_moment_and_after_it(client, world, db):
    crisis = world.groups_b[1]  # 4 places
    full = [ev(f"a{i}", "admission", crisis, T0 + timedelta(hours=i), f"y{i}") for i in range(4)]
    assert post(client, world, full).json()["accepted"] == 4
    fifth = post(client, world, [ev("a5", "admission", crisis, T0 + timedelta(days=1), "y5")]).json()
    assert fifth["results"][0]["code"] == "occupancy_over_capacity" and "4 plaatsen" in fifth["results"][0]["reason"]
    # An admission in the past would overfill the group from T0 on, although it was free then.
    early = post(client, world, [ev("a6", "admission", crisis, T0 - timedelta(days=2), "y6")]).json()
    assert early["results"][0]["code"] == "occupancy_over_capacity"
    # A discharge frees the bed, even for an admission at the same moment in the same batch.
    swap = post(
        client,
        world,
        [
            ev("a7", "admission", crisis, T0 + timedelta(days=2), "y7"),
            ev("d0", "discharge", crisis, T0 + timedelta(days=2), "y0"),
        ],
    ).json()
    assert swap["accepted"] == 2
    assert len([s for s in stays(db) if s.discharged_at is None]) == 4
    again = post(client, world, [ev("a8", "admission", crisis, T0 + timedelta(days=3), "y1")]).json()
    assert again["results"][0]["code"] == "occupancy_already_present"


def test_corrections_are_new_events(client, world, db):
    crisis = world.groups_b[1]
    post(
        client,
        world,
        [ev("a1", "admission", crisis, T0, "y1"), ev("d1", "discharge", crisis, T0 + timedelta(days=2), "y1")],
    )
    wrong_order = post(
        client,
        world,
        [{"event_id": "c1", "kind": "cancel", "group_id": crisis, "at": T0.isoformat(), "cancels_event_id": "a1"}],
    ).json()
    assert wrong_order["results"][0]["code"] == "occupancy_cancel_order"
    fixed = post(
        client,
        world,
        [
            {"event_id": "c2", "kind": "cancel", "group_id": crisis, "at": T0.isoformat(), "cancels_event_id": "d1"},
            ev("d1b", "discharge", crisis, T0 + timedelta(days=5), "y1"),
        ],
    ).json()
    assert fixed["accepted"] == 2
    assert [(s.stay_reference, str(s.discharge_day)) for s in stays(db)] == [("y1", "2025-03-06")]
    with db.transaction(write=False) as session:
        kinds = [e.kind for e in session.exec(select(OccupancyEvent).order_by(OccupancyEvent.id)).all()]
    assert kinds == ["admission", "discharge", "cancel", "discharge"]  # nothing edited or deleted


def test_roles_and_validation(client, world):
    crisis = world.groups_b[1]
    assert post(client, world, [ev("x", "admission", crisis, T0, "y")], who="viewer").status_code == 403
    assert post(client, world, [ev("x", "admission", crisis, T0, "y")], who="provider_a").json()["refused"] == 1
    bad = post(client, world, [ev("x", "admission", crisis, T0, "y", origin="XX99")])
    assert bad.status_code == 422 and "jeugdregiocode" in bad.json()["detail"]
    extra = post(client, world, [{**ev("x", "admission", crisis, T0, "y"), "name": "Jan"}])
    assert extra.status_code == 422 and "geen bekend veld" in extra.json()["detail"]
    assert post(client, world, [ev("x", "admission", crisis, T0, "y")], who="admin").json()["accepted"] == 1
    events = client.get(f"/api/v1/occupancy/groups/{crisis}/events", headers=world.headers("provider_b"))
    assert events.status_code == 200 and events.json()[0]["stay_reference"] == "y"
    assert (
        client.get(f"/api/v1/occupancy/groups/{crisis}/events", headers=world.headers("provider_a")).status_code == 404
    )


def test_census_for_providers_without_events(client, world):
    group = world.groups_b[0]  # gezinshuis, 5 places
    response = client.post(
        "/api/v1/occupancy/census",
        headers=world.headers("provider_b"),
        json={
            "counts": [
                {"group_id": group, "date": "2025-03-01", "present": 3, "by_region": {"JZ07": 1}},
                {"group_id": group, "date": "2025-03-02", "present": 6},
                {"group_id": group, "date": (datetime.now(UTC) + timedelta(days=3)).date().isoformat(), "present": 1},
                {"group_id": group, "date": "2025-03-02", "present": 4},
                {"group_id": group, "date": "2025-03-02", "present": 5},  # a correction: the newest counts
            ]
        },
    ).json()
    assert [r["status"] for r in response["results"]] == ["accepted", "refused", "refused", "accepted", "accepted"]
    assert response["results"][1]["code"] == "occupancy_over_capacity"
    days = client.get(
        f"/api/v1/occupancy/groups/{group}/bed-days",
        params={"start": "2025-03-01", "end": "2025-03-03"},
        headers=world.headers("provider_b"),
    ).json()
    assert [(d["occupied"], d["by_region"]) for d in days["days"]] == [
        (3, {"JZ07": 1, "JZ14": 2}),
        (5, {"JZ14": 5}),
        (0, {}),
    ]
    current = client.get(f"/api/v1/occupancy/groups/{group}", headers=world.headers("provider_b")).json()
    assert current["source"] == "census" and current["present"] == 5


def test_groups_whose_reports_disagree_with_the_feed_are_listed(client, world):
    woongroep = world.groups_a[0]  # 8 places, reports 2 free
    behandel = world.groups_a[1]  # 6 places, reports 1 free
    events = [ev(f"w{i}", "admission", woongroep, T0, f"w{i}") for i in range(7)]
    events += [ev(f"b{i}", "admission", behandel, T0, f"b{i}") for i in range(5)]
    assert post(client, world, events, who="key_a").json()["accepted"] == 12
    listed = client.get(
        "/api/v1/occupancy/discrepancies", params={"region": "JZ14"}, headers=world.headers("coordinator")
    ).json()
    assert [
        (d["group_id"], d["reported_free_places"], d["feed_present"], d["feed_free_places"], d["difference"])
        for d in listed
    ] == [(woongroep, 2, 7, 1, 1)]
    assert client.get("/api/v1/occupancy/discrepancies", headers=world.headers("provider_b")).json() == []
    assert client.get("/api/v1/occupancy/discrepancies", headers=world.headers("crisis")).status_code == 403


def test_moments_count_on_the_dutch_calendar_day(client, world, db):
    crisis = world.groups_b[1]
    body = post(
        client,
        world,
        [
            {
                "event_id": "n1",
                "kind": "admission",
                "group_id": crisis,
                "at": "2025-03-01T23:30:00",  # no zone: Dutch time
                "stay_reference": "naive",
                "origin_region_code": "JZ14",
            },
            {
                "event_id": "z1",
                "kind": "admission",
                "group_id": crisis,
                "at": "2025-03-01T23:30:00Z",  # 00:30 in NL
                "stay_reference": "utc",
                "origin_region_code": "JZ14",
            },
        ],
    ).json()
    assert body["accepted"] == 2
    assert {s.stay_reference: str(s.admit_day) for s in stays(db)} == {"naive": "2025-03-01", "utc": "2025-03-02"}
