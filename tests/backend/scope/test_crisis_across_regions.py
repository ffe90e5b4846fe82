"""The crisis team may hold a place in another region (the search offers neighbours), but the
hold is its own region's: the other region's people do not read that youth's data; the
provider of the place does, and on arrival the youth counts for the holding region."""

from __future__ import annotations

from sqlmodel import select

from backend.occupancy.models import OccupancyEvent
from tests.backend.scope.regions import build_region_b
from tests.factories import set_free


def test_a_hold_in_another_region_belongs_to_the_holding_team(client, world, db, settings):
    b = build_region_b(db, settings)
    wilg = world.groups_b[1]  # region A's crisis group
    set_free(client, world, wilg, 2, "provider_b")
    made = client.post(
        "/api/v1/holds",
        json={"group_id": wilg, "crisis_reference": "CR-B-1", "age": 15},
        headers=b.headers("crisis"),
    )
    assert made.status_code == 201, made.text
    hold = made.json()
    assert hold["region_id"] == b.region_id and hold["group_id"] == wilg
    # The holding team and the provider of the place read it ...
    assert client.get(f"/api/v1/holds/{hold['id']}", headers=b.headers("crisis")).status_code == 200
    assert client.get(f"/api/v1/holds/{hold['id']}", headers=world.headers("provider_b")).status_code == 200
    assert [h["id"] for h in client.get("/api/v1/holds", headers=b.headers("crisis")).json()] == [hold["id"]]
    # ... region A's people do not (only the count of held places, in the overview).
    for who in ("crisis", "coordinator", "admin"):
        assert client.get(f"/api/v1/holds/{hold['id']}", headers=world.headers(who)).status_code == 404
        assert client.get("/api/v1/holds", headers=world.headers(who)).json() == []
        assert client.delete(f"/api/v1/holds/{hold['id']}", headers=world.headers(who)).status_code in (403, 404)
    overview = client.get("/api/v1/crisis/overview", headers=world.headers("coordinator")).json()
    assert next(g for g in overview["groups"] if g["group_id"] == wilg)["active_holds"] == 1
    assert "CR-B-1" not in str(overview)
    # A region-B administrator, unlike the crisis team, holds only in its own region.
    refused = client.post(
        "/api/v1/holds", json={"group_id": wilg, "crisis_reference": "CR-B-2"}, headers=b.headers("admin")
    )
    assert refused.status_code == 404
    confirmed = client.post(f"/api/v1/holds/{hold['id']}/confirm", headers=b.headers("crisis"))
    assert confirmed.status_code == 200, confirmed.text
    with db.transaction(write=False) as session:
        admissions = session.exec(select(OccupancyEvent).where(OccupancyEvent.group_id == wilg)).all()
    assert [a.origin_region_code for a in admissions] == ["JZ07"]
