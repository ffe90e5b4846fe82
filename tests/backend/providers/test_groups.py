"""Listing groups: filters, staleness and the settings the screens need."""

from __future__ import annotations

from datetime import timedelta

from backend.providers.models import Group
from tests.factories import put_availability as put


def test_list_filters_and_staleness(client, world, db):
    with db.transaction() as session:
        group = session.get(Group, world.groups_b[0])
        group.reported_at = group.reported_at - timedelta(hours=30)
        session.add(group)
    response = client.get("/api/v1/availability", headers=world.headers("coordinator"))
    assert response.status_code == 200
    body = response.json()
    by_id = {g["id"]: g for g in body["groups"]}
    assert set(by_id) == set(world.groups_a + world.groups_b)
    assert by_id[world.groups_b[0]]["stale"] is True
    assert by_id[world.groups_a[0]]["stale"] is False
    assert body["stale_groups"] == 1 and body["seq"] == 0
    crisis = client.get("/api/v1/groups", params={"care_form": "crisis"}, headers=world.headers("coordinator")).json()
    assert [g["id"] for g in crisis] == [world.groups_b[1]]
    almelo = client.get(
        "/api/v1/groups", params={"municipality_id": world.municipality_ids["Almelo"]}, headers=world.headers("viewer")
    ).json()
    assert {g["id"] for g in almelo} == set(world.groups_b)
    put(client, world, world.groups_a[1], {"free_places": 0})
    min_free = client.get("/api/v1/groups", params={"min_free": 1}, headers=world.headers("viewer")).json()
    assert world.groups_a[1] not in {g["id"] for g in min_free}
    put(client, world, world.groups_a[0], {"free_places": 1, "admitting": False, "reason": "Groepsdynamiek"})
    admitting = client.get("/api/v1/groups", params={"admitting_only": "true"}, headers=world.headers("viewer")).json()
    assert world.groups_a[0] not in {g["id"] for g in admitting}


def test_stale_limit_is_configurable(world, database_url):
    from starlette.testclient import TestClient

    from backend.main import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(database_url, stale_after_hours=0.0))
    with TestClient(app) as client:
        body = client.get("/api/v1/groups", headers=world.headers("viewer")).json()
    assert body and all(g["stale"] for g in body)


def test_ui_settings_carry_the_configured_tile_server(world, database_url):
    from starlette.testclient import TestClient

    from backend.main import create_app
    from tests.conftest import make_settings

    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    app = create_app(make_settings(database_url, tile_server_url=url, stale_after_hours=12))
    with TestClient(app) as client:
        body = client.get("/api/v1/ui-settings", headers=world.headers("coordinator")).json()
        assert client.get("/api/v1/ui-settings").status_code == 401
    assert body == {"tile_server_url": url, "stale_after_hours": 12.0}
