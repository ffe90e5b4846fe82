"""Batch assignment: optimality against brute force, side rules, statuses, validation."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solver_testkit import brute_force, group, random_small_instance, youth

from solver import (
    Instance,
    Weights,
    assign,
    first_come_first_served,
    min_cost_flow_floor,
    validate,
)
from solver.synthetic import make_instance


def check(instance: Instance, result) -> None:  # type: ignore[no-untyped-def]
    report = validate(instance, result)
    assert report.ok, report.violations
    assert report.objective == pytest.approx(result.objective, abs=1e-6)
    placed = {a.youth_id for a in result.assignments}
    unplaced = {u.youth_id for u in result.unplaced}
    assert placed.isdisjoint(unplaced)
    assert placed | unplaced == {y.id for y in instance.youths}
    assert all(u.reasons for u in result.unplaced)


@pytest.mark.parametrize("seed", range(36))
def test_optimal_against_brute_force(seed: int) -> None:
    inst = random_small_instance(seed)
    result = assign(inst)
    check(inst, result)
    assert result.status == "optimal" and result.optimal
    # integer costs are rounded to 1/10,000 per placement
    assert result.objective == pytest.approx(brute_force(inst), abs=5e-4)
    assert result.bound is not None and result.bound >= result.objective - 5e-4
    baseline = first_come_first_served(inst)
    check(inst, baseline)
    assert baseline.objective <= result.objective + 5e-4


def test_siblings_placed_together_in_one_group() -> None:
    # the two siblings each prefer a different group, but must share one
    g1 = group(id=1, free_places=2, lat=52.22)
    g2 = group(id=2, free_places=1, lat=52.40)
    a = youth(id=1, sibling_set="fam", lat=52.22)
    b = youth(id=2, sibling_set="fam", lat=52.40)
    inst = Instance((g1, g2), (a, b))
    result = assign(inst)
    check(inst, result)
    assert result.optimal
    assert result.group_of() == {1: 1, 2: 1}


def test_siblings_together_at_location() -> None:
    g1 = group(id=1, location_id=5, free_places=1)
    g2 = group(id=2, location_id=5, free_places=1)
    g3 = group(id=3, location_id=6, free_places=1, lat=52.21)
    a = youth(id=1, sibling_set="fam", together="location")
    b = youth(id=2, sibling_set="fam", together="location", lat=52.21)
    inst = Instance((g1, g2, g3), (a, b))
    result = assign(inst)
    check(inst, result)
    where = result.group_of()
    assert sorted(where.values()) == [1, 2]


def test_sibling_set_not_split_when_no_room_for_all() -> None:
    g1 = group(id=1, free_places=1)
    g2 = group(id=2, free_places=1, lat=52.3)
    a = youth(id=1, sibling_set="fam")
    b = youth(id=2, sibling_set="fam")
    loner = youth(id=3)
    inst = Instance((g1, g2), (a, b, loner))
    result = assign(inst)
    check(inst, result)
    assert result.group_of() == {3: 1}
    reasons = {u.youth_id: u.reasons for u in result.unplaced}
    assert "broers en zussen" in reasons[1][0]


def test_profile_c_limit_respected() -> None:
    g = group(id=1, free_places=3, profile_c_present=1)
    other = group(id=2, free_places=3, lat=52.6)
    ys = tuple(youth(id=i, risk_profile="C") for i in range(1, 4))
    inst = Instance((g, other), ys, Weights(profile_c_limit=2))
    result = assign(inst)
    check(inst, result)
    where = list(result.group_of().values())
    assert where.count(1) == 1 and where.count(2) == 2


def test_urgent_youth_gets_the_last_place() -> None:
    g = group(id=1, free_places=1)
    calm = youth(id=1, urgency=1, waiting_days=10)
    urgent = youth(id=2, urgency=5, waiting_days=10, lat=52.5)
    inst = Instance((g,), (calm, urgent))
    result = assign(inst)
    check(inst, result)
    assert result.group_of() == {2: 1}


def test_nobody_left_out_for_a_better_score() -> None:
    # youth 1 fits group 1 perfectly and group 2 badly; youth 2 only fits group 1
    g1 = group(id=1, free_places=1)
    y1 = youth(id=1)
    y2 = youth(id=2, age=8)
    g2 = group(id=2, free_places=1, intensity="H", lat=52.6, expertise=frozenset(), age_min=12)
    inst = Instance((g1, g2), (y1, y2))
    result = assign(inst)
    check(inst, result)
    assert result.group_of() == {1: 2, 2: 1}


def test_no_feasible_place_is_a_status_not_an_exception() -> None:
    inst = Instance((group(id=1, care_form="crisis"),), (youth(id=1),))
    result = assign(inst)
    check(inst, result)
    assert result.status == "optimal" and result.assignments == ()
    assert result.unplaced[0].reasons[0].startswith("Geen enkele groep")
    strict = assign(inst, require_all=True)
    assert strict.status == "infeasible" and not strict.optimal


def test_require_all_with_siblings_infeasible() -> None:
    inst = Instance(
        (group(id=1, free_places=1), group(id=2, free_places=1)),
        (youth(id=1, sibling_set="f"), youth(id=2, sibling_set="f")),
    )
    assert assign(inst, require_all=True).status == "infeasible"


def test_empty_instance() -> None:
    result = assign(Instance((), ()))
    assert result.status == "optimal" and result.objective == 0.0


def test_validation_catches_violations() -> None:
    g1 = group(id=1, free_places=1)
    inst = Instance(
        (g1, group(id=2, care_form="crisis")), (youth(id=1, sibling_set="f"), youth(id=2, sibling_set="f"), youth(id=3))
    )
    report = validate(inst, [(1, 1), (2, 1), (3, 2), (3, 1)])
    text = " ".join(report.violations)
    assert not report.ok
    assert "care_form" in text and "2 placed, 1 free" in text and "more than once" in text
    report = validate(inst, [(1, 1)])
    assert "partly placed" in " ".join(report.violations)


def test_medium_instance_with_siblings_is_valid_and_beats_baseline() -> None:
    inst = make_instance(120, 600, seed=5, sibling_fraction=0.15, mean_free=0.6)
    result = assign(inst, k=100, time_limit_s=20)
    check(inst, result)
    floor = min_cost_flow_floor(inst, k=100)
    baseline = first_come_first_served(inst, k=100)
    check(inst, baseline)
    assert result.optimal
    assert baseline.objective <= result.objective + 1e-3
    # the floor relaxes the side rules, so it bounds the optimum from above
    assert floor.objective >= result.objective - 1e-3


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=100, max_value=10_000))
def test_property_small_instances_optimal(seed: int) -> None:
    inst = random_small_instance(seed, n_youths=4, n_groups=3)
    result = assign(inst)
    check(inst, result)
    assert result.objective == pytest.approx(brute_force(inst), abs=5e-4)
