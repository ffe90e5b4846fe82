"""Batch assignment through the API: capacity net of holds, siblings, profile-C limit,
unplaced reasons, a result that passes solver/validation.py, and sending proposals."""

from __future__ import annotations

from collections import Counter

import solver
from backend.domain import utcnow
from backend.matching import adapter
from backend.providers.models import Location
from backend.referrals.models import Referral
from backend.regions.models import Region
from tests.factories import add_group, create_referral, group_row, set_free


def _arrange(client, world, db, *, c_limit: int = 1):  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        region = session.get(Region, world.region_id)
        region.settings = {**region.settings, "profile_c_limit": c_limit}
        session.add(region)
        loc = session.get(Location, group_row(db, world.groups_a[0]).location_id)
        den = add_group(
            session, loc, name="Woongroep Den", risk_profiles="ABC", free_places=2, expertise=["agressie", "trauma"]
        )
        den_id = den.id
    set_free(client, world, world.groups_b[0], 2, "provider_b")  # family home: room for two
    refs = {
        "s1": create_referral(
            client,
            world,
            "TW-S1",
            care_forms=["gezinshuis", "pleegzorg"],
            required_intensity="A",
            birth_year=world_year(-13),
            sibling_set="fam",
            needs=[],
        ),
        "s2": create_referral(
            client,
            world,
            "TW-S2",
            care_forms=["gezinshuis", "pleegzorg"],
            required_intensity="A",
            birth_year=world_year(-15),
            sibling_set="fam",
            needs=[],
        ),
        "c1": create_referral(
            client, world, "TW-C1", risk_profile="C", needs=["agressie"], urgency=5, care_forms=["woongroep"]
        ),
        "c2": create_referral(
            client, world, "TW-C2", risk_profile="C", needs=["agressie"], urgency=2, care_forms=["woongroep"]
        ),
        "y1": create_referral(client, world, "TW-Y1", needs=["trauma", "lvb"]),
    }
    return den_id, {k: v["id"] for k, v in refs.items()}


def world_year(offset: int) -> int:
    from backend.domain import utcnow

    return utcnow().year + offset


def _run(client, world, **body):  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/matching/runs", json=body, headers=world.headers("coordinator"))
    assert response.status_code == 201, response.text
    return response.json()


def test_batch_run_respects_every_rule_and_passes_the_validator(client, world, db):
    den_id, ids = _arrange(client, world, db)
    run = _run(client, world)
    assert run["status"] == "done" and run["optimal"] is True and run["solver_status"] == "optimal"
    assert run["objective"] > 0 and run["bound"] is not None and run["solve_seconds"] >= 0
    placed = {a["referral_id"]: a["group_id"] for a in run["assignments"]}
    # siblings together in the family home; the most urgent profile-C youth gets the one C slot
    assert placed[ids["s1"]] == placed[ids["s2"]] == world.groups_b[0]
    assert placed[ids["c1"]] == den_id and ids["c2"] not in placed
    assert ids["y1"] in placed
    unplaced = {u["referral_id"]: u["reasons"] for u in run["unplaced"]}
    assert list(unplaced) == [ids["c2"]] and unplaced[ids["c2"]]
    assert run["validation"]["ok"] is True

    # Independent check: rebuild the instance from the stored snapshot and validate.
    stored = client.get(f"/api/v1/matching/runs/{run['id']}?snapshot=true", headers=world.headers("coordinator")).json()
    assert stored["assignments"] == run["assignments"]
    instance = adapter.instance_from_snapshot(stored["input_snapshot"])
    report = solver.validate(instance, [(a["referral_id"], a["group_id"]) for a in run["assignments"]])
    assert report.ok, report.violations
    assert abs(report.objective - run["objective"]) < 1e-3
    load = Counter(placed.values())
    for gid, n in load.items():
        g = group_row(db, gid)
        assert n <= g.free_places - g.held_places

    # send them out: every place claimed, never twice
    sent = client.post(f"/api/v1/matching/runs/{run['id']}/proposals", headers=world.headers("coordinator"))
    assert sent.status_code == 200, sent.text
    assert len(sent.json()["proposals"]["sent"]) == len(run["assignments"])
    assert group_row(db, world.groups_b[0]).held_places == 2
    assert group_row(db, den_id).held_places == 1
    twice = client.post(f"/api/v1/matching/runs/{run['id']}/proposals", headers=world.headers("coordinator"))
    assert twice.status_code == 409
    # the proposed youths are not waiting any more, so a new run only sees the rest
    assert _run(client, world)["referral_ids"] == [ids["c2"]]


def test_places_taken_between_run_and_send_are_reported_and_siblings_stay_together(client, world, db):
    _den_id, ids = _arrange(client, world, db)
    run = _run(client, world)
    # meanwhile the family home fills one of its two places
    set_free(client, world, world.groups_b[0], 1, "provider_b")
    sent = client.post(f"/api/v1/matching/runs/{run['id']}/proposals", headers=world.headers("coordinator")).json()[
        "proposals"
    ]
    skipped = {s["referral_id"] for s in sent["skipped"]}
    assert skipped == {ids["s1"], ids["s2"]}  # neither sibling goes alone
    assert group_row(db, world.groups_b[0]).held_places == 0
    with db.transaction(write=False) as session:
        assert session.get(Referral, ids["s1"]).status == "waiting"
        assert session.get(Referral, ids["c1"]).status == "proposed"


def test_profile_c_already_placed_counts_and_subsets_bring_their_siblings(client, world, db):
    den_id, ids = _arrange(client, world, db)
    with db.transaction() as session:
        placed = session.get(Referral, ids["c2"])
        placed.status, placed.placed_group_id = "placed", den_id
        session.add(placed)
    # The profile-C count is of the youths present now, from the stays: c2 arrived in the Den.
    admitted = client.post(
        "/api/v1/occupancy/events",
        json={
            "events": [
                {
                    "event_id": "den-c2",
                    "kind": "admission",
                    "group_id": den_id,
                    "at": utcnow().isoformat(),
                    "stay_reference": "DEN-C2",
                    "origin_region_code": "JZ14",
                    "risk_profile": "C",
                }
            ]
        },
        headers=world.headers("key_a"),
    )
    assert admitted.status_code == 200 and admitted.json()["accepted"] == 1, admitted.text
    run = _run(client, world, referral_ids=[ids["c1"], ids["s1"]], send_proposals=True)
    assert sorted(run["referral_ids"]) == sorted([ids["c1"], ids["s1"], ids["s2"]])
    assert ids["c1"] not in {a["referral_id"] for a in run["assignments"]}
    assert any("profiel C" in r for r in run["unplaced"][0]["reasons"])
    assert len(run["proposals"]["sent"]) == 2  # the siblings, proposed in the same request
    bad = client.post("/api/v1/matching/runs", json={"referral_ids": [ids["c2"]]}, headers=world.headers("coordinator"))
    assert bad.status_code == 422 and "niet wachtend" in bad.json()["detail"]
    assert client.post("/api/v1/matching/runs", json={}, headers=world.headers("provider_a")).status_code == 403
    assert client.get(f"/api/v1/matching/runs/{run['id']}", headers=world.headers("provider_a")).status_code == 403
