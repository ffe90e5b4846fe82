"""Placement proposals: accept, decline, expiry, ownership, and never more than is free."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
from sqlmodel import select

from backend.domain import utcnow
from backend.events.models import Event
from backend.proposals.models import Proposal
from backend.proposals.service import expire_proposals
from backend.referrals.models import Referral
from tests.conftest import make_settings
from tests.factories import create_referral, group_row
from tests.servers import running_server


def _propose(client, world, referral_id: int, group_id: int):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/referrals/{referral_id}/proposals", json={"group_id": group_id}, headers=world.headers("coordinator")
    )


def _event_types(db) -> list[str]:  # type: ignore[no-untyped-def]
    with db.transaction(write=False) as session:
        return [e.type for e in session.exec(select(Event).order_by(Event.seq)).all()]  # type: ignore[arg-type]


def test_accept_expects_the_youth_and_keeps_the_place_held(client, world, db):
    ref = create_referral(client, world)
    group_id = world.groups_a[0]
    sent = _propose(client, world, ref["id"], group_id)
    assert sent.status_code == 201, sent.text
    proposal = sent.json()
    assert proposal["status"] == "open" and proposal["reference"] == "TW-0001"
    held = group_row(db, group_id)
    assert (held.free_places, held.held_places) == (2, 1)
    # the held place is no longer offered to others
    options = client.get(
        f"/api/v1/referrals/{create_referral(client, world, 'TW-2')['id']}/options",
        headers=world.headers("coordinator"),
    ).json()["options"]
    assert next(o for o in options if o["group_id"] == group_id)["free_places"] == 1

    accepted = client.post(f"/api/v1/proposals/{proposal['id']}/accept", headers=world.headers("provider_a"))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted" and accepted.json()["placement_status"] == "accepted"
    # Accepting is not arriving (backend/placements): the place stays held for the expected
    # youth and no admission is recorded until the arrival.
    group = group_row(db, group_id)
    assert (group.free_places, group.held_places) == (2, 1)
    with db.transaction(write=False) as session:
        referral = session.get(Referral, ref["id"])
        assert referral.status == "accepted" and referral.placed_group_id == group_id
        from backend.occupancy.models import OccupancyEvent

        admissions = session.exec(select(OccupancyEvent).where(OccupancyEvent.group_id == group_id)).all()
    assert admissions == []
    assert "proposal.created" in _event_types(db) and "proposal.accepted" in _event_types(db)
    again = client.post(f"/api/v1/proposals/{proposal['id']}/accept", headers=world.headers("provider_a"))
    assert again.status_code == 409 and "al geaccepteerd" in again.json()["detail"]


def test_decline_puts_the_youth_back_with_the_group_excluded(client, world, db):
    ref = create_referral(client, world)
    group_id = world.groups_a[0]
    proposal = _propose(client, world, ref["id"], group_id).json()
    url = f"/api/v1/proposals/{proposal['id']}/decline"
    wrong = client.post(url, json={"reason": "zomaar"}, headers=world.headers("provider_a"))
    assert wrong.status_code == 422 and "geen_plek_meer" in wrong.json()["detail"]
    no_text = client.post(url, json={"reason": "anders"}, headers=world.headers("provider_a"))
    assert no_text.status_code == 422 and "toelichting" in no_text.json()["detail"]
    coordinator = client.post(url, json={"reason": "veiligheid"}, headers=world.headers("coordinator"))
    assert coordinator.status_code == 403
    assert group_row(db, group_id).held_places == 1  # the failed attempts changed nothing
    declined = client.post(
        url, json={"reason": "groepsdynamiek", "text": "Twee nieuwe jongeren deze week"}, headers=world.headers("key_a")
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["decline_reason"] == "groepsdynamiek"
    assert declined.json()["decline_label"].startswith("Groepsdynamiek")
    group = group_row(db, group_id)
    assert (group.free_places, group.held_places) == (2, 0)
    with db.transaction(write=False) as session:
        referral = session.get(Referral, ref["id"])
    assert referral.status == "waiting" and referral.excluded_group_ids == [group_id]
    body = client.get(f"/api/v1/referrals/{ref['id']}/options", headers=world.headers("coordinator")).json()
    assert group_id not in [o["group_id"] for o in body["options"]]
    assert body["excluded"]["excluded"] == 1


def test_unanswered_proposal_expires_and_the_youth_waits_again(client, world, db):
    ref = create_referral(client, world)
    first = _propose(client, world, ref["id"], world.groups_a[0]).json()
    with db.transaction() as session:
        row = session.get(Proposal, first["id"])
        assert abs(
            (row.expires_at.replace(tzinfo=None) - row.created_at.replace(tzinfo=None)) - timedelta(hours=24)
        ) < timedelta(seconds=1)  # the default 24 h
        row.expires_at = utcnow() - timedelta(minutes=1)
        session.add(row)
    from backend.registry import PERIODIC_TASKS

    assert any(t.run is expire_proposals for t in PERIODIC_TASKS)  # runs in the background too
    assert expire_proposals(db) == [first["id"]]
    assert expire_proposals(db) == []  # idempotent
    assert group_row(db, world.groups_a[0]).held_places == 0
    with db.transaction(write=False) as session:
        assert session.get(Referral, ref["id"]).status == "waiting"
    assert "proposal.expired" in _event_types(db)

    # lazy expiry: answering after the deadline, before the periodic task ran, is refused
    second = _propose(client, world, ref["id"], world.groups_a[1]).json()
    with db.transaction() as session:
        row = session.get(Proposal, second["id"])
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    late = client.post(f"/api/v1/proposals/{second['id']}/accept", headers=world.headers("provider_a"))
    assert late.status_code == 409 and "verlopen" in late.json()["detail"]
    assert group_row(db, world.groups_a[1]).held_places == 0
    assert (
        client.get(f"/api/v1/proposals/{second['id']}", headers=world.headers("provider_a")).json()["status"]
        == "expired"
    )


def test_providers_see_only_their_own_proposals_and_never_the_reference(client, world):
    ref_a = create_referral(client, world, "TW-A")
    ref_b = create_referral(client, world, "TW-B", care_forms=["gezinshuis"], required_intensity="B")
    prop_a = _propose(client, world, ref_a["id"], world.groups_a[0]).json()
    prop_b = _propose(client, world, ref_b["id"], world.groups_b[0]).json()
    mine = client.get("/api/v1/proposals", headers=world.headers("provider_a")).json()
    assert [p["id"] for p in mine] == [prop_a["id"]]
    assert mine[0]["reference"] is None and mine[0]["referral_id"] is None
    assert mine[0]["profile"]["needs"] == ["trauma"] and mine[0]["profile"]["age"] == 14
    assert "TW-A" not in str(mine)
    for who in ("provider_a", "key_a"):
        assert client.get(f"/api/v1/proposals/{prop_b['id']}", headers=world.headers(who)).status_code == 404
        assert client.post(f"/api/v1/proposals/{prop_b['id']}/accept", headers=world.headers(who)).status_code == 404
    assert client.get(f"/api/v1/proposals/{prop_b['id']}", headers=world.headers("key_b")).status_code == 200
    assert client.get("/api/v1/proposals", headers=world.headers("viewer")).status_code == 403


def test_a_place_cannot_be_proposed_twice_beyond_what_is_free(client, world, db):
    one = create_referral(client, world, "TW-1")
    two = create_referral(client, world, "TW-2")
    group_id = world.groups_a[1]  # one free place
    assert _propose(client, world, one["id"], group_id).status_code == 201
    taken = _propose(client, world, two["id"], group_id)
    assert taken.status_code == 409 and "vergeven" in taken.json()["detail"]
    assert group_row(db, group_id).held_places == 1
    with db.transaction(write=False) as session:
        assert session.get(Referral, two["id"]).status == "waiting"
    # and a proposal for an unsuitable group is refused with the reasons
    unsuitable = _propose(client, world, two["id"], world.groups_b[0])
    assert unsuitable.status_code == 422 and "Zorgvorm" in unsuitable.json()["detail"]


def test_concurrent_proposals_for_the_last_place_have_one_winner(database_url, world):
    settings = make_settings(database_url)
    with running_server(settings) as base:
        headers = world.headers("coordinator")
        ids = []
        for n in range(6):
            r = httpx.post(
                f"{base}/api/v1/referrals",
                headers=headers,
                json={
                    "reference": f"TW-C{n}",
                    "birth_year": utcnow().year - 14,
                    "birth_month": 1,
                    "gender": "v",
                    "home_municipality": "Enschede",
                    "care_forms": ["behandelgroep"],
                    "required_intensity": "C",
                },
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        codes: list[int] = []
        barrier = threading.Barrier(len(ids))

        def go(rid: int) -> None:
            barrier.wait()
            resp = httpx.post(
                f"{base}/api/v1/referrals/{rid}/proposals",
                headers=headers,
                json={"group_id": world.groups_a[1]},
                timeout=30,
            )
            codes.append(resp.status_code)

        threads = [threading.Thread(target=go, args=(rid,)) for rid in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(codes) == [201] + [409] * 5


def test_withdrawing_a_proposed_referral_gives_the_held_place_back(client, world, db):
    ref = create_referral(client, world)
    proposal = _propose(client, world, ref["id"], world.groups_a[1]).json()
    assert group_row(db, world.groups_a[1]).held_places == 1
    gone = client.post(
        f"/api/v1/referrals/{ref['id']}/withdraw",
        json={"reason": "Elders geplaatst"},
        headers=world.headers("coordinator"),
    )
    assert gone.status_code == 200 and gone.json()["status"] == "withdrawn"
    assert group_row(db, world.groups_a[1]).held_places == 0
    seen = client.get(f"/api/v1/proposals/{proposal['id']}", headers=world.headers("provider_a")).json()
    assert seen["status"] == "withdrawn"
    late = client.post(f"/api/v1/proposals/{proposal['id']}/accept", headers=world.headers("provider_a"))
    assert late.status_code == 409
