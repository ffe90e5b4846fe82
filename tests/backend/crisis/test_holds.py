"""Holds: create, confirm, release, reject, expire; roles, validation, audit and live feed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.audit.purposes import Purpose
from backend.crisis.models import Hold
from backend.crisis.service import expire_holds
from backend.domain import utcnow
from tests.backend.crisis.helpers import build_crisis_places, events, group_row, set_places
from tests.factories import create_referral


@pytest.fixture
def places(db, world):
    return build_crisis_places(db, world)


def hold(client, world, group_id, who="crisis", **body):
    body.setdefault("crisis_reference", "CR-2025-0042")
    return client.post("/api/v1/holds", json={"group_id": group_id, **body}, headers=world.headers(who))


def backdate(db, hold_id, minutes=1):
    with db.transaction() as session:
        session.execute(update(Hold).where(Hold.id == hold_id).values(expires_at=utcnow() - timedelta(minutes=minutes)))


def snapshot(db, group_id):
    g = group_row(db, group_id)
    return (g.free_places, g.held_places, g.version, len(events(db, "")))


def audit_actions(db):
    with db.transaction(write=False) as session:
        return [a.action for a in session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]


def test_hold_claims_the_place_everywhere_and_is_published(client, world, db, places):
    response = hold(client, world, places.wilg, age=15, gender="meisje")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "active" and body["group_id"] == places.wilg
    assert body["minutes"] == 120 and body["net_free_places"] == 0
    assert body["crisis_reference"] == "CR-2025-0042"
    row = group_row(db, places.wilg)
    assert (row.free_places, row.held_places) == (1, 1)
    # The held place no longer shows in search, nor as free in the group list.
    found = client.post(
        "/api/v1/crisis/search", json={"age": 15, "postcode": "7600"}, headers=world.headers("crisis")
    ).json()["results"]
    assert places.wilg not in [r["group_id"] for r in found]
    listed = client.get(f"/api/v1/groups/{places.wilg}", headers=world.headers("coordinator")).json()
    assert listed["net_free_places"] == 0
    [event] = events(db)
    assert event.type == "hold.created" and event.group_id == places.wilg
    assert event.payload["hold"]["status"] == "active" and event.payload["group"]["held_places"] == 1
    # No youth data on the live feed.
    assert "crisis_reference" not in event.payload["hold"] and "age" not in event.payload["hold"]
    assert audit_actions(db) == ["hold.create"]


def test_region_hold_minutes_override_default(client, world, places):
    body = hold(client, world, places.deventer).json()
    assert body["minutes"] == 45
    assert hold(client, world, places.enschede, minutes=30).json()["minutes"] == 30


def test_second_hold_on_last_place_is_409_with_alternatives_and_changes_nothing(client, world, db, places):
    assert hold(client, world, places.wilg).status_code == 201
    before = snapshot(db, places.wilg)
    second = hold(client, world, places.wilg, age=15)
    assert second.status_code == 409
    body = second.json()
    assert body["detail"].startswith("Deze plaats is net door iemand anders vastgehouden of bezet.")
    assert body["code"] == "place_taken"
    alternatives = [a["group_id"] for a in body["alternatives"]]
    assert alternatives and alternatives[0] == places.enschede and places.wilg not in alternatives
    assert snapshot(db, places.wilg) == before


def test_not_admitting_group_cannot_be_held(client, world, db, places):
    set_places(db, places.enschede, free=2, admitting=False)
    response = hold(client, world, places.enschede)
    assert response.status_code == 409 and "neemt op dit moment niemand op" in response.json()["detail"]
    assert group_row(db, places.enschede).held_places == 0


def test_confirm_places_the_youth_and_records_the_admission(client, world, db, places):
    hold_id = hold(client, world, places.enschede).json()["id"]
    response = client.post(f"/api/v1/holds/{hold_id}/confirm", headers=world.headers("crisis"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "confirmed" and body["confirmed_at"]
    assert body["admission_recorded"] is True
    row = group_row(db, places.enschede)
    assert (row.free_places, row.held_places) == (1, 0)
    assert [e.type for e in events(db)] == ["hold.created", "hold.confirmed"]
    from backend.occupancy.models import OccupancyEvent

    with db.transaction(write=False) as session:
        admissions = session.exec(select(OccupancyEvent).where(OccupancyEvent.group_id == places.enschede)).all()
    assert len(admissions) == 1 and admissions[0].stay_reference == "CR-2025-0042"
    # Confirming twice does not place twice.
    again = client.post(f"/api/v1/holds/{hold_id}/confirm", headers=world.headers("crisis"))
    assert again.status_code == 409 and "al bevestigd" in again.json()["detail"]
    assert group_row(db, places.enschede).free_places == 1


def test_release_frees_the_place_and_a_released_hold_cannot_be_confirmed(client, world, db, places):
    hold_id = hold(client, world, places.wilg).json()["id"]
    released = client.delete(f"/api/v1/holds/{hold_id}", headers=world.headers("crisis"))
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert group_row(db, places.wilg).held_places == 0
    before = snapshot(db, places.wilg)
    confirm = client.post(f"/api/v1/holds/{hold_id}/confirm", headers=world.headers("crisis"))
    assert confirm.status_code == 409
    assert confirm.json()["detail"].startswith("Deze vasthouding is al vrijgegeven.")
    assert "alternatives" in confirm.json()
    assert snapshot(db, places.wilg) == before
    again = client.delete(f"/api/v1/holds/{hold_id}", headers=world.headers("crisis"))
    assert again.status_code == 409 and snapshot(db, places.wilg) == before
    assert [e.type for e in events(db)] == ["hold.created", "hold.released"]


def test_expiry_frees_the_place_sends_a_live_event_and_blocks_confirm(client, world, db, places):
    hold_id = hold(client, world, places.wilg).json()["id"]
    token = world.tokens["provider_b"]
    with client.websocket_connect("/api/v1/live", headers={"Authorization": f"Bearer {token}"}) as ws:
        assert ws.receive_json()["type"] == "hello"
        backdate(db, hold_id)
        assert expire_holds(db) == 1
        message = ws.receive_json()
    assert message["type"] == "hold.expired" and message["hold"]["id"] == hold_id
    assert message["group"]["held_places"] == 0 and message["group"]["net_free_places"] == 1
    row = group_row(db, places.wilg)
    assert (row.free_places, row.held_places) == (1, 0)
    assert expire_holds(db) == 0  # nothing left to do
    before = snapshot(db, places.wilg)
    confirm = client.post(f"/api/v1/holds/{hold_id}/confirm", headers=world.headers("crisis"))
    assert confirm.status_code == 409
    assert confirm.json()["detail"].startswith("Deze vasthouding is verlopen")
    assert confirm.json()["hold_status"] == "expired"
    assert snapshot(db, places.wilg) == before
    assert "hold.expire" in audit_actions(db)


def test_touching_an_overdue_hold_expires_it_first(client, world, db, places):
    hold_id = hold(client, world, places.wilg).json()["id"]
    backdate(db, hold_id)
    # Not swept yet, but a confirm must not win against the clock.
    confirm = client.post(f"/api/v1/holds/{hold_id}/confirm", headers=world.headers("crisis"))
    assert confirm.status_code == 409 and "verlopen" in confirm.json()["detail"]
    row = group_row(db, places.wilg)
    assert (row.free_places, row.held_places) == (1, 0)
    # The freed place can be held again at once.
    assert hold(client, world, places.wilg, crisis_reference="CR-2").status_code == 201


def test_provider_holds_and_rejects_only_on_its_own_groups(client, world, db, places):
    own = hold(client, world, places.wilg, who="provider_b")
    assert own.status_code == 201
    assert hold(client, world, places.wilg, who="provider_a").status_code == 404
    assert hold(client, world, places.enschede, who="key_b").status_code == 404
    crisis_hold = hold(client, world, places.enschede).json()["id"]
    assert client.delete(f"/api/v1/holds/{crisis_hold}", headers=world.headers("provider_b")).status_code == 404
    assert client.get(f"/api/v1/holds/{crisis_hold}", headers=world.headers("provider_b")).status_code == 404
    # provider_b sees the holds on its group, not the others.
    seen = client.get("/api/v1/holds?status=active", headers=world.headers("provider_b")).json()
    assert [h["id"] for h in seen] == [own.json()["id"]]
    rejected = client.post(
        f"/api/v1/holds/{crisis_hold}/reject", json={"reason_code": "personeel"}, headers=world.headers("provider_a")
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["end_reason"] == "Onvoldoende personeel om nu op te nemen"
    assert group_row(db, places.enschede).held_places == 0
    assert events(db)[-1].type == "hold.rejected"
    confirm = client.post(f"/api/v1/holds/{crisis_hold}/confirm", headers=world.headers("crisis"))
    assert confirm.status_code == 409 and "afgewezen" in confirm.json()["detail"]


def test_roles_without_hold_rights(client, world, places):
    for who in ("coordinator", "viewer"):
        response = hold(client, world, places.wilg, who=who)
        assert response.status_code == 403 and "geen rechten" in response.json()["detail"]


def test_only_provider_or_admin_rejects_and_reason_rules(client, world, db, places):
    hold_id = hold(client, world, places.wilg).json()["id"]
    url = f"/api/v1/holds/{hold_id}/reject"
    assert client.post(url, json={"reason_code": "groep_vol"}, headers=world.headers("crisis")).status_code == 403
    assert client.post(url, json={"reason_code": "groep_vol"}, headers=world.headers("provider_a")).status_code == 404
    bad = client.post(url, json={"reason_code": "anders"}, headers=world.headers("provider_b"))
    assert bad.status_code == 422 and "reden in eigen woorden" in bad.json()["detail"]
    assert group_row(db, places.wilg).held_places == 1
    ok = client.post(
        url, json={"reason_code": "anders", "reason": "Brandalarm, groep ontruimd"}, headers=world.headers("provider_b")
    )
    assert ok.status_code == 200 and ok.json()["end_reason"] == "Brandalarm, groep ontruimd"


INVALID_HOLDS = [
    ({"crisis_reference": "Jan de Vries"}, "geen naam"),
    ({"crisis_reference": "123456782"}, "BSN"),
    ({"crisis_reference": "123-456-782"}, "BSN"),
    ({"crisis_reference": None}, "crisiscode of een verwijzing"),
    ({"minutes": 100000}, "duur (minuten) mag hoogstens 1440 zijn"),
    ({"status": "confirmed"}, "status is geen bekend veld"),
]


def test_invalid_hold_is_refused_and_changes_nothing(client, world, db, places):
    before = snapshot(db, places.wilg)
    for body, part in INVALID_HOLDS:
        response = hold(client, world, places.wilg, **body)
        assert response.status_code == 422, body
        assert part in response.json()["detail"], (body, response.json())
    assert snapshot(db, places.wilg) == before
    assert audit_actions(db) == []


def test_non_crisis_group_and_unknown_group(client, world, db):
    response = hold(client, world, world.groups_a[0])
    assert response.status_code == 422 and "geen crisisplaats" in response.json()["detail"]
    assert hold(client, world, 99999).status_code == 404
    assert client.post("/api/v1/holds/99999/confirm", headers=world.headers("crisis")).status_code == 404


def test_referral_instead_of_reference(client, world, places):
    referral_id = create_referral(client, world)["id"]
    response = hold(client, world, places.wilg, crisis_reference=None, referral_id=referral_id)
    assert response.status_code == 201 and response.json()["referral_id"] == referral_id


def test_reading_holds_is_audited(client, world, db, places):
    hold_id = hold(client, world, places.wilg).json()["id"]
    assert client.get(f"/api/v1/holds/{hold_id}", headers=world.headers("coordinator")).status_code == 200
    assert len(client.get("/api/v1/holds", headers=world.headers("crisis")).json()) == 1
    assert client.get("/api/v1/holds", headers=world.headers("viewer")).status_code == 403
    with db.transaction(write=False) as session:
        reads = session.exec(select(AuditEntry).where(AuditEntry.action == "hold.read")).all()
    assert [(r.object_id, r.actor_role) for r in reads] == [(str(hold_id), "coordinator"), (str(hold_id), "crisis")]


def test_crisis_overview(client, world, db, places):
    hold(client, world, places.enschede)
    response = client.get("/api/v1/crisis/overview", headers=world.headers("coordinator"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["region_code"] == "JZ14"
    by_id = {g["group_id"]: g for g in body["groups"]}
    assert set(by_id) == {places.wilg, places.enschede, places.foster}
    es = by_id[places.enschede]
    assert (es["free_places"], es["held_places"], es["net_free_places"], es["active_holds"]) == (2, 1, 1, 1)
    assert es["occupied_today"] == 4 and es["occupancy_rate"] == pytest.approx(4 / 6, abs=0.001)
    assert es["next_hold_expires_at"] and es["stale"] is False and es["phone_24h"] == "053-1234567"
    # The position of the picture: the last event (the hold's, and the provider's notification of it).
    assert body["totals"]["held_places"] == 1 and body["seq"] == max(e.seq for e in events(db, prefix=""))
    # Another region's overview is that region's: 404 for a viewer (or anyone) bound to JZ14.
    other = client.get("/api/v1/crisis/overview?region_code=JZ07", headers=world.headers("viewer"))
    assert other.status_code == 404
    own = client.get("/api/v1/crisis/overview", headers=world.headers("provider_b")).json()
    assert [g["group_id"] for g in own["groups"]] == [places.wilg]
    assert client.get("/api/v1/crisis/overview").status_code == 401


def test_a_held_place_cannot_be_taken_by_a_placement_proposal(client, world, db, places):
    """Holds count against free places for the matching side too (same held_places claim)."""
    from backend.auth import Principal
    from backend.availability.service import Notice, claim

    def claim_place(group_id):
        matcher = Principal(kind="system", id=0, name="matching", role="system", provider_id=None)
        notice = Notice("proposal.created", matcher, "proposal.create", "group", group_id, Purpose.proposal_send)
        with db.transaction() as session:
            return claim(session=session, group_id=group_id, notice=notice, stale_after_hours=24) is not None

    hold_id = hold(client, world, places.wilg).json()["id"]
    assert claim_place(places.wilg) is False
    client.delete(f"/api/v1/holds/{hold_id}", headers=world.headers("crisis"))
    assert claim_place(places.wilg) is True


def test_a_hold_for_an_unknown_referral_is_refused_in_dutch_and_changes_nothing(client, world, db, places):
    before = snapshot(db, places.wilg)
    response = client.post(
        "/api/v1/holds",
        json={"group_id": places.wilg, "referral_id": 999_999, "age": 15},
        headers=world.headers("crisis"),
    )
    assert response.status_code == 422 and "bestaat niet" in response.json()["detail"]
    assert snapshot(db, places.wilg) == before
