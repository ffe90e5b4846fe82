"""The intensity calculator (seed 000's example) and re-assessment when staffing crosses a band."""

from __future__ import annotations

from sqlmodel import select

from backend.domain import utcnow
from backend.events.models import Event
from backend.providers.models import Group
from backend.regions.models import Region


def calc(client, world, who="provider_a", **body):
    return client.post("/api/v1/intensity/calculate", json=body, headers=world.headers(who))


def test_seed_example_ordinary_and_crisis(client, world):
    ordinary = calc(client, world, weekly_roster_hours=220, places=8, care_form="woongroep").json()
    # 220 / (8 × 95% = 7.6) / 7 = 4.135…: 4.1 hours per child per day, band E (4–5).
    assert ordinary["hours_per_child_per_day_rounded"] == 4.1 and ordinary["hours_per_child_per_day"] == 4.14
    assert ordinary["children_at_norm"] == 7.6 and ordinary["intensity"] == "E"
    assert "4,14 uur per kind per dag" in ordinary["explanation"]
    crisis = calc(client, world, who="key_b", weekly_roster_hours=220, places=8, care_form="crisis").json()
    # At the crisis norm of 100%: 220 / 8 / 7 = 3.93: band D.
    assert crisis["occupancy_norm"] == 1.0 and crisis["hours_per_child_per_day"] == 3.93
    assert crisis["intensity"] == "D"


def test_care_form_maximum_and_region_bands(client, world, db):
    # 400 / 5.7 / 7 = 10.03: K, above kamertraining's cap C; 800 / 7.6 / 7 = 15.04: N, allowed for jeugdzorgplus.
    room = calc(client, world, weekly_roster_hours=400, places=6, care_form="kamertraining").json()
    assert room["intensity"] == "K" and room["within_maximum"] is False and room["funded_intensity"] == "C"
    secure = calc(client, world, weekly_roster_hours=800, places=8, care_form="jeugdzorgplus").json()
    assert secure["intensity"] == "N" and secure["within_maximum"] is True
    with db.transaction() as session:
        region = session.exec(select(Region)).one()
        region.settings = {"intensity_bands": [["A", 0], ["B", 2], ["C", 4.5]]}
        session.add(region)
    assert calc(client, world, weekly_roster_hours=220, places=8).json()["intensity"] == "B"
    assert calc(client, world, weekly_roster_hours=220, places=8, care_form="onbekend").status_code == 422


def test_staffing_change_across_a_band_is_flagged_for_reassessment(client, world, db):
    group_id = world.groups_a[0]  # woongroep, 8 places, 220 hours: E
    same_band = client.put(
        f"/api/v1/groups/{group_id}/staffing", json={"weekly_roster_hours": 230}, headers=world.headers("provider_a")
    )
    assert same_band.status_code == 200 and same_band.json()["reassessment"] is None
    crossed = client.put(
        f"/api/v1/groups/{group_id}/staffing", json={"weekly_roster_hours": 300}, headers=world.headers("provider_a")
    ).json()
    # 300 / 7.6 / 7 = 5.64: band F; the funded intensity stays E until it is assessed.
    assert crossed["reassessment"]["intensity_before"] == "E" and crossed["reassessment"]["intensity_after"] == "F"
    assert crossed["group"]["intensity"] == "E"
    current = client.get(f"/api/v1/intensity/groups/{group_id}", headers=world.headers("coordinator")).json()
    assert current["reassessment_required"] is True and current["calculated_intensity"] == "F"
    with db.transaction(write=False) as session:
        flagged = session.exec(select(Event).where(Event.type == "intensity.reassessment_required")).all()
    assert [(e.group_id, e.payload["intensity_after"]) for e in flagged] == [(group_id, "F")]
    reassessment_id = crossed["reassessment"]["id"]
    assert (
        client.post(
            f"/api/v1/intensity/reassessments/{reassessment_id}/decision",
            json={"approve": True},
            headers=world.headers("provider_a"),
        ).status_code
        == 403
    )
    decided = client.post(
        f"/api/v1/intensity/reassessments/{reassessment_id}/decision",
        json={"approve": True, "note": "Roosters gezien"},
        headers=world.headers("coordinator"),
    )
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    with db.transaction(write=False) as session:
        assert session.get(Group, group_id).intensity == "F"
    # Fewer places for the same hours also crosses a band: 300 / (6 × 0.95) / 7 = 7.52: H.
    fewer = client.put(
        f"/api/v1/groups/{group_id}/staffing", json={"capacity": 6}, headers=world.headers("admin")
    ).json()
    assert fewer["reassessment"]["intensity_after"] == "H" and fewer["group"]["capacity"] == 6
    # The region's change of places is a contract version from today (the group began today).
    terms = client.get(f"/api/v1/groups/{group_id}/contract-terms", headers=world.headers("admin")).json()
    assert [(t["valid_from"], t["valid_to"], t["contracted_places"]) for t in terms] == [
        (utcnow().date().isoformat(), None, 6)
    ]


def test_staffing_refusals_change_nothing(client, world, db):
    group_id = world.groups_a[0]
    assert (
        client.put(
            f"/api/v1/groups/{group_id}/staffing", json={"capacity": 7}, headers=world.headers("provider_b")
        ).status_code
        == 404
    )
    assert (
        client.put(
            f"/api/v1/groups/{group_id}/staffing", json={"capacity": 7}, headers=world.headers("viewer")
        ).status_code
        == 403
    )
    # Contracted places are the region's: the provider asks for them (a places request).
    by_provider = client.put(
        f"/api/v1/groups/{group_id}/staffing", json={"capacity": 9}, headers=world.headers("provider_a")
    )
    assert by_provider.status_code == 403 and "Plaatsen aanvragen" in by_provider.json()["detail"]
    too_small = client.put(f"/api/v1/groups/{group_id}/staffing", json={"capacity": 1}, headers=world.headers("admin"))
    assert too_small.status_code == 422 and "vrije plaatsen" in too_small.json()["detail"]
    above = client.put(
        f"/api/v1/groups/{group_id}/staffing", json={"weekly_roster_hours": 900}, headers=world.headers("provider_a")
    )
    assert above.status_code == 422 and "boven het maximum L" in above.json()["detail"]
    with db.transaction(write=False) as session:
        group = session.get(Group, group_id)
        assert (group.capacity, group.weekly_roster_hours, group.version) == (8, 220.0, 1)
