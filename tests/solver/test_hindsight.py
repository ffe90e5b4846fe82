"""The hindsight optimum (every referral known in advance) and the shortage-year generator."""

from __future__ import annotations

import dataclasses
import random

import pytest

from solver import Group, build_candidates
from solver.hindsight import hindsight, objective_value
from solver.replay import Arrival, Occupant, Outcome, replay
from solver.schema import Instance
from solver.scoring import explain
from solver.shortage import shortage_year
from tests.solver.solver_testkit import ENSCHEDE, group, specialist_example, youth

FAR = (52.5, 6.3)  # about 50 km from Enschede


def check_schedule(
    outcomes: tuple[Outcome, ...],
    groups: list[Group],
    capacity: dict[int, int],
    arrivals: list[Arrival],
    occupants: list[Occupant],
    horizon: float,
) -> None:
    """Independent of the model: every placement is feasible under the scalar rules, starts on
    or after the arrival and before the horizon, and on no day does a group hold more placed
    youths than its places left by the occupants."""
    by_group = {g.id: g for g in groups}
    arrival_of = {a.youth.id: a for a in arrivals}
    assert sorted(o.youth_id for o in outcomes) == sorted(arrival_of)
    stays: dict[int, list[tuple[float, float]]] = {}
    for o in outcomes:
        a = arrival_of[o.youth_id]
        if o.group_id is None:
            assert o.placed_day is None and o.wait_days == pytest.approx(horizon - a.day)
            continue
        assert o.placed_day is not None and a.day <= o.placed_day < horizon
        assert o.wait_days == pytest.approx(o.placed_day - a.day)
        assert explain(a.youth, dataclasses.replace(by_group[o.group_id], free_places=1)).feasible
        stays.setdefault(o.group_id, []).append((o.placed_day, o.placed_day + a.stay_days))
    for gid, spans in stays.items():
        for day in range(int(horizon) + 1):
            present = sum(1 for occ in occupants if occ.group_id == gid and occ.arrives_day <= day < occ.leaves_day)
            placed = sum(1 for lo, hi in spans if lo <= day < hi)
            assert placed <= max(0, capacity[gid] - present), (gid, day)


def test_waits_for_a_better_place_that_frees_soon_and_places_one_more_than_both_policies() -> None:
    # Youth 1 fits a near group that frees on day 5 and a far one that is free now; youth 2
    # (day 2) fits only the far one.  Both policies give the far place to youth 1 at once and
    # leave youth 2 out; with hindsight youth 1 waits five days for the near place.
    near = group(id=1, lat=ENSCHEDE[0], lon=ENSCHEDE[1])
    far = group(id=2, care_form="gezinshuis", lat=FAR[0], lon=FAR[1])
    arrivals = [
        Arrival(youth(id=1, acceptable_care_forms=("woongroep", "gezinshuis")), day=0.0, stay_days=200.0),
        Arrival(youth(id=2, acceptable_care_forms=("gezinshuis",)), day=2.0, stay_days=200.0),
    ]
    capacity = {1: 1, 2: 1}
    occupants = [Occupant(group_id=1, leaves_day=5.0)]
    kw = dict(horizon_days=60.0, occupants=occupants)
    fcfs = replay([near, far], capacity, arrivals, policy="fcfs", **kw)  # type: ignore[arg-type]
    batch = replay([near, far], capacity, arrivals, policy="batch", **kw)  # type: ignore[arg-type]
    best = hindsight([near, far], capacity, arrivals, time_limit_s=10.0, **kw)  # type: ignore[arg-type]
    assert fcfs.placed == batch.placed == 1
    assert best.status == "optimal" and best.gap == 0.0
    got = {o.youth_id: (o.group_id, o.placed_day) for o in best.outcomes}
    assert got == {1: (1, 5.0), 2: (2, 2.0)}
    check_schedule(best.outcomes, [near, far], capacity, arrivals, occupants, 60.0)


