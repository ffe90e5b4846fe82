"""Crisis search: nearest free crisis places, own region first, net of holds, fast path."""

from __future__ import annotations

import pytest

from tests.backend.crisis.helpers import build_crisis_places, set_places

URL = "/api/v1/crisis/search"


@pytest.fixture
def places(db, world):
    return build_crisis_places(db, world)


def search(client, world, who="crisis", **body):
    body.setdefault("age", 15)
    return client.post(URL, json=body, headers=world.headers(who))


def test_own_region_first_then_neighbours_nearest_first(client, world, places):
    response = search(client, world, postcode="7511", radius_km=400)
    assert response.status_code == 200, response.text
    body = response.json()
    ids = [r["group_id"] for r in body["results"]]
    # Enschede is nearest (own region), Almelo next (own), Deventer (neighbour), Amsterdam last.
    assert ids == [places.enschede, places.wilg, places.deventer, places.amsterdam]
    tiers = [r["tier_label"] for r in body["results"]]
    assert tiers == ["eigen regio", "eigen regio", "buurregio", "verder weg"]
    first = body["results"][0]
    assert first["distance_km"] < 1.0
    assert first["phone_24h"] == "053-1234567" and first["provider_name"] == "Stichting De Linde"
    assert first["free_places"] == 2 and first["stale"] is False
    assert first["minutes_since_report"] == 0 and first["reported_at"]
    assert body["own_region"] == "JZ14" and body["neighbour_regions"] == ["JZ07"]
    distances = [r["distance_km"] for r in body["results"][:2]]
    assert distances == sorted(distances)


def test_neighbour_ranks_before_a_nearer_far_region_group_and_radius_cuts(client, world, places):
    # From Deventer's position: the own-region (Twente) places come first although Deventer is
    # nearer, then Deventer as neighbour; Amsterdam (87 km) is outside an 80 km radius.
    body = search(client, world, lat=52.255, lon=6.17, radius_km=80).json()
    ids = [r["group_id"] for r in body["results"]]
    assert ids[-1] == places.deventer and places.amsterdam not in ids
    assert set(ids[:-1]) == {places.enschede, places.wilg}


def test_free_places_are_net_of_holds_and_full_or_closed_groups_are_left_out(client, world, db, places):
    set_places(db, places.enschede, free=2, held=1)
    set_places(db, places.wilg, free=1, held=1)  # fully held
    set_places(db, places.deventer, free=2, admitting=False)
    body = search(client, world, postcode="7511", radius_km=400).json()
    by_id = {r["group_id"]: r for r in body["results"]}
    assert by_id[places.enschede]["free_places"] == 1
    assert by_id[places.enschede]["reported_free_places"] == 2
    assert by_id[places.enschede]["held_places"] == 1
    assert places.wilg not in by_id and places.deventer not in by_id


def test_age_gender_needs_and_secure_care(client, world, places):
    girls = search(client, world, postcode="7511", age=8, gender="meisje", needs=["hechting"]).json()
    assert [r["group_id"] for r in girls["results"]] == [places.foster]
    assert girls["results"][0]["kind"] == "crisispleeggezin"
    assert girls["results"][0]["needs_met"] == ["hechting"]
    boys = search(client, world, postcode="7511", age=8, gender="jongen").json()
    assert boys["results"] == []
    plain = search(client, world, postcode="7511").json()
    assert places.secure not in [r["group_id"] for r in plain["results"]]
    secure = search(client, world, postcode="7511", secure_care=True, needs=["agressie"]).json()
    kinds = {r["group_id"]: r["kind"] for r in secure["results"]}
    assert kinds[places.secure] == "jeugdzorgplus"
    missing = {r["group_id"]: r["needs_missing"] for r in secure["results"]}
    assert missing[places.enschede] == [] and missing[places.secure] == ["agressie"]


INVALID_SEARCHES = [
    ({"age": 15}, "geef een postcode of de positie"),
    ({"age": 15, "lat": 52.2}, "zowel de breedtegraad"),
    ({"age": 40, "postcode": "7511"}, "leeftijd mag hoogstens 27 zijn"),
    ({"age": 15, "postcode": "9999"}, "Postcode 9999 is onbekend"),
    ({"age": 15, "postcode": "75AB"}, "geen postcode van 4 cijfers"),
    ({"age": 15, "postcode": "7511", "needs": ["vliegangst"]}, "onbekende zorgbehoefte"),
    ({"age": 15, "postcode": "7511", "naam": "Jan"}, "naam is geen bekend veld"),
    ({"age": 15, "postcode": "7511", "region_code": "JZ99"}, "Regio 'JZ99' is onbekend"),
]


def test_invalid_search_is_explained_in_dutch(client, world, places):
    # One test over all cases: each case needs no fresh database, and setup is the slow part.
    for body, part in INVALID_SEARCHES:
        response = client.post(URL, json=body, headers=world.headers("crisis"))
        assert response.status_code == 422, body
        assert part in response.json()["detail"], (body, response.json())


def test_search_needs_login_and_a_role(client, world, places):
    assert client.post(URL, json={"age": 15, "postcode": "7511"}).status_code == 401
    assert search(client, world, who="provider_a", postcode="7511").status_code == 403
    assert search(client, world, who="coordinator", postcode="7511").status_code == 200
