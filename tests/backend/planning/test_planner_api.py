"""The crisis capacity planner on a hand-built feed: the estimates, the recommendation and its
cost, the region's target and a what-if target, and who may read it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from backend.planning import erlang
from backend.regions.models import Region
from tests.backend.reports.helpers import admit, discharge, send, since

START, END = "2025-01-01", "2025-03-31"  # 90 days


def feed(client, world, db) -> int:
    """Crisis group Wilg (4 places, day tariff €200, availability share 0.75): nine stays of
    exactly five days, one every ten days from 1 January, and one still open from 30 March;
    a youth from another region among them."""
    crisis = world.groups_b[1]
    since(db, [crisis])
    events = []
    for k in range(9):
        day = date(2025, 1, 1) + timedelta(days=10 * k)
        origin = "JZ07" if k == 4 else "JZ14"
        events.append(admit(f"a{k}", crisis, day.isoformat(), f"ref{k}", origin=origin))
        events.append(discharge(f"d{k}", crisis, (day + timedelta(days=5)).isoformat(), f"ref{k}", hour=14))
    events.append(admit("a9", crisis, "2025-03-30", "ref9"))
    send(client, world, events)
    return crisis


def plan(client, world, who="viewer", **params):
    response = client.get(
        "/api/v1/planning/crisis-capacity",
        params={"region": "JZ14", "start": START, "end": END, **params},
        headers=world.headers(who),
    )
    assert response.status_code == 200, response.text
    return response.json()


def pool(body, kind):
    return next(p for p in body["pools"] if p["kind"] == kind)


def test_estimates_recommendation_and_cost_from_a_hand_built_feed(client, world, db):
    crisis = feed(client, world, db)
    body = plan(client, world)
    assert body["target"] == 0.05 and body["target_is_region_setting"] is True and body["days"] == 90
    group = pool(body, "group")
    assert group["id"] == crisis and group["current_places"] == 4
    # 10 admissions in 90 days; the exact Poisson interval of 10 events, per day.
    assert group["arrivals"] == 10 and group["arrival_rate_per_day"] == pytest.approx(10 / 90)
    assert group["arrival_rate_interval"] == pytest.approx([4.7954 / 90, 18.3904 / 90], abs=1e-4)
    # Nine completed stays of exactly 5 days (the open one is counted apart).
    assert group["stays_completed"] == 9 and group["stays_open"] == 1
    assert group["mean_stay_days"] == pytest.approx(5.0) and group["mean_stay_interval"] == pytest.approx([5.0, 5.0])
    load = 10 / 90 * 5  # 0.556 places
    assert group["offered_load"] == pytest.approx(load)
    # B(2, 0.556) = 0.090 > 5% ≥ B(3, 0.556) = 0.0164: three places.
    assert group["recommended_places"] == 3
    assert group["recommended_loss_probability"] == pytest.approx(0.01643, abs=1e-4)
    assert group["current_loss_probability"] == pytest.approx(0.002277, abs=1e-5)
    # Availability funding: expected empty places × 365 nights × €200 × 0.75.
    empty = 3 - load * (1 - erlang.erlang_b(3, load))
    assert group["recommended_funding_per_year"] == pytest.approx(empty * 365 * 150, abs=0.01)
    assert group["funding_per_place_per_year"] == 54750.0
    row = group["table"][3]
    assert row["places"] == 3 and row["expected_occupied"] == pytest.approx(load * (1 - erlang.erlang_b(3, load)))
    # The interval of the recommendation comes from the ends of the load interval.
    low, high = group["recommended_interval"]
    assert low <= 3 <= high and high > low
    # The simulation replays the ten real arrivals at the recommended number of places.
    assert group["simulation"]["places"] == 3 and group["simulation"]["replications"] == 12
    assert any("Weinig opnamen (10)" in note for note in group["notes"])
    assert any("1 verblijf loopt nog" in note for note in group["notes"])
    # Provider Het Anker and the region have this one crisis group: the same pool.
    for kind in ("provider", "region"):
        assert pool(body, kind)["recommended_places"] == 3 and pool(body, kind)["group_ids"] == [crisis]
    assert pool(body, "provider")["name"] == "Stichting Het Anker"
    assert any("Poisson" in line for line in body["assumptions"])


def test_a_what_if_target_and_the_region_setting(client, world, db):
    feed(client, world, db)
    cost_5 = pool(plan(client, world), "group")["recommended_funding_per_year"]
    strict = plan(client, world, target=0.01)
    group = pool(strict, "group")
    assert strict["target"] == 0.01 and strict["target_is_region_setting"] is False
    assert group["recommended_places"] == 4 and group["recommended_funding_per_year"] > cost_5
    # The region sets 0.1%: that is the default from now on.
    with db.transaction() as session:
        region = session.get(Region, world.region_id)
        region.settings = {**region.settings, "crisis_loss_target": 0.001}
        session.add(region)
    body = plan(client, world, who="coordinator")
    assert body["region_target"] == 0.001 and pool(body, "group")["recommended_places"] == 5


BAD_INPUT = [
    ({"target": 1.5}, "target_invalid"),
    ({"target": 0}, "target_invalid"),
    ({"start": "2025-03-31", "end": "2025-01-01"}, "period_invalid"),
    ({"start": "2025-03-01", "end": "2025-03-10"}, "period_too_short"),
]


def test_who_may_read_the_planner_and_bad_input(client, world, db):
    url = "/api/v1/planning/crisis-capacity"
    for who in ("provider_b", "crisis"):
        assert client.get(url, params={"region": "JZ14"}, headers=world.headers(who)).status_code == 403
    assert client.get(url, params={"region": "JZ14"}).status_code == 401
    # Bad input: a Dutch reason with a code.
    for params, code in BAD_INPUT:
        response = client.get(
            url, params={"region": "JZ14", "start": START, "end": END, **params}, headers=world.headers("admin")
        )
        assert response.status_code == 422 and response.json()["code"] == code, (params, response.text)
        assert any(word in response.json()["detail"] for word in ("doel", "periode", "einddatum"))
    # Without feed data: no advice, a reason, and no error.
    since(db, [world.groups_b[1]])
    body = plan(client, world, who="admin")
    assert pool(body, "group")["recommended_places"] is None and pool(body, "group")["notes"]
