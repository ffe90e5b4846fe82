"""A coordinator's review of a batch run: pinned youth-group pairs and forbidden pairs are
constraints of the solver, each with a feasible and an infeasible case, and the solution checker
catches a solution that ignores them."""

from __future__ import annotations

import pytest
from solver_testkit import group, youth

from solver import Instance, assign, validate


def two_by_two() -> tuple:
    # youth 1 fits group 1 best (same place), youth 2 fits group 2 best; one place each
    g1 = group(id=1, free_places=1, lat=52.22)
    g2 = group(id=2, free_places=1, lat=52.40)
    y1 = youth(id=1, lat=52.22)
    y2 = youth(id=2, lat=52.40)
    return (g1, g2), (y1, y2)


def test_without_review_each_youth_gets_the_nearest_group() -> None:
    groups, youths = two_by_two()
    assert assign(Instance(groups, youths)).group_of() == {1: 1, 2: 2}


def test_pin_moves_the_youth_and_the_solution_is_valid() -> None:
    groups, youths = two_by_two()
    inst = Instance(groups, youths, pins={1: 2})
    result = assign(inst)
    assert result.status == "optimal"
    assert result.group_of() == {1: 2, 2: 1}
    assert validate(inst, result).ok


def test_pin_wins_over_a_more_urgent_youth() -> None:
    # one place; the other youth is far more urgent, but the pin decides
    g = group(id=1, free_places=1)
    calm = youth(id=1, urgency=1)
    urgent = youth(id=2, urgency=5, waiting_days=300)
    result = assign(Instance((g,), (calm, urgent), pins={1: 1}))
    assert result.group_of() == {1: 1}


def test_pin_that_breaks_a_hard_rule_is_infeasible() -> None:
    groups, youths = two_by_two()
    girls_only = group(id=3, gender_policy="meisjes")
    result = assign(Instance((*groups, girls_only), youths, pins={1: 3}))
    assert result.status == "infeasible"
    assert not result.assignments


def test_two_pins_on_one_place_are_infeasible() -> None:
    groups, youths = two_by_two()
    result = assign(Instance(groups, youths, pins={1: 1, 2: 1}))
    assert result.status == "infeasible"


def test_pinned_sibling_brings_the_set_along() -> None:
    g1 = group(id=1, free_places=2, lat=52.22)
    g2 = group(id=2, free_places=2, lat=52.40)
    a = youth(id=1, sibling_set="fam", lat=52.22)
    b = youth(id=2, sibling_set="fam", lat=52.22)
    inst = Instance((g1, g2), (a, b), pins={1: 2})
    result = assign(inst)
    assert result.group_of() == {1: 2, 2: 2}
    assert validate(inst, result).ok


def test_forbidden_pair_is_never_used() -> None:
    groups, youths = two_by_two()
    inst = Instance(groups, youths, forbidden=frozenset({(1, 1)}))
    result = assign(inst)
    # both are still placed: youth 1 takes the other group and youth 2 moves over
    assert result.group_of() == {1: 2, 2: 1}
    assert validate(inst, result).ok


def test_forbidding_the_only_group_leaves_the_youth_out_and_with_require_all_is_infeasible() -> None:
    g = group(id=1, free_places=1)
    y = youth(id=1)
    inst = Instance((g,), (y,), forbidden=frozenset({(1, 1)}))
    assert assign(inst).group_of() == {}
    assert assign(inst, require_all=True).status == "infeasible"


def test_validation_catches_an_ignored_pin_and_a_forbidden_pair() -> None:
    groups, youths = two_by_two()
    pinned = Instance(groups, youths, pins={1: 2})
    report = validate(pinned, [(1, 1), (2, 2)])
    assert not report.ok
    assert any("pinned" in v for v in report.violations)
    forbidden = Instance(groups, youths, forbidden=frozenset({(2, 2)}))
    report = validate(forbidden, [(1, 1), (2, 2)])
    assert any("forbidden" in v for v in report.violations)


@pytest.mark.parametrize(
    ("pins", "forbidden"),
    [({9: 1}, frozenset()), ({}, frozenset({(1, 9)})), ({1: 1}, frozenset({(1, 1)}))],
)
def test_unknown_or_contradictory_review_is_refused(pins: dict, forbidden: frozenset) -> None:
    groups, youths = two_by_two()
    with pytest.raises(ValueError):
        Instance(groups, youths, pins=pins, forbidden=forbidden)
