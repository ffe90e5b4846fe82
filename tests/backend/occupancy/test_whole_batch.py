"""A batch is applied as a whole, per group in time order: complete past stays, impossible events
among good ones, corrections that land whole or not at all, and large NDJSON batches."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from backend.occupancy.models import MAX_BATCH_EVENTS, OccupancyEvent, OccupancyStay
from tests.backend.occupancy.test_feed import T0, ev, post, stays


def cancel(event_id, group_id, target):
    return {
        "event_id": event_id,
        "kind": "cancel",
        "group_id": group_id,
        "at": T0.isoformat(),
        "cancels_event_id": target,
    }


def by_id(body):
    return {r["event_id"]: r for r in body["results"]}


def post_ndjson(client, world, lines, who="key_b"):
    body = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    headers = {**world.headers(who), "Content-Type": "application/x-ndjson"}
    return client.post("/api/v1/occupancy/events", content=body.encode(), headers=headers)


def test_a_complete_past_stay_is_accepted_into_a_group_that_is_full_later(client, world, db):
    crisis = world.groups_b[1]  # 4 places
    full_from = T0 + timedelta(days=10)
    # In one batch, listed with the stays that fill the group first: the order does not matter.
    batch = [ev(f"a{i}", "admission", crisis, full_from + timedelta(hours=i), f"y{i}") for i in range(4)]
    batch += [
        ev("d-past", "discharge", crisis, T0 + timedelta(days=3), "past"),
        ev("a-past", "admission", crisis, T0, "past", origin="JZ07"),
    ]
    body = post(client, world, batch).json()
    assert (body["accepted"], body["refused"]) == (6, 0), body
    # Later batches: another complete stay before the group filled up fits; one that runs into
    # the full weeks, or one still open, does not (with the moment it would be over-full).
    later = post(
        client,
        world,
        [
            ev("a-fits", "admission", crisis, T0 + timedelta(days=4), "fits"),
            ev("d-fits", "discharge", crisis, full_from + timedelta(hours=3), "fits"),  # a bed was still free
            ev("a-over", "admission", crisis, T0 + timedelta(days=8), "over"),
            ev("d-over", "discharge", crisis, T0 + timedelta(days=12), "over"),
            ev("a-open", "admission", crisis, T0 + timedelta(days=1), "open"),
        ],
    ).json()
    results = by_id(later)
    assert results["a-fits"]["status"] == results["d-fits"]["status"] == "accepted"
    assert results["a-over"]["code"] == "occupancy_over_capacity"
    assert "4 plaatsen" in results["a-over"]["reason"] and "11-03-2025 15:00" in results["a-over"]["reason"]
    assert results["d-over"]["code"] == "occupancy_admission_refused" and "a-over" in results["d-over"]["reason"]
    assert results["a-open"]["code"] == "occupancy_over_capacity"
    assert sorted((s.stay_reference, s.discharged_at is None) for s in stays(db)) == [
        ("fits", False),
        ("past", False),
        ("y0", True),
        ("y1", True),
        ("y2", True),
        ("y3", True),
    ]
    current = client.get(f"/api/v1/occupancy/groups/{crisis}", headers=world.headers("provider_b")).json()
    assert current["present"] == 4


def test_the_order_of_the_events_in_the_request_does_not_matter(client, world, db):
    crisis = world.groups_b[1]
    rng = random.Random(7)
    events = []
    for n in range(12):  # twelve stays of two days, two at a time: never more than 4 present
        start = T0 + timedelta(days=n)
        events += [
            ev(f"a{n}", "admission", crisis, start, f"y{n}"),
            ev(f"d{n}", "discharge", crisis, start + timedelta(days=2), f"y{n}"),
        ]
    events.append(ev("late", "admission", crisis, T0 + timedelta(days=30), "late"))
    rng.shuffle(events)
    body = post(client, world, events).json()
    assert (body["accepted"], body["refused"]) == (25, 0), [r for r in body["results"] if r["status"] != "accepted"]
    assert len(stays(db)) == 13


def test_a_batch_with_one_impossible_event_keeps_the_rest(client, world, db):
    crisis = world.groups_b[1]  # 4 places
    events = [ev(f"a{i}", "admission", crisis, T0 + timedelta(hours=i), f"y{i}") for i in range(4)]
    events += [
        ev("a-fifth", "admission", crisis, T0 + timedelta(hours=5), "fifth"),  # the group is full then
        ev("d-fifth", "discharge", crisis, T0 + timedelta(days=1), "fifth"),
        ev("d-unknown", "discharge", crisis, T0 + timedelta(hours=6), "nobody"),
        ev("a-twice", "admission", crisis, T0 + timedelta(hours=7), "y0"),  # y0 is present
        ev("d0", "discharge", crisis, T0 + timedelta(days=2), "y0"),
        ev("a-after", "admission", crisis, T0 + timedelta(days=2), "after"),  # takes y0's bed at once
    ]
    body = post(client, world, events).json()
    results = by_id(body)
    assert {k for k, r in results.items() if r["status"] == "refused"} == {"a-fifth", "d-fifth", "d-unknown", "a-twice"}
    assert results["a-fifth"]["http_status"] == 409 and "5 jeugdigen" in results["a-fifth"]["reason"]
    assert results["d-unknown"]["code"] == "occupancy_no_admission"
    assert results["a-twice"]["code"] == "occupancy_already_present" and "al opgenomen" in results["a-twice"]["reason"]
    assert body["accepted"] == 6
    assert sorted(s.stay_reference for s in stays(db) if s.discharged_at is None) == ["after", "y1", "y2", "y3"]


def test_an_admission_refused_for_capacity_does_not_keep_the_youths_later_admission_out(client, world, db):
    crisis = world.groups_b[1]
    full = [ev(f"a{i}", "admission", crisis, T0 + timedelta(hours=i), f"y{i}") for i in range(4)]
    full += [ev(f"d{i}", "discharge", crisis, T0 + timedelta(days=3), f"y{i}") for i in range(4)]
    body = post(
        client,
        world,
        [
            *full,
            ev("a-early", "admission", crisis, T0 + timedelta(days=1), "x"),  # full: refused
            ev("a-later", "admission", crisis, T0 + timedelta(days=4), "x"),  # the same youth, room again
        ],
    ).json()
    results = by_id(body)
    assert results["a-early"]["code"] == "occupancy_over_capacity"
    assert results["a-later"]["status"] == "accepted", results["a-later"]


def test_a_correction_batch_lands_whole(client, world, db):
    crisis = world.groups_b[1]
    post(
        client,
        world,
        [ev("a1", "admission", crisis, T0, "y1"), ev("d1", "discharge", crisis, T0 + timedelta(days=2), "y1")],
    )
    # The whole stay was wrong: both events withdrawn and sent again, in any order, in one batch.
    body = post(
        client,
        world,
        [
            ev("d1b", "discharge", crisis, T0 + timedelta(days=4), "y1"),
            cancel("c-a1", crisis, "a1"),
            ev("a1b", "admission", crisis, T0 + timedelta(days=1), "y1"),
            cancel("c-d1", crisis, "d1"),
        ],
    ).json()
    assert (body["accepted"], body["refused"]) == (4, 0), body
    assert [(s.stay_reference, str(s.admit_day), str(s.discharge_day)) for s in stays(db)] == [
        ("y1", "2025-03-02", "2025-03-05")
    ]


def test_a_correction_batch_lands_not_at_all_when_one_of_its_events_is_refused(client, world, db):
    crisis = world.groups_b[1]  # 4 places
    post(
        client,
        world,
        [ev("a1", "admission", crisis, T0, "y1"), ev("d1", "discharge", crisis, T0 + timedelta(days=2), "y1")],
    )
    before = [(s.stay_reference, s.admitted_at, s.discharged_at) for s in stays(db)]
    # The corrected discharge lies before the admission: the cancellation of the old one is
    # refused with it, and the events of another stay in the batch are kept.
    body = post(
        client,
        world,
        [
            cancel("c-d1", crisis, "d1"),
            ev("d1b", "discharge", crisis, T0 - timedelta(days=1), "y1"),
            ev("a-other", "admission", crisis, T0, "other"),
        ],
    ).json()
    results = by_id(body)
    assert results["d1b"]["code"] == "occupancy_before_admission"
    assert results["c-d1"]["code"] == "occupancy_correction_refused"
    assert "'d1b'" in results["c-d1"]["reason"] and "vóór de opname" in results["c-d1"]["reason"]
    assert results["a-other"]["status"] == "accepted"
    assert [(s.stay_reference, s.admitted_at, s.discharged_at) for s in stays(db) if s.stay_reference == "y1"] == before
    # Reopening the stay would overfill the group (four youths came after the discharge): the
    # cancellation is refused for capacity, and the later discharge that belonged to it as well.
    others = [ev(f"b{i}", "admission", crisis, T0 + timedelta(days=3, hours=i), f"z{i}") for i in range(3)]
    assert post(client, world, others).json()["accepted"] == 3
    body = post(
        client,
        world,
        [cancel("c-d1-again", crisis, "d1"), ev("d1c", "discharge", crisis, T0 + timedelta(days=5), "y1")],
    ).json()
    results = by_id(body)
    assert results["c-d1-again"]["code"] == "occupancy_over_capacity", results
    assert results["d1c"]["status"] == "refused" and "c-d1-again" in results["d1c"]["reason"]
    assert [(s.stay_reference, s.admitted_at, s.discharged_at) for s in stays(db) if s.stay_reference == "y1"] == before
    with db.transaction(write=False) as session:
        kinds = [e.kind for e in session.exec(select(OccupancyEvent).order_by(OccupancyEvent.id)).all()]
    assert kinds == ["admission", "discharge", "admission", "admission", "admission", "admission"]


def test_cancelling_an_unknown_or_already_cancelled_event_is_refused(client, world, db):
    crisis = world.groups_b[1]
    post(client, world, [ev("a1", "admission", crisis, T0, "y1"), ev("a2", "admission", crisis, T0, "y2")])
    body = post(
        client, world, [cancel("c1", crisis, "a1"), cancel("c3", crisis, "nope"), cancel("c4", crisis, "c1")]
    ).json()
    results = by_id(body)
    assert results["c1"]["status"] == "accepted"
    assert results["c3"]["code"] == "occupancy_cancel_unknown" and results["c3"]["http_status"] == 404
    assert results["c4"]["code"] == "occupancy_cancel_unknown"  # c1 was not stored before this batch
    assert [s.stay_reference for s in stays(db)] == ["y2"]
    again = post(client, world, [cancel("c5", crisis, "a1")]).json()
    assert again["results"][0]["code"] == "occupancy_already_cancelled"
    # The same event withdrawn twice in one correction: the correction does not go through.
    twice = by_id(post(client, world, [cancel("c6", crisis, "a2"), cancel("c7", crisis, "a2")]).json())
    assert twice["c7"]["code"] == "occupancy_cancel_repeated" and "'c6'" in twice["c7"]["reason"]
    assert twice["c6"]["code"] == "occupancy_correction_refused"
    assert [s.stay_reference for s in stays(db)] == ["y2"]


def test_an_event_id_twice_in_one_batch(client, world, db):
    crisis = world.groups_b[1]
    body = post(
        client,
        world,
        [
            ev("same", "admission", crisis, T0, "y1"),
            ev("same", "admission", crisis, T0, "y1"),
            ev("bad", "discharge", crisis, T0, "nobody"),
            ev("bad", "discharge", crisis, T0, "nobody"),
        ],
    ).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "duplicate", "refused", "refused"]
    assert body["results"][3]["code"] == "occupancy_repeated_in_batch"
    assert len(stays(db)) == 1


def test_an_ndjson_batch_names_the_line_of_each_event_and_of_a_bad_line(client, world, db):
    crisis = world.groups_b[1]
    response = post_ndjson(
        client,
        world,
        [
            ev("a1", "admission", crisis, T0, "y1"),
            "",  # blank lines are skipped
            ev("d1", "discharge", crisis, T0 + timedelta(days=1), "nobody"),
        ],
    )
    assert response.status_code == 200, response.text
    assert [(r["line"], r["status"]) for r in response.json()["results"]] == [(1, "accepted"), (3, "refused")]
    bad = post_ndjson(
        client,
        world,
        [
            ev("a2", "admission", crisis, T0, "y2"),
            ev("a3", "admission", crisis, T0, "y3", origin="XX99"),
            '{"event_id": "a4", "kind": "admission",',
        ],
    )
    assert bad.status_code == 422, bad.text
    detail = bad.json()["detail"]
    assert "regel 3 is geen geldige JSON" in detail and "regel 2: " in detail and "jeugdregiocode" in detail
    assert bad.json()["code"] == "invalid_input"
    whole = post_ndjson(client, world, [json.dumps({"events": [ev("a5", "admission", crisis, T0, "y5")]})])
    assert whole.status_code == 422 and "application/json" in whole.json()["detail"]
    assert [s.stay_reference for s in stays(db)] == ["y1"]  # nothing of a refused request


def test_a_retried_ndjson_batch_with_its_key_gets_the_first_answer(client, world, db):
    crisis = world.groups_b[1]
    body = "\n".join(json.dumps(ev(f"a{i}", "admission", crisis, T0, f"y{i}")) for i in range(2)).encode()
    headers = {**world.headers("key_b"), "Content-Type": "application/x-ndjson", "Idempotency-Key": "jaar-2025"}
    first = client.post("/api/v1/occupancy/events", content=body, headers=headers)
    again = client.post("/api/v1/occupancy/events", content=body, headers=headers)
    assert first.json()["accepted"] == 2 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true" and len(stays(db)) == 2


def test_an_ndjson_batch_can_be_streamed_in_chunks(client, world, db):
    crisis = world.groups_b[1]
    lines = [json.dumps(ev(f"a{i}", "admission", crisis, T0 + timedelta(days=i), f"y{i}")) + "\n" for i in range(3)] + [
        json.dumps(ev(f"d{i}", "discharge", crisis, T0 + timedelta(days=i, hours=5), f"y{i}")) + "\n" for i in range(3)
    ]

    def chunks():  # no Content-Length: sent as the lines come, split mid-line
        text = "".join(lines).encode()
        for start in range(0, len(text), 100):
            yield text[start : start + 100]

    headers = {**world.headers("key_b"), "Content-Type": "application/x-ndjson"}
    response = client.post("/api/v1/occupancy/events", content=chunks(), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 6 and len(stays(db)) == 3


def test_a_batch_over_the_maximum_is_refused_in_dutch(client, world):
    crisis = world.groups_b[1]
    line = json.dumps(ev("x", "admission", crisis, T0, "y"))
    body = ("\n".join([line] * (MAX_BATCH_EVENTS + 1))).encode()
    headers = {**world.headers("key_b"), "Content-Type": "application/x-ndjson"}
    response = client.post("/api/v1/occupancy/events", content=body, headers=headers)
    assert response.status_code == 422 and "hoogstens 50.000" in response.json()["detail"], response.text


def test_a_50000_event_ndjson_batch_is_accepted(client, world, db):
    """A year of history in one request: 25,000 short stays in each of provider B's groups (above
    the general body limit, within the feed's)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=365 * 3)
    lines = []
    for group in world.groups_b:
        for n in range(MAX_BATCH_EVENTS // 4):
            admitted = start + timedelta(hours=n)
            ref = f"g{group}-{n}"
            lines.append(json.dumps(ev(f"{ref}-a", "admission", group, admitted, ref)))
            lines.append(json.dumps(ev(f"{ref}-d", "discharge", group, admitted + timedelta(minutes=30), ref)))
    body = ("\n".join(lines) + "\n").encode()
    assert len(body) > world.settings.max_body_bytes
    headers = {**world.headers("key_b"), "Content-Type": "application/x-ndjson"}
    started = time.perf_counter()
    response = client.post("/api/v1/occupancy/events", content=body, headers=headers)
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.text[:500]
    result = response.json()
    assert (result["accepted"], result["refused"]) == (MAX_BATCH_EVENTS, 0)
    assert result["results"][-1]["line"] == MAX_BATCH_EVENTS
    with db.transaction(write=False) as session:
        assert len(session.exec(select(OccupancyStay.id)).all()) == MAX_BATCH_EVENTS // 2
    print(f"50,000 events in {seconds:.1f} s")
