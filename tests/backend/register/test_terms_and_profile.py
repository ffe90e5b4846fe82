"""Who changes what: the region sets contract terms, a provider keeps its own groups' profile and
asks for places; every refusal leaves the data as it was."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from backend.domain import utcnow
from backend.events.models import Event
from backend.intensity.models import IntensityReassessment
from backend.regions.models import Postcode
from backend.register.models import ContractTerm
from tests.factories import count_events_and_audit, group_row


def terms(client: Any, world: Any, group_id: int, who: str = "admin") -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/groups/{group_id}/contract-terms", headers=world.headers(who))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def contracted_a_year_ago(db: Any, group_id: int) -> None:
    """The world's groups were contracted today; some tests need an older group."""
    with db.transaction() as session:
        stored = session.exec(select(ContractTerm).where(ContractTerm.group_id == group_id)).all()
        first = min(stored, key=lambda t: t.valid_from)
        first.valid_from = utcnow().date() - timedelta(days=365)
        session.add(first)


def term_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "valid_from": utcnow().date().isoformat(),
        "contracted_places": 10,
        "day_tariff": 250.0,
        "availability_funded": False,
    }
    body.update(overrides)
    return body


def test_a_provider_cannot_touch_another_providers_group_nor_any_term(client, world, db) -> None:  # type: ignore[no-untyped-def]
    other = world.groups_b[0]
    own = world.groups_a[0]
    before = count_events_and_audit(db)
    response = client.patch(
        f"/api/v1/groups/{other}/profile", json={"name": "Overgenomen"}, headers=world.headers("provider_a")
    )
    assert response.status_code == 404
    response = client.post(
        f"/api/v1/groups/{own}/contract-terms", json=term_body(), headers=world.headers("provider_a")
    )
    assert response.status_code == 403 and "regio" in response.json()["detail"]
    response = client.post(
        f"/api/v1/groups/{other}/contract-terms", json=term_body(), headers=world.headers("provider_a")
    )
    assert response.status_code in (403, 404)
    response = client.post(
        f"/api/v1/groups/{own}/contract-terms", json=term_body(), headers=world.headers("coordinator")
    )
    assert response.status_code == 403
    assert count_events_and_audit(db) == before
    assert group_row(db, other).name == "Gezinshuis Beuk"


def test_the_region_adds_a_version_that_ends_the_one_before(client, world, db) -> None:  # type: ignore[no-untyped-def]
    group = world.groups_a[0]
    today = utcnow().date()
    first = terms(client, world, group)
    assert [(t["valid_from"], t["valid_to"], t["contracted_places"]) for t in first] == [(today.isoformat(), None, 8)]
    future = today + timedelta(days=30)
    response = client.post(
        f"/api/v1/groups/{group}/contract-terms",
        json=term_body(valid_from=future.isoformat(), contracted_places=10),
        headers=world.headers("admin"),
    )
    assert response.status_code == 201, response.text
    history = terms(client, world, group)
    assert [(t["valid_from"], t["valid_to"], t["contracted_places"]) for t in history] == [
        (today.isoformat(), (future - timedelta(days=1)).isoformat(), 8),
        (future.isoformat(), None, 10),
    ]
    # Not valid yet: the group still shows 8 places today.
    assert group_row(db, group).capacity == 8
    # A version valid today moves the group at once (and reaches the live feed).
    contracted_a_year_ago(db, group)
    response = client.post(
        f"/api/v1/groups/{group}/contract-terms",
        json=term_body(valid_from=(today - timedelta(days=1)).isoformat(), contracted_places=9, day_tariff=260.0),
        headers=world.headers("admin"),
    )
    assert response.status_code == 201, response.text
    row = group_row(db, group)
    assert (row.capacity, row.day_tariff) == (9, 260.0)
    history = terms(client, world, group)
    assert [(t["valid_from"], t["valid_to"], t["contracted_places"]) for t in history] == [
        ((today - timedelta(days=365)).isoformat(), (today - timedelta(days=2)).isoformat(), 8),
        ((today - timedelta(days=1)).isoformat(), (future - timedelta(days=1)).isoformat(), 9),
        (future.isoformat(), None, 10),
    ]
    with db.transaction(write=False) as session:
        last = session.exec(select(Event).order_by(Event.seq.desc())).first()  # type: ignore[attr-defined]
        assert last is not None and last.type == "register.contract_term" and last.payload["group"]["capacity"] == 9


