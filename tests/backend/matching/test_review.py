"""Reviewing a batch run before sending: pins and forbidden pairs solved again (with Dutch
refusals that change nothing), the per-line details the review table shows, and sending a
subset (siblings together)."""

from __future__ import annotations

from backend.referrals.models import Referral
from tests.backend.matching.test_batch import _arrange, _run
from tests.factories import group_row


def _waiting(db, *ids):  # type: ignore[no-untyped-def]
    with db.transaction(write=False) as session:
        return [session.get(Referral, i).status == "waiting" for i in ids]


def test_each_line_shows_provider_municipality_distance_and_freshness(client, world, db):
    _arrange(client, world, db)
    line = _run(client, world)["assignments"][0]
    assert line["provider_name"] and line["municipality"]
    assert line["distance_km"] >= 0 and isinstance(line["stale"], bool) and "report_age_hours" in line


def test_pin_beats_urgency_and_forbid_moves_a_youth(client, world, db):
    den_id, ids = _arrange(client, world, db)
    first = _run(client, world)
    placed = {a["referral_id"]: a["group_id"] for a in first["assignments"]}
    assert placed[ids["c1"]] == den_id and ids["c2"] not in placed  # one profile-C slot, c1 more urgent
    again = _run(client, world, pins=[{"referral_id": ids["c2"], "group_id": den_id}])
    placed = {a["referral_id"]: a for a in again["assignments"]}
    assert placed[ids["c2"]]["group_id"] == den_id and placed[ids["c2"]]["pinned"] is True
    assert ids["c1"] not in placed
    assert again["review"]["pins"] == [{"referral_id": ids["c2"], "group_id": den_id}]
    assert again["validation"]["ok"] is True

    y1_group = {a["referral_id"]: a["group_id"] for a in first["assignments"]}[ids["y1"]]
    forbid = _run(client, world, forbids=[{"referral_id": ids["y1"], "group_id": y1_group}])
    assert {a["referral_id"]: a["group_id"] for a in forbid["assignments"]}.get(ids["y1"]) != y1_group
    assert forbid["validation"]["ok"] is True


def test_impossible_pins_are_refused_in_dutch_and_change_nothing(client, world, db):
    den_id, ids = _arrange(client, world, db)
    coordinator = world.headers("coordinator")
    cases = [
        # a family home is no living group: the pin breaks a hard rule, and says which
        ({"pins": [{"referral_id": ids["y1"], "group_id": world.groups_b[0]}]}, "pin_infeasible", "kan niet vast"),
        # two profile-C youths pinned to the one profile-C slot
        (
            {"pins": [{"referral_id": ids["c1"], "group_id": den_id}, {"referral_id": ids["c2"], "group_id": den_id}]},
            "pins_infeasible",
            "passen niet allemaal",
        ),
        (
            {
                "pins": [{"referral_id": ids["c1"], "group_id": den_id}],
                "forbids": [{"referral_id": ids["c1"], "group_id": den_id}],
            },
            "pin_forbidden",
            "zowel vastgezet als uitgesloten",
        ),
        ({"pins": [{"referral_id": 999_999, "group_id": den_id}]}, "review_referral_unknown", "doet niet mee"),
        ({"forbids": [{"referral_id": ids["c1"], "group_id": 999_999}]}, "review_group_unknown", "hoort niet bij"),
    ]
    for body, code, words in cases:
        response = client.post("/api/v1/matching/runs", json=body, headers=coordinator)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code and words in response.json()["detail"]
    assert all(_waiting(db, *ids.values()))
    assert group_row(db, den_id).held_places == 0
    junk = client.post("/api/v1/matching/runs", json={"pins": [{"referral_id": "x"}]}, headers=coordinator)
    assert junk.status_code == 422


def test_send_a_subset_and_the_dropped_youths_stay_waiting(client, world, db):
    den_id, ids = _arrange(client, world, db)
    run = _run(client, world)
    coordinator = world.headers("coordinator")
    url = f"/api/v1/matching/runs/{run['id']}/proposals"
    # one sibling alone, or a youth without a line in this run: refused, nothing sent
    split = client.post(url, json={"referral_ids": [ids["s1"]]}, headers=coordinator)
    assert split.status_code == 422 and split.json()["code"] == "siblings_split"
    unknown = client.post(url, json={"referral_ids": [ids["c2"]]}, headers=coordinator)
    assert unknown.status_code == 422 and unknown.json()["code"] == "not_assigned"
    assert all(_waiting(db, *ids.values())) and group_row(db, den_id).held_places == 0

    sent = client.post(url, json={"referral_ids": [ids["c1"]]}, headers=coordinator)
    assert sent.status_code == 200, sent.text
    report = sent.json()["proposals"]
    assert [s["referral_id"] for s in report["sent"]] == [ids["c1"]]
    assert {d["referral_id"] for d in report["dropped"]} == {ids["s1"], ids["s2"], ids["y1"]}
    assert _waiting(db, ids["c1"], ids["s1"], ids["y1"]) == [False, True, True]
    assert group_row(db, world.groups_b[0]).held_places == 0
    assert client.post(url, json={"referral_ids": [ids["y1"]]}, headers=coordinator).status_code == 409
