"""A referral's timeline: intake, a proposal declined with its reason, a second proposal
accepted, arrival and discharge, in time order with who; the placed referral says where."""

from __future__ import annotations

from sqlmodel import select

from backend.audit.models import AuditEntry
from tests.factories import create_referral


def _propose(client, world, referral_id: int, group_id: int) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/v1/referrals/{referral_id}/proposals", json={"group_id": group_id}, headers=world.headers("coordinator")
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_timeline_from_decline_to_discharge(client, world, db):
    coordinator = world.headers("coordinator")
    ref = create_referral(client, world, "TW-TIJD-1")
    first = _propose(client, world, ref["id"], world.groups_a[0])
    declined = client.post(
        f"/api/v1/proposals/{first}/decline",
        json={"reason": "anders", "text": "groep is net vol met tieners"},
        headers=world.headers("provider_a"),
    )
    assert declined.status_code == 200, declined.text
    second = _propose(client, world, ref["id"], world.groups_a[1])
    accepted = client.post(f"/api/v1/proposals/{second}/accept", headers=world.headers("provider_a")).json()
    placement = accepted["placement_id"]
    assert (
        client.post(f"/api/v1/placements/{placement}/arrival", json={}, headers=world.headers("provider_a")).status_code
        == 200
    )

    body = client.get(f"/api/v1/referrals/{ref['id']}/timeline", headers=coordinator).json()
    kinds = [e["kind"] for e in body["events"]]
    assert kinds == ["created", "proposal", "declined", "proposal", "accepted", "placement", "arrived"]
    assert [e["at"] for e in body["events"]] == sorted(e["at"] for e in body["events"])
    decline = body["events"][2]
    assert "groep is net vol met tieners" in decline["reason"] and decline["who"] == "provider_a"
    assert body["events"][1]["who"] == "coordinator" and body["events"][1]["group_name"]
    assert body["status"] == "placed"
    assert body["placed"]["group_id"] == world.groups_a[1] and body["placed"]["placed_at"]

    discharged = client.post(
        f"/api/v1/placements/{placement}/discharge", json={"destination": "home"}, headers=world.headers("provider_a")
    )
    assert discharged.status_code == 200, discharged.text
    body = client.get(f"/api/v1/referrals/{ref['id']}/timeline", headers=coordinator).json()
    assert body["events"][-1]["kind"] == "discharged" and body["events"][-1]["destination"] == "Thuis"
    assert body["placed"]["discharged_at"]
    with db.transaction(write=False) as session:
        reads = session.exec(select(AuditEntry).where(AuditEntry.action == "referral.timeline")).all()
    assert len(reads) == 2


def test_withdrawal_with_its_reason_and_who_may_read(client, world):
    ref = create_referral(client, world, "TW-TIJD-2")
    client.post(
        f"/api/v1/referrals/{ref['id']}/withdraw", json={"reason": "verhuisd"}, headers=world.headers("coordinator")
    )
    events = client.get(f"/api/v1/referrals/{ref['id']}/timeline", headers=world.headers("coordinator")).json()[
        "events"
    ]
    assert events[-1]["kind"] == "withdrawn" and events[-1]["reason"] == "verhuisd"
    assert client.get(f"/api/v1/referrals/{ref['id']}/timeline", headers=world.headers("provider_a")).status_code == 403
    assert client.get("/api/v1/referrals/999999/timeline", headers=world.headers("coordinator")).status_code == 404
