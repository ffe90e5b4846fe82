"""Reporting availability: validation, versions, events and audit."""

from __future__ import annotations

import pytest
from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.events.models import Event
from tests.factories import count_events_and_audit as counts
from tests.factories import group_row
from tests.factories import put_availability as put


def test_report_changes_state_and_writes_event_and_audit(client, world, db):
    group_id = world.groups_a[0]
    response = put(client, world, group_id, {"free_places": 3, "waiting_list": 4})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["free_places"] == 3 and body["admitting"] is True and body["stale"] is False
    assert body["version"] == 2 and response.headers["ETag"] == '"2"'
    for field in ("id", "provider_id", "name", "care_form", "capacity", "reported_at"):
        assert field in body
    with db.transaction(write=False) as session:
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
    assert (after.free_places, after.version, after.admitting) == (before.free_places, before.version, before.admitting)
    assert counts(db) == (0, 0)


def test_not_admitting_needs_reason_and_keeps_it(client, world):
    response = put(
        client, world, world.groups_a[0], {"free_places": 0, "admitting": False, "reason": "Personeelstekort"}
    )
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
