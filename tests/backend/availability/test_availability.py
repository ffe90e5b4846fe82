"""Reporting availability: validation, versions, idempotency, events and audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.events.models import Event
from backend.providers.models import Group


def group_row(db, group_id):
    with db.session(write=False) as session:
        return session.get(Group, group_id)


def counts(db):
    with db.session(write=False) as session:
        return (len(session.exec(select(Event)).all()), len(session.exec(select(AuditEntry)).all()))


def put(client, world, group_id, body, who="provider_a", **headers):
    return client.put(f"/api/v1/groups/{group_id}/availability", json=body,
                      headers={**world.headers(who), **headers})


def test_report_changes_state_and_writes_event_and_audit(client, world, db):
    group_id = world.groups_a[0]
    response = put(client, world, group_id, {"free_places": 3, "waiting_list": 4})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["free_places"] == 3 and body["admitting"] is True and body["stale"] is False
    assert body["version"] == 2 and response.headers["ETag"] == '"2"'
    for field in ("id", "provider_id", "name", "care_form", "capacity", "reported_at"):
        assert field in body
    with db.session(write=False) as session:
        events = session.exec(select(Event)).all()
        audit = session.exec(select(AuditEntry)).all()
    assert [(e.seq, e.type, e.group_id) for e in events] == [(1, "availability.changed", group_id)]
    assert events[0].payload["group"]["free_places"] == 3
    assert len(audit) == 1 and audit[0].action == "availability.update"
    assert audit[0].detail["before"]["free_places"] == 2
    assert audit[0].detail["after"]["free_places"] == 3
    assert audit[0].actor.startswith("user:")


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ({"free_places": -1}, "vrije plaatsen moet minstens 0 zijn"),
        ({"free_places": 9}, "kan niet meer zijn dan de capaciteit"),
        ({"free_places": 1, "admitting": False}, "Geef een reden op"),
        ({"free_places": 1, "admitting": False, "reason": "   "}, "Geef een reden op"),
        ({"free_places": 1, "version": 99}, "version is geen bekend veld"),
        ({"free_places": 1, "provider_id": 2}, "provider_id is geen bekend veld"),
        ({"free_places": 1, "reported_at": "2020-01-01T00:00:00Z"}, "reported_at is geen bekend"),
        ({"free_places": "veel"}, "vrije plaatsen moet een geheel getal zijn"),
        ({}, "vrije plaatsen is verplicht"),
        ({"free_places": 1, "expected_free_date": "morgen"}, "verwachte datum vrij moet een datum"),
    ],
)
def test_invalid_report_is_refused_and_changes_nothing(client, world, db, body, message_part):
    group_id = world.groups_a[0]
    before = group_row(db, group_id)
    response = put(client, world, group_id, body)
    assert response.status_code == 422
    assert message_part in response.json()["detail"]
    after = group_row(db, group_id)
    assert (after.free_places, after.version, after.admitting) == (
        before.free_places, before.version, before.admitting)
    assert counts(db) == (0, 0)


def test_not_admitting_needs_reason_and_keeps_it(client, world):
    response = put(client, world, world.groups_a[0],
                   {"free_places": 0, "admitting": False, "reason": "Personeelstekort"})
    assert response.status_code == 200
    assert response.json()["reason"] == "Personeelstekort"
    assert response.json()["admitting"] is False


def test_if_match_old_version_is_412_and_changes_nothing(client, world, db):
    group_id = world.groups_a[0]
    first = put(client, world, group_id, {"free_places": 1}, **{"If-Match": '"1"'})
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    stale = put(client, world, group_id, {"free_places": 0}, **{"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert "intussen gewijzigd" in stale.json()["detail"]
    row = group_row(db, group_id)
    assert (row.free_places, row.version) == (1, 2)
    assert counts(db) == (1, 1)
    fresh = put(client, world, group_id, {"free_places": 0}, **{"If-Match": first.headers["ETag"]})
    assert fresh.status_code == 200 and fresh.json()["version"] == 3


def test_idempotent_replay_returns_first_response_without_second_change(client, world, db):
    group_id = world.groups_a[0]
    headers = {"Idempotency-Key": "abc-123"}
    first = put(client, world, group_id, {"free_places": 3}, **headers)
    again = put(client, world, group_id, {"free_places": 3}, **headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert group_row(db, group_id).version == 2
    assert counts(db) == (1, 1)


def test_idempotency_key_with_other_body_is_422(client, world, db):
    group_id = world.groups_a[0]
    put(client, world, group_id, {"free_places": 3}, **{"Idempotency-Key": "k1"})
    other = put(client, world, group_id, {"free_places": 1}, **{"Idempotency-Key": "k1"})
    assert other.status_code == 422
    assert "al gebruikt" in other.json()["detail"]
    assert group_row(db, group_id).free_places == 3


def test_list_filters_and_staleness(client, world, db):
    with db.session() as session:
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
    crisis = client.get("/api/v1/groups", params={"care_form": "crisis"},
                        headers=world.headers("coordinator")).json()
    assert [g["id"] for g in crisis] == [world.groups_b[1]]
    almelo = client.get("/api/v1/groups",
                        params={"municipality_id": world.municipality_ids["Almelo"]},
                        headers=world.headers("viewer")).json()
    assert {g["id"] for g in almelo} == set(world.groups_b)
    put(client, world, world.groups_a[1], {"free_places": 0})
    min_free = client.get("/api/v1/groups", params={"min_free": 1},
                          headers=world.headers("viewer")).json()
    assert world.groups_a[1] not in {g["id"] for g in min_free}
    put(client, world, world.groups_a[0], {"free_places": 1, "admitting": False,
                                           "reason": "Groepsdynamiek"})
    admitting = client.get("/api/v1/groups", params={"admitting_only": "true"},
                           headers=world.headers("viewer")).json()
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