def test_shares_and_family_home_limits_are_refused_in_dutch(client, world, db) -> None:  # type: ignore[no-untyped-def]
    group = world.groups_a[0]
    family_home = world.groups_b[0]
    before = terms(client, world, group)
    for share, words in ((1.5, "hoogstens 1"), ("0,75", "punt als decimaalteken")):
        response = client.post(
            f"/api/v1/groups/{group}/contract-terms",
            json=term_body(availability_funded=True, availability_share=share),
            headers=world.headers("admin"),
        )
        assert response.status_code == 422
        assert words in response.json()["detail"], response.json()
    response = client.post(
        f"/api/v1/groups/{family_home}/contract-terms",
        json=term_body(contracted_places=7),
        headers=world.headers("admin"),
    )
    assert response.status_code == 422 and "hoogstens 6 kinderen, niet 7" in response.json()["detail"]
    assert terms(client, world, group) == before


def test_a_provider_asks_for_places_and_the_region_decides(client, world, db) -> None:  # type: ignore[no-untyped-def]
    group = world.groups_a[0]
    contracted_a_year_ago(db, group)
    start = utcnow().date() - timedelta(days=1)
    response = client.post(
        f"/api/v1/groups/{group}/places-requests",
        json={"valid_from": start.isoformat(), "contracted_places": 10, "note": "extra personeel"},
        headers=world.headers("provider_a"),
    )
    assert response.status_code == 201, response.text
    request_id = response.json()["id"]
    assert response.json()["status"] == "requested"
    # Waiting: nothing moves yet.
    assert group_row(db, group).capacity == 8
    assert (
        client.post(
            f"/api/v1/places-requests/{request_id}/decision",
            json={"approve": True},
            headers=world.headers("provider_a"),
        ).status_code
        == 403
    )
    response = client.post(
        f"/api/v1/places-requests/{request_id}/decision", json={"approve": True}, headers=world.headers("admin")
    )
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert group_row(db, group).capacity == 10
    again = client.post(
        f"/api/v1/places-requests/{request_id}/decision", json={"approve": False}, headers=world.headers("admin")
    )
    assert again.status_code == 409