def test_waits_for_a_better_fit_only_when_it_frees_in_time() -> None:
    # One youth; the better fit (exact intensity, near) frees on day 3, the other (three letters
    # too heavy, far) is free now.  Three days of waiting cost far less than the fit gained;
    # a place that frees only after the horizon is no option.
    exact = group(id=1, intensity="C")
    heavy = group(id=2, intensity="F", lat=FAR[0], lon=FAR[1])
    arrivals = [Arrival(youth(id=1, required_intensity="C"), day=0.0, stay_days=100.0)]
    for leaves, expected in ((3.0, (1, 3.0)), (400.0, (2, 0.0))):
        res = hindsight(
            [exact, heavy],
            {1: 1, 2: 1},
            arrivals,
            horizon_days=30.0,
            occupants=[Occupant(group_id=1, leaves_day=leaves)],
            time_limit_s=10.0,
        )
        assert res.status == "optimal"
        out = res.outcomes[0]
        assert (out.group_id, out.placed_day) == expected
        assert out.intensity_steps_above_need == (0 if expected[0] == 1 else 3)


def test_occupants_above_capacity_and_a_group_without_places_take_nobody() -> None:
    arrivals = [Arrival(youth(id=1), day=0.0, stay_days=10.0)]
    groups = [group(id=1), group(id=2, lat=FAR[0], lon=FAR[1])]
    occupants = [Occupant(group_id=1, leaves_day=8.0), Occupant(group_id=1, leaves_day=12.0)]
    res = hindsight(groups, {1: 1, 2: 0}, arrivals, horizon_days=30.0, occupants=occupants, time_limit_s=10.0)
    # two present in one place: room only once both have left, on day 12
    assert (res.outcomes[0].group_id, res.outcomes[0].placed_day) == (1, 12.0)
    res = hindsight(groups, {1: 1, 2: 0}, arrivals, horizon_days=10.0, occupants=occupants, time_limit_s=10.0)
    assert res.outcomes[0].group_id is None and res.outcomes[0].wait_days == 10.0
    assert res.status == "optimal"
    # a direct admission on day 3 takes the place: a ten-day stay from day 0 would overlap it
    admitted = [Occupant(group_id=1, arrives_day=3.0, leaves_day=20.0)]
    res = hindsight(groups, {1: 1, 2: 0}, arrivals, horizon_days=30.0, occupants=admitted, time_limit_s=10.0)
    assert (res.outcomes[0].group_id, res.outcomes[0].placed_day) == (1, 20.0)


def _random_case(seed: int) -> tuple[list[Group], dict[int, int], list[Arrival], list[Occupant]]:
    rnd = random.Random(seed)
    forms = ("woongroep", "gezinshuis", "crisis")
    groups = [
        group(
            id=g,
            care_form=forms[g % 3],
            intensity=rnd.choice("CDE"),
            lat=ENSCHEDE[0] + rnd.uniform(-0.3, 0.3),
            lon=ENSCHEDE[1] + rnd.uniform(-0.3, 0.3),
        )
        for g in range(1, 5)
    ]
    capacity = {g.id: rnd.randint(1, 2) for g in groups}
    occupants = [
        Occupant(group_id=g.id, leaves_day=float(rnd.randint(1, 25))) for g in groups for _ in range(capacity[g.id])
    ]
    arrivals = [
        Arrival(
            youth(
                id=i,
                acceptable_care_forms=tuple(rnd.sample(forms, rnd.randint(1, 2))),
                required_intensity=rnd.choice("BCD"),
                urgency=rnd.randint(1, 5),
                lat=ENSCHEDE[0] + rnd.uniform(-0.3, 0.3),
            ),
            day=float(rnd.randint(0, 30)),
            stay_days=float(rnd.randint(3, 30)),
        )
        for i in range(1, 13)
    ]
    return groups, capacity, arrivals, occupants


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_never_worse_than_either_policy_and_capacity_is_never_exceeded(seed: int) -> None:
    groups, capacity, arrivals, occupants = _random_case(seed)
    horizon = 40.0
    policies = [
        replay(groups, capacity, arrivals, horizon_days=horizon, policy=p, occupants=occupants)
        for p in ("fcfs", "batch")
    ]
    best = hindsight(groups, capacity, arrivals, horizon_days=horizon, occupants=occupants, time_limit_s=20.0)
    assert best.status == "optimal"
    check_schedule(best.outcomes, groups, capacity, arrivals, occupants, horizon)
    ours = objective_value(best.outcomes, arrivals, groups)
    # the model's integer objective and the scalar recomputation agree up to the rounding
    assert ours == pytest.approx(best.objective, abs=1e-3)
    for policy in policies:
        check_schedule(policy.outcomes, groups, capacity, arrivals, occupants, horizon)
        assert ours >= objective_value(policy.outcomes, arrivals, groups) - 1e-3
        # on these cases a placement outweighs any fit: never fewer youths placed either
        assert best.placed >= policy.placed


