"""A crisis worker's own active holds come from the server (GET /holds?mine=true): after a
reload or on a second device the hold card, its time and the provider's phone are back."""

from __future__ import annotations

import pytest

from tests.backend.crisis.helpers import build_crisis_places
from tests.factories import add_user


@pytest.fixture
def places(db, world):
    return build_crisis_places(db, world)


def test_my_active_holds_with_the_provider_to_call_and_not_a_colleagues(client, world, db, settings, places):
    with db.transaction() as session:
        _user, world.tokens["crisis2"] = add_user(session, settings, "crisis2", "crisis", None, world.region_id)
    mine = client.post(
        "/api/v1/holds",
        json={"group_id": places.enschede, "crisis_reference": "CR-MIJN-1"},
        headers=world.headers("crisis"),
    ).json()
    client.post(
        "/api/v1/holds",
        json={"group_id": places.wilg, "crisis_reference": "CR-COLL-1"},
        headers=world.headers("crisis2"),
    )
    listed = client.get("/api/v1/holds?status=active&mine=true", headers=world.headers("crisis"))
    assert listed.status_code == 200
    (card,) = listed.json()
    assert card["id"] == mine["id"] and card["expires_at"] == mine["expires_at"]
    assert card["provider_name"] and "phone_24h" in card
    # the team still sees both
    assert len(client.get("/api/v1/holds?status=active", headers=world.headers("crisis")).json()) == 2
    # released: no longer among the active ones
    client.delete(f"/api/v1/holds/{mine['id']}", headers=world.headers("crisis"))
    assert client.get("/api/v1/holds?status=active&mine=true", headers=world.headers("crisis")).json() == []
    assert client.get("/api/v1/holds?mine=ja", headers=world.headers("crisis")).status_code == 422