def test_a_planner_edits_expertise_and_ages_and_a_band_change_opens_reassessment(client, world, db) -> None:  # type: ignore[no-untyped-def]
    group = world.groups_a[0]
    response = client.patch(
        f"/api/v1/groups/{group}/profile",
        json={"expertise": ["autisme", "trauma"], "age_min": 10, "age_max": 16},
        headers=world.headers("provider_a"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["expertise"], body["age_min"], body["age_max"]) == (["autisme", "trauma"], 10, 16)
    bad = client.patch(f"/api/v1/groups/{group}/profile", json={"age_min": 17}, headers=world.headers("provider_a"))
    assert bad.status_code == 422 and "onder de leeftijd" in bad.json()["detail"]
    unknown = client.patch(
        f"/api/v1/groups/{group}/profile", json={"expertise": ["paardrijden"]}, headers=world.headers("provider_a")
    )
    assert unknown.status_code == 422 and "paardrijden" in unknown.json()["detail"]
    assert group_row(db, group).expertise == ["autisme", "trauma"]
    # 8 places at 95%: 220 h a week is band E (4.1 h per child per day); 400 h is band H (7.5 h).
    funded = group_row(db, group).intensity
    response = client.patch(
        f"/api/v1/groups/{group}/profile", json={"weekly_roster_hours": 400}, headers=world.headers("provider_a")
    )
    assert response.status_code == 200 and response.json()["intensity"] == funded
    with db.transaction(write=False) as session:
        opened = session.exec(select(IntensityReassessment).where(IntensityReassessment.group_id == group)).all()
        assert [(r.status, r.intensity_before, r.intensity_after) for r in opened] == [("open", funded, "H")]
    # The provider cannot change what the region owns through the profile.
    response = client.patch(
        f"/api/v1/groups/{group}/profile", json={"care_form": "crisis"}, headers=world.headers("provider_a")
    )
    assert response.status_code == 422


def test_a_new_group_starts_with_one_version_from_its_first_day(db, world) -> None:  # type: ignore[no-untyped-def]
    with db.transaction(write=False) as session:
        stored = session.exec(select(ContractTerm).where(ContractTerm.group_id == world.groups_b[1])).all()
    # The world's crisis group: 4 places, availability-funded as crisis care is.
    assert [(t.valid_from, t.contracted_places, t.availability_funded) for t in stored] == [(utcnow().date(), 4, True)]


def test_the_region_ends_a_group_and_changes_its_care_form(client, world, db) -> None:  # type: ignore[no-untyped-def]
    group = world.groups_a[1]
    today = utcnow().date()
    refused = client.patch(
        f"/api/v1/groups/{group}/contract", json={"active_to": today.isoformat()}, headers=world.headers("provider_a")
    )
    assert refused.status_code == 403
    bad = client.patch(
        f"/api/v1/groups/{group}/contract", json={"care_form": "gezinshuis"}, headers=world.headers("admin")
    )
    assert bad.status_code == 422 and "niveau" in bad.json()["detail"]
    assert group_row(db, group).care_form == "behandelgroep"
    response = client.patch(
        f"/api/v1/groups/{group}/contract",
        json={
            "active_from": (today - timedelta(days=30)).isoformat(),
            "active_to": (today - timedelta(days=1)).isoformat(),
        },
        headers=world.headers("admin"),
    )
    assert response.status_code == 200, response.text
    listed = {g["id"] for g in client.get("/api/v1/groups", headers=world.headers("coordinator")).json()}
    assert group not in listed


def test_a_planner_moves_its_location_and_its_groups_follow(client, world, db) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        session.add(Postcode(pc4="7544", place="Enschede", municipality_name="Enschede", lat=52.2301, lon=6.8402))
        location_id = group_row(db, world.groups_a[0]).location_id
    other = group_row(db, world.groups_b[0]).location_id
    assert (
        client.patch(
            f"/api/v1/locations/{other}", json={"name": "Weg"}, headers=world.headers("provider_a")
        ).status_code
        == 404
    )
    unknown = client.patch(
        f"/api/v1/locations/{location_id}", json={"postcode": "9999"}, headers=world.headers("provider_a")
    )
    assert unknown.status_code == 422 and "9999" in unknown.json()["detail"]
    response = client.patch(
        f"/api/v1/locations/{location_id}",
        json={"postcode": "7544", "name": "De Linde Zuid"},
        headers=world.headers("provider_a"),
    )
    assert response.status_code == 200, response.text
    assert (response.json()["lat"], response.json()["name"]) == (52.2301, "De Linde Zuid")
    for group in world.groups_a:
        assert (group_row(db, group).lat, group_row(db, group).lon) == (52.2301, 6.8402)


def test_the_region_ends_a_provider_and_the_provider_cannot(client, world, db) -> None:  # type: ignore[no-untyped-def]
    today = utcnow().date()
    body = {"active_from": (today - timedelta(days=10)).isoformat(), "active_to": today.isoformat()}
    assert (
        client.patch(
            f"/api/v1/providers/{world.provider_a}", json=body, headers=world.headers("provider_a")
        ).status_code
        == 403
    )
    bad = client.patch(
        f"/api/v1/providers/{world.provider_a}",
        json={**body, "active_to": (today - timedelta(days=20)).isoformat()},
        headers=world.headers("admin"),
    )
    assert bad.status_code == 422 and "vóór" in bad.json()["detail"]
    response = client.patch(f"/api/v1/providers/{world.provider_a}", json=body, headers=world.headers("admin"))
    assert response.status_code == 200 and response.json()["active_to"] == today.isoformat()
