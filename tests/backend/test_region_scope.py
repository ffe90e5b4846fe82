"""A coordinator acts for its own region only: another region's groups, re-assessments and
crisis holds answer 404 (nobody learns they exist) and nothing changes."""

from __future__ import annotations

from backend.intensity.models import IntensityReassessment
from backend.regions.models import Region
from tests.factories import add_user


def other_region_coordinator(db, world) -> dict[str, str]:
    with db.transaction() as session:
        region = Region(code="JZ99", name="Elders", settings={})
        session.add(region)
        session.flush()
        _user, token = add_user(session, world.settings, "coordinator_elders", "coordinator", None, region.id)
    return {"Authorization": f"Bearer {token}"}


def test_a_coordinator_cannot_decide_another_regions_reassessment(client, world, db):
    stranger = other_region_coordinator(db, world)
    group_id = world.groups_a[0]
    crossed = client.put(
        f"/api/v1/groups/{group_id}/staffing", json={"weekly_roster_hours": 300}, headers=world.headers("provider_a")
    ).json()
    reassessment_id = crossed["reassessment"]["id"]
    refused = client.post(
        f"/api/v1/intensity/reassessments/{reassessment_id}/decision", json={"approve": True}, headers=stranger
    )
    assert refused.status_code == 404, refused.text
    with db.transaction(write=False) as session:
        assert session.get(IntensityReassessment, reassessment_id).status == "open"
    listed = client.get("/api/v1/intensity/reassessments", headers=stranger)
    assert listed.status_code == 200 and listed.json() == []
    assert client.get(f"/api/v1/groups/{group_id}", headers=stranger).status_code == 404
    assert client.get("/api/v1/groups", headers=stranger).json() == []
    assert client.get("/api/v1/availability", headers=stranger).json()["groups"] == []
    own = client.post(
        f"/api/v1/intensity/reassessments/{reassessment_id}/decision",
        json={"approve": True},
        headers=world.headers("coordinator"),
    )
    assert own.status_code == 200 and own.json()["status"] == "approved"


def test_a_coordinator_cannot_read_another_regions_holds(client, world, db):
    stranger = other_region_coordinator(db, world)
    wilg = world.groups_b[1]  # the world's crisis group, in JZ14
    made = client.post(
        "/api/v1/holds", json={"group_id": wilg, "crisis_reference": "CR-1", "age": 15}, headers=world.headers("crisis")
    )
    assert made.status_code == 201, made.text
    hold_id = made.json()["id"]
    assert client.get(f"/api/v1/holds/{hold_id}", headers=stranger).status_code == 404
    assert client.get("/api/v1/holds", headers=stranger).json() == []
    assert client.post(f"/api/v1/holds/{hold_id}/release", headers=stranger).status_code in (403, 404)
    assert client.get(f"/api/v1/holds/{hold_id}", headers=world.headers("coordinator")).status_code == 200
    assert [h["id"] for h in client.get("/api/v1/holds", headers=world.headers("coordinator")).json()] == [hold_id]
