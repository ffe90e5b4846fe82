"""Branch and bound over sibling sets: proven optima equal brute force; time-limit behaviour."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solver_testkit import brute_force, random_sibling_instance

from solver import Instance, assign, validate
from solver.synthetic import make_instance


def check(instance: Instance, result) -> None:  # type: ignore[no-untyped-def]
    report = validate(instance, result)
    assert report.ok, report.violations
    assert report.objective == pytest.approx(result.objective, abs=1e-6)
    assert {a.youth_id for a in result.assignments} | {u.youth_id for u in result.unplaced} == {
        y.id for y in instance.youths
    }


@pytest.mark.parametrize("seed", range(40))
def test_sibling_sets_both_modes_match_brute_force(seed: int) -> None:
    inst = random_sibling_instance(seed)
    assert len(inst.sibling_sets()) == 2
    result = assign(inst)
    check(inst, result)
    assert result.status == "optimal" and result.optimal
    assert result.objective == pytest.approx(brute_force(inst), abs=1e-3)
    assert result.bound is not None and result.bound >= result.objective - 1e-9


@pytest.mark.parametrize("seed", range(12))
def test_require_all_with_sibling_sets(seed: int) -> None:
    inst = random_sibling_instance(seed, n_youths=4, n_groups=4)
    result = assign(inst, require_all=True)
    if result.status == "infeasible":
        assert result.assignments == ()
        return
    check(inst, result)
    assert result.unplaced == ()


def test_time_limit_returns_validated_feasible_result_with_bound() -> None:
    inst = make_instance(150, 400, seed=3, sibling_fraction=0.4, mean_free=0.3)
    exact = assign(inst, k=100, time_limit_s=30)
    check(inst, exact)
    assert exact.optimal and exact.stats["split_sets"] >= 1
    rushed = assign(inst, k=100, time_limit_s=0.0)
    check(inst, rushed)
    assert rushed.status == "feasible" and not rushed.optimal
    assert rushed.bound is not None
    assert rushed.bound >= exact.objective >= rushed.objective


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=1_000, max_value=100_000))
def test_property_sibling_instances_optimal(seed: int) -> None:
    inst = random_sibling_instance(seed, n_youths=5, n_groups=4)
    result = assign(inst)
    check(inst, result)
    assert result.optimal
    assert result.objective == pytest.approx(brute_force(inst), abs=1e-3)
