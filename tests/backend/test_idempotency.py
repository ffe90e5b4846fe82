"""Safe retries: a write sent again with the same ``Idempotency-Key`` returns the first answer
once, and the key cannot be reused for another body (shown on the availability report)."""

from __future__ import annotations

from tests.factories import count_events_and_audit as counts
from tests.factories import group_row
from tests.factories import put_availability as put


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
