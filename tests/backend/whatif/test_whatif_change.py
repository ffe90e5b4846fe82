"""The change as the simulation applies it (no database): merging moves the places and the
youths present into the group merged into; figures count empty place-nights for the funding."""

from __future__ import annotations

from datetime import date

import pytest

from backend.whatif.service import Change, History, Period, Present, Referred, apply_change, draw, simulate
from solver.replay import Occupant
from tests.solver.solver_testkit import group, youth


def test_merge_sums_the_places_and_moves_the_youths_present() -> None:
    occupants = [Occupant(1, 10.0), Occupant(1, 20.0, arrives_day=5.0), Occupant(2, 30.0)]
    cap, occ = apply_change(Change("merge", 1, 2), {1: 3, 2: 4, 3: 1}, occupants)
    assert cap == {1: 0, 2: 7, 3: 1}
    assert [(o.group_id, o.arrives_day, o.leaves_day) for o in occ] == [(2, 0.0, 10.0), (2, 5.0, 20.0), (2, 0.0, 30.0)]
    # Closing keeps those present until they leave, but nobody is admitted any more.
    cap, occ = apply_change(Change("close", 1), {1: 3, 2: 4}, occupants)
    assert cap == {1: 0, 2: 4} and [o.leaves_day for o in occ] == [10.0, 30.0]
    cap, _ = apply_change(Change("places", 2, places_delta=-3), {1: 3, 2: 4}, occupants)
    assert cap == {1: 3, 2: 1}


def _history() -> History:
    """Ten days, two groups of one place; group 1 is availability funded (€100 a night)."""
    return History(
        region=None,  # type: ignore[arg-type]
        period=Period(date(2025, 1, 1), date(2025, 1, 10)),
        groups=[group(id=1), group(id=2, lat=52.5, lon=6.3)],
        group_names={1: "Een", 2: "Twee"},
        places={1: 1, 2: 1},
        rate={1: 100.0, 2: 0.0},
        in_region={1: True, 2: False},
        referrals=[Referred(youth=youth(id=7), day=2, stay_days=100.0)],
        present=[Present(group_id=1, arrives_day=0.0, elapsed_days=30.0, leaves_day=4.0)],
        lengths=[],
    )


def test_figures_of_a_tiny_history_and_merge_into_a_distant_group() -> None:
    history = _history()
    result = simulate(history, Change("merge", 1, 2), policy="fcfs", baseline_policy="fcfs", repetitions=2)
    by_key = {f["key"]: f for f in result["figures"]}
    # Baseline: group 1 is taken until day 4, so the youth of day 2 goes to group 2 at once (out of
    # the region, about 50 km); group 1 stays empty from day 4: 6 empty nights × €100.
    assert by_key["placed"]["baseline"]["mean"] == 1
    assert by_key["share_out_of_region"]["baseline"]["mean"] == 1.0
    assert by_key["availability_funding"]["baseline"]["mean"] == pytest.approx(600.0)
    # Merged into group 2 (two places, its own rate of 0): placed at once there, no funding.
    assert by_key["median_wait_days"]["change"]["mean"] == 0
    assert by_key["availability_funding"]["change"]["mean"] == 0
    # What happened: the youth was never placed, and waited the 8 days to the end.
    assert by_key["placed"]["observed"] == 0 and by_key["median_wait_days"]["observed"] == 8
    # No completed stays: no randomness, the interval is a point.
    assert by_key["placed"]["baseline"]["low"] == by_key["placed"]["baseline"]["high"] == 1


def test_unknown_stays_are_drawn_per_repetition_from_the_completed_ones() -> None:
    import numpy as np

    history = _history()
    history.referrals = [Referred(youth=youth(id=i), day=i, stay_days=None) for i in range(5)]
    history.lengths = [1.0, 2.0, 3.0]
    first = draw(history, np.random.default_rng(1))
    again = draw(history, np.random.default_rng(1))
    assert [a.stay_days for a in first.arrivals] == [a.stay_days for a in again.arrivals]
    assert {a.stay_days for a in first.arrivals} <= {1.0, 2.0, 3.0}
    assert first.occupants == [Occupant(1, 4.0, 0.0)]
