"""Crisis searches in the indicators (#17: "crisis searches, holds and confirmations"): counted
per region and month without anything of the youth, written off the search's hot path."""

from __future__ import annotations

from sqlmodel import select

from backend.crisis.models import CrisisSearchCount
from backend.crisis.searchlog import write_counts
from backend.domain import utcnow
from backend.main import create_app
from backend.regions.models import Region
from tests.backend.crisis.helpers import build_crisis_places
from tests.conftest import make_settings


def search(client, world, radius_km: float, **where: object) -> int:
    body = {"age": 15, "radius_km": radius_km, **where}
    response = client.post("/api/v1/crisis/search", json=body, headers=world.headers("crisis"))
    assert response.status_code == 200, response.text
    return len(response.json()["results"])


def crisis_total(client, headers, **params) -> dict:
    response = client.get("/api/v1/indicators", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["crisis"]


def test_searches_are_counted_per_region_and_month_without_the_youth(client, world, db):
    build_crisis_places(db, world)
    assert search(client, world, 400, postcode="7511") >= 2  # Enschede: places in Twente and beyond
    assert search(client, world, 5, lat=53.22, lon=6.57) == 0  # Groningen, 5 km: nothing
    # The search itself wrote nothing: the counts wait in memory for the periodic task.
    with db.transaction(write=False) as session:
        assert session.exec(select(CrisisSearchCount)).all() == []
    assert write_counts(db) == 2
    assert write_counts(db) == 0  # written once

    with db.transaction(write=False) as session:
        rows = session.exec(select(CrisisSearchCount)).all()
    assert {r.region_id for r in rows} == {world.region_id}
    # What is kept: when, for which region, how much was found; no postcode, age or needs.
    assert set(CrisisSearchCount.model_fields) == {
        "id",
        "region_id",
        "searched_at",
        "places_found",
        "own_region_found",
    }

    crisis = crisis_total(client, world.headers("coordinator"))
    total = crisis["total"]
    assert (total["searches"], total["searches_with_place"]) == (2, 1)
    assert (total["search_success_share"], total["search_own_region_share"]) == (0.5, 0.5)
    assert crisis["by_month"][-1]["searches"] == 2 and sum(m["searches"] for m in crisis["by_month"]) == 2
    csv = client.get("/api/v1/indicators/export.csv", headers=world.headers("viewer")).text
    assert "Zoekacties met een vrije plek;1" in csv

    # Searches belong to the region: not counted under a group filter, nor for a provider.
    filtered = crisis_total(client, world.headers("coordinator"), care_form="crisis")
    assert filtered["total"]["searches"] is None and "alleen zonder filter" in filtered["note"]
    assert crisis_total(client, world.headers("provider_a"))["total"]["searches"] is None
    # A search for the neighbouring region counts there, not in Twente's figures.
    with db.transaction() as session:
        ijsselland = session.exec(select(Region).where(Region.code == "JZ07")).one()
        session.add(
            CrisisSearchCount(region_id=ijsselland.id, searched_at=utcnow(), places_found=3, own_region_found=True)
        )
    assert crisis_total(client, world.headers("coordinator"))["total"]["searches"] == 2


def test_counts_noted_just_before_a_stop_are_written_at_the_stop(database_url, world, db):
    from starlette.testclient import TestClient

    build_crisis_places(db, world)
    app = create_app(make_settings(database_url, run_periodic_tasks=True))
    with TestClient(app) as running:
        search(running, world, 400, postcode="7511")
        # Stopped at once: the two-second round has not come yet.
    try:
        with db.transaction(write=False) as session:
            assert len(session.exec(select(CrisisSearchCount)).all()) == 1
    finally:
        app.state.db.dispose()
