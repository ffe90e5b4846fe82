"""Referrals: pseudonymous entry, validation in Dutch, roles, audit, home location."""

from __future__ import annotations

from sqlmodel import select

from backend.audit.models import AuditEntry
from backend.referrals.models import Referral
from backend.regions.models import Postcode
from tests.factories import create_referral, referral_body


def _count_referrals(db) -> int:  # type: ignore[no-untyped-def]
    with db.transaction(write=False) as session:
        return len(session.exec(select(Referral)).all())


def test_coordinator_enters_referral_without_name_and_reads_it_back(client, world, db):
    created = create_referral(client, world, sibling_set="fam-1")
    assert created["status"] == "waiting" and created["status_label"] == "Wachtend"
    assert created["age"] == 14 and created["origin_region_code"] == "JZ14"
    assert "name" not in created and "bsn" not in created
    got = client.get(f"/api/v1/referrals/{created['id']}", headers=world.headers("coordinator"))
    assert got.status_code == 200 and got.json()["reference"] == "TW-0001"
    listed = client.get("/api/v1/referrals?status=waiting", headers=world.headers("coordinator"))
    assert [r["id"] for r in listed.json()] == [created["id"]]
    with db.transaction(write=False) as session:
        actions = [e.action for e in session.exec(select(AuditEntry).where(AuditEntry.object_type == "referral")).all()]
    assert {"referral.create", "referral.read", "referral.list"} <= set(actions)


def test_invalid_referrals_are_refused_in_dutch_and_nothing_is_stored(client, world, db):
    cases = [
        (referral_body(reference="123456789"), "BSN"),
        (referral_body(needs=["toverkracht"]), "onbekende zorgbehoefte"),
        (referral_body(home_municipality=None), "postcode"),
        (referral_body(care_forms=["jeugdzorgplus"], required_intensity="G"), "machtiging"),
        (referral_body(required_intensity="Z"), "A tot en met S"),
        (referral_body(name="Jan"), "geen bekend veld"),
        (referral_body(home_municipality="Atlantis"), "onbekend"),
    ]
    for body, words in cases:
        response = client.post("/api/v1/referrals", json=body, headers=world.headers("coordinator"))
        assert response.status_code == 422, (body, response.text)
        assert words.lower() in response.json()["detail"].lower(), response.json()["detail"]
    assert _count_referrals(db) == 0
    create_referral(client, world)
    again = client.post("/api/v1/referrals", json=referral_body(), headers=world.headers("coordinator"))
    assert again.status_code == 409 and _count_referrals(db) == 1


def test_providers_and_viewers_never_see_referrals(client, world):
    created = create_referral(client, world)
    for who in ("provider_a", "key_b", "viewer"):
        assert client.get(f"/api/v1/referrals/{created['id']}", headers=world.headers(who)).status_code == 403
        assert client.get("/api/v1/referrals", headers=world.headers(who)).status_code == 403
        assert (
            client.post("/api/v1/referrals", json=referral_body("TW-9"), headers=world.headers(who)).status_code == 403
        )
    assert client.get(f"/api/v1/referrals/{created['id']}").status_code == 401


def test_home_postcode_is_resolved_and_falls_back_to_the_municipality(client, world, db):
    with db.transaction() as session:
        session.add(Postcode(pc4="7522", place="Enschede", lat=52.24, lon=6.85))
    by_postcode = create_referral(client, world, "TW-1", home_postcode="7522", home_municipality=None)
    fallback = create_referral(client, world, "TW-2", home_postcode="7999", home_municipality="Almelo")
    unknown = client.post(
        "/api/v1/referrals",
        json=referral_body("TW-3", home_postcode="7999", home_municipality=None),
        headers=world.headers("coordinator"),
    )
    assert unknown.status_code == 422 and "woongemeente" in unknown.json()["detail"]
    with db.transaction(write=False) as session:
        one = session.get(Referral, by_postcode["id"])
        two = session.get(Referral, fallback["id"])
    assert (one.home_lat, one.home_lon) == (52.24, 6.85)
    assert (two.home_lat, two.home_lon) == (52.356, 6.659)


def test_edit_with_if_match_and_withdraw(client, world):
    created = create_referral(client, world)
    url = f"/api/v1/referrals/{created['id']}"
    ok = client.patch(
        url,
        json={"needs": ["autisme", "trauma"], "urgency": 5},
        headers={**world.headers("coordinator"), "If-Match": '"1"'},
    )
    assert ok.status_code == 200 and ok.json()["needs"] == ["autisme", "trauma"]
    stale = client.patch(url, json={"urgency": 1}, headers={**world.headers("coordinator"), "If-Match": '"1"'})
    assert stale.status_code == 412 and "gewijzigd" in stale.json()["detail"]
    bad = client.patch(url, json={"reference": "X"}, headers=world.headers("coordinator"))
    assert bad.status_code == 422
    gone = client.post(f"{url}/withdraw", json={"reason": "Terug naar huis"}, headers=world.headers("coordinator"))
    assert gone.json()["status"] == "withdrawn"
    closed = client.patch(url, json={"urgency": 2}, headers=world.headers("coordinator"))
    assert closed.status_code == 409


def test_siblings_must_ask_for_the_same_togetherness(client, world):
    create_referral(client, world, "TW-1", sibling_set="fam", together="group")
    other = client.post(
        "/api/v1/referrals",
        json=referral_body("TW-2", sibling_set="fam", together="location"),
        headers=world.headers("coordinator"),
    )
    assert other.status_code == 422 and "broer-zusgroep" in other.json()["detail"]