def test_a_hint_is_a_starting_point_the_result_never_falls_below() -> None:
    groups, capacity, arrivals, occupants = _random_case(4)
    fcfs = replay(groups, capacity, arrivals, horizon_days=40.0, policy="fcfs", occupants=occupants)
    hint = {o.youth_id: (o.group_id, o.placed_day) for o in fcfs.outcomes if o.group_id and o.placed_day is not None}
    # so little time that the search can barely move: the hinted schedule is what it returns or beats
    res = hindsight(groups, capacity, arrivals, horizon_days=40.0, occupants=occupants, time_limit_s=0.2, hints=[hint])
    assert res.status in ("optimal", "feasible")
    # no bound only when CP-SAT found nothing in its time and the hint stood (a loaded machine)
    assert res.bound is None or res.bound >= res.objective - 1e-6
    check_schedule(res.outcomes, groups, capacity, arrivals, occupants, 40.0)
    assert objective_value(res.outcomes, arrivals, groups) >= objective_value(fcfs.outcomes, arrivals, groups) - 1e-3


def test_shortage_year_is_reproducible_every_referral_fits_somewhere_and_demand_exceeds_places() -> None:
    year = shortage_year(7, horizon_days=120)
    again = shortage_year(7, horizon_days=120)
    assert year == again
    assert shortage_year(8, horizon_days=120).arrivals != year.arrivals
    assert 140 <= len(year.groups) <= 160 and 600 <= year.places <= 1000
    assert all(0 <= a.day < 120 and a.stay_days >= 1 and a.stay_days == int(a.stay_days) for a in year.arrivals)
    present: dict[int, int] = {}
    for occ in year.occupants:
        present[occ.group_id] = present.get(occ.group_id, 0) + 1
    assert all(n <= year.capacity[gid] for gid, n in present.items())
    open_groups = tuple(dataclasses.replace(g, free_places=year.capacity[g.id]) for g in year.groups)
    cands = build_candidates(Instance(groups=open_groups, youths=tuple(a.youth for a in year.arrivals)))
    assert all(len(arcs) > 0 for arcs in cands.by_youth)
    # a shortage: under first come, first served more youths wait than places are free on most days
    res = replay(year.groups, year.capacity, year.arrivals, horizon_days=120.0, policy="fcfs", occupants=year.occupants)
    stay = year.stay_days()
    short_days = 0
    for day in range(10, 120, 10):
        waiting = sum(1 for o in res.outcomes if o.arrival_day <= day and (o.placed_day is None or o.placed_day > day))
        occupied = sum(1 for occ in year.occupants if occ.leaves_day > day) + sum(
            1
            for o in res.outcomes
            if o.placed_day is not None and o.placed_day <= day < o.placed_day + stay[o.youth_id]
        )
        short_days += waiting > year.places - occupied
    assert short_days >= 9


@pytest.mark.parametrize("seed", [5, 6])
def test_knowing_every_referral_a_closure_never_gains(seed: int) -> None:
    # The hindsight optimum's schedules with a group closed are schedules of the baseline too, so
    # the optimum cannot rise; a day-by-day policy can (tests/solver/test_replay.py), and the
    # what-if simulation says so when it happens.
    groups, capacity, arrivals, occupants = _random_case(seed)
    base = hindsight(groups, capacity, arrivals, horizon_days=40.0, occupants=occupants, time_limit_s=20.0)
    assert base.status == "optimal"
    for closed in capacity:
        change = hindsight(
            groups, {**capacity, closed: 0}, arrivals, horizon_days=40.0, occupants=occupants, time_limit_s=20.0
        )
        assert change.status == "optimal"
        assert all(o.group_id != closed for o in change.outcomes)
        assert change.objective <= base.objective + 1e-6
        assert change.placed <= base.placed


def test_the_optimum_places_the_specialist_that_first_come_first_served_leaves_waiting() -> None:
    # The replay's closure example: knowing youth 3 comes, the optimum keeps the gezinshuis for it.
    groups, arrivals = specialist_example()
    for capacity in ({1: 1, 2: 1, 3: 1}, {1: 0, 2: 1, 3: 1}):
        best = hindsight(groups, capacity, arrivals, horizon_days=60.0)
        assert best.status == "optimal" and best.placed == 3
