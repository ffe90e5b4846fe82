"""The change as the simulation applies it (no database): places day by day (missing places
below a group's most), merging adds the places day by day and moves the youths present, the
funding counts the youths' empty place-nights per stretch, and a closure that places a youth
more through the order of placing says so (the solver test kit's ``specialist_example``)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from backend.errors import RuleViolation
from backend.whatif.models import WhatIfRunCreate
from backend.whatif.service import (
    Change,
    History,
    Period,
    Present,
    Referred,
    Stretch,
    apply_change,
    capacity,
    check_change,
    draw,
    missing_places,
    simulate,
)
from solver.replay import Occupant
from tests.solver.solver_testkit import group, specialist_example, youth

FAR = {"lat": 52.5, "lon": 6.3}  # about 50 km from Enschede, where the youths live


def figures_of(result: dict) -> dict[str, dict]:
    return {f["key"]: f for f in result["figures"]}


def test_merge_adds_the_places_day_by_day_and_moves_the_youths_present() -> None:
    occupants = [Occupant(1, 10.0), Occupant(1, 20.0, arrives_day=5.0), Occupant(2, 30.0)]
    # Group 1 goes from 3 to 1 place on day 5 (a new contract version), group 2 keeps 4.
    schedule = {
        1: [Stretch(0, 4, 3, 10.0), Stretch(5, 9, 1, 10.0)],
        2: [Stretch(0, 9, 4, 20.0)],
        3: [Stretch(0, 9, 1)],
    }
    merged, occ = apply_change(Change("merge", 1, 2), schedule, occupants)
    assert merged[2] == [Stretch(0, 4, 7, 20.0), Stretch(5, 9, 5, 20.0)]  # the rate merged into
    assert merged[1] == [Stretch(0, 9, 0, active=False)] and merged[3] == schedule[3]
    assert [(o.group_id, o.arrives_day, o.leaves_day) for o in occ] == [(2, 0.0, 10.0), (2, 5.0, 20.0), (2, 0.0, 30.0)]
    # In the replay group 2 has 7 places and, from day 5, two missing places (no youths).
    cap = capacity(merged)
    assert cap == {1: 0, 2: 7, 3: 1}
    assert missing_places(merged, cap) == [Occupant(2, leaves_day=10.0, arrives_day=5.0)] * 2
    # Closing keeps those present until they leave, but nobody is admitted any more.
    closed, occ = apply_change(Change("close", 1), schedule, occupants)
    assert capacity(closed)[1] == 0 and [o.leaves_day for o in occ] == [10.0, 30.0]


def test_places_change_on_the_days_the_group_has_places_and_never_below_zero() -> None:
    # Group 1 starts on day 4 and stops after day 7; group 2 has 4 places, then 2.
    before, after = Stretch(0, 3, 0, active=False), Stretch(8, 9, 0, active=False)
    schedule = {1: [before, Stretch(4, 7, 2), after], 2: [Stretch(0, 4, 4), Stretch(5, 9, 2)]}
    more, _ = apply_change(Change("places", 1, places_delta=3), schedule, [])
    assert more[1] == [before, Stretch(4, 7, 5), after]
    # 5 places in the replay; before the start and after the end all five are missing.
    missing = missing_places(more, capacity(more))
    assert sorted((o.arrives_day, o.leaves_day) for o in missing if o.group_id == 1) == (
        [(0.0, 4.0)] * 5 + [(8.0, 10.0)] * 5
    )
    assert [(o.arrives_day, o.leaves_day) for o in missing if o.group_id == 2] == [(5.0, 10.0)] * 2
    fewer, _ = apply_change(Change("places", 2, places_delta=-2), schedule, [])
    assert fewer[2] == [Stretch(0, 4, 2), Stretch(5, 9, 0)]
    # A contract version of 0 places is a day of the group: places added count there too.
    paused, _ = apply_change(Change("places", 2, places_delta=1), {2: [Stretch(0, 9, 0)]}, [])
    assert paused[2] == [Stretch(0, 9, 1)]
    names = {1: "Een", 2: "Twee"}
    request = {"start": "2025-01-01", "end": "2025-01-10", "change": "places", "group_id": 2}
    with pytest.raises(RuleViolation) as refused:
        check_change(WhatIfRunCreate.model_validate({**request, "places_delta": -3}), schedule, names)
    assert refused.value.code == "places_below_zero"
    assert "Twee heeft op sommige dagen van de periode maar 2 plaatsen" in refused.value.message
    assert "niet 3 af" in refused.value.message
    change = check_change(WhatIfRunCreate.model_validate({**request, "places_delta": -2}), schedule, names)
    assert change == Change("places", 2, places_delta=-2)


def _history(**kw) -> History:  # type: ignore[no-untyped-def]
    """Ten days, two groups; group 1 (in Enschede, where the youths live) is availability funded
    (€100 a night), group 2 lies 50 km away in another region."""
    base = dict(
        region=None,
        period=Period(date(2025, 1, 1), date(2025, 1, 10)),
        groups=[group(id=1), group(id=2, **FAR)],
        group_names={1: "Een", 2: "Twee"},
        places={1: 1, 2: 1},
        rate={1: 100.0, 2: 0.0},
        in_region={1: True, 2: False},
        referrals=[Referred(youth=youth(id=7), day=2, stay_days=100.0)],
        present=[Present(group_id=1, arrives_day=0.0, elapsed_days=30.0, leaves_day=4.0)],
        lengths=[],
    )
    base.update(kw)
    return History(**base)  # type: ignore[arg-type]


def test_figures_of_a_tiny_history_and_merge_into_a_distant_group() -> None:
    history = _history()
    result = simulate(history, Change("merge", 1, 2), policy="fcfs", baseline_policy="fcfs", repetitions=2)
    by_key = figures_of(result)
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
    # A merge adds no places: no count of extra placements.
    assert result["more_placed_with_change"] is None


def test_a_group_that_starts_halfway_takes_nobody_before_it_starts() -> None:
    # Group 1 opens on day 5 with one place; group 2 has none in the period (it stopped before).
    history = _history(
        schedule={1: [Stretch(0, 4, 0, active=False), Stretch(5, 9, 1, 100.0)], 2: [Stretch(0, 9, 0, active=False)]},
        places={},
        present=[],
        referrals=[Referred(youth=youth(id=7), day=2, stay_days=2.0, placed_day=5.5, placed_group_id=1)],
    )
    assert history.places == {1: 1, 2: 0} and history.varying_groups == 1
    result = simulate(
        history, Change("places", 1, places_delta=1), policy="fcfs", baseline_policy="fcfs", repetitions=2
    )
    by_key = figures_of(result)
    for side in ("baseline", "change"):
        # Placed on day 5, not on day 2: the place is missing until the group starts.
        assert by_key["median_wait_days"][side]["mean"] == 3
        assert by_key["placed"][side]["mean"] == 1
    # Funding counts the days with places only: 5 nights less the 2 the youth stayed, × €100;
    # with a place more on those same days (and not before the start), 10 − 2.
    assert by_key["availability_funding"]["baseline"]["mean"] == pytest.approx(300.0)
    assert by_key["availability_funding"]["change"]["mean"] == pytest.approx(800.0)
    assert by_key["availability_funding"]["observed"] == pytest.approx(300.0)
    notes = " ".join(result["notes"])
    assert "1 groepen hadden niet de hele periode evenveel plaatsen" in notes
    assert "gelden op de dagen dat Een actief was" in notes
    assert "begonnen of stopten binnen de periode; de simulatie rekent ze" not in notes


def test_a_contract_version_with_fewer_places_evicts_nobody_and_funds_by_its_own_rate() -> None:
    # Group 1: 2 places at €100 a night on days 0–4, then a version with 1 place at €150.
    history = _history(
        schedule={1: [Stretch(0, 4, 2, 100.0), Stretch(5, 9, 1, 150.0)], 2: [Stretch(0, 9, 1)]},
        places={},
        present=[
            Present(group_id=1, arrives_day=0.0, elapsed_days=10.0, leaves_day=3.0),
            Present(group_id=1, arrives_day=0.0, elapsed_days=10.0, leaves_day=None),
        ],
        referrals=[
            Referred(youth=youth(id=7), day=4, stay_days=None, min_stay_days=30.0, placed_day=4.0, placed_group_id=1),
            Referred(youth=youth(id=8), day=6, stay_days=None, min_stay_days=30.0, placed_day=6.0, placed_group_id=2),
        ],
    )
    result = simulate(history, Change("close", 2), policy="fcfs", baseline_policy="fcfs", repetitions=2)
    by_key = figures_of(result)
    # Day 4: one of the two places is free, youth 7 takes it and stays when the places drop to
    # one on day 5. Youth 8 (day 6) finds group 1 over full and goes to group 2.
    assert by_key["placed"]["baseline"]["mean"] == 2
    assert by_key["share_out_of_region"]["baseline"]["mean"] == 0.5
    # By hand: days 0–4, 2 places × 5 nights − (3 + 5 + 1) youth nights = 1 empty × €100; days
    # 5–9: two youths on one place, nothing empty (never below zero) → €100.
    for money in (by_key["availability_funding"]["observed"], by_key["availability_funding"]["baseline"]["mean"]):
        assert money == pytest.approx(100.0)
    # Group 2 closed: youth 8 waits to the end, youth 7 is placed as before.
    assert by_key["placed"]["change"]["mean"] == 1
    assert result["more_placed_with_change"] == 0


def test_merging_a_group_whose_places_drop_gives_the_sum_day_by_day() -> None:
    # Group 1 (€100) has 2 places, then 1 from day 5; group 2 (€50, same place) has 1, taken all along.
    history = _history(
        groups=[group(id=1), group(id=2)],
        in_region={1: True, 2: True},
        schedule={1: [Stretch(0, 4, 2, 100.0), Stretch(5, 9, 1, 100.0)], 2: [Stretch(0, 9, 1, 50.0)]},
        places={},
        present=[Present(group_id=2, arrives_day=0.0, elapsed_days=10.0, leaves_day=None)],
        referrals=[
            Referred(youth=youth(id=7), day=0, stay_days=100.0),
            Referred(youth=youth(id=8), day=1, stay_days=4.0),
            Referred(youth=youth(id=9), day=6, stay_days=100.0),
        ],
    )
    result = simulate(history, Change("merge", 1, 2), policy="fcfs", baseline_policy="fcfs", repetitions=2)
    by_key = figures_of(result)
    # Both sides: youths 7 and 8 are placed on their day; from day 5 youth 7 and the youth
    # present fill the (merged) places, so youth 9 waits to the end. Had the merged group kept
    # 3 places all period, youth 9 would have been placed on day 6.
    for side in ("baseline", "change"):
        assert by_key["placed"][side]["mean"] == 2
        assert by_key["p90_wait_days"][side]["mean"] == pytest.approx(3.2)  # waits 0, 0, 4
    # Baseline: group 1 has 10 − (5 + 4) = 1 empty night on days 0–4 (€100), none after; group 2
    # is full. Merged (group 2's rate): 15 − 14 = 1 empty night at €50, none after.
    assert by_key["availability_funding"]["baseline"]["mean"] == pytest.approx(100.0)
    assert by_key["availability_funding"]["change"]["mean"] == pytest.approx(50.0)


def _ordering_history() -> History:
    """The solver test kit's example: three groups of one place, three referrals with known
    stays; closing group 1 under first come, first served places youth 3 too (day 53)."""
    groups, arrivals = specialist_example()
    return History(
        region=None,  # type: ignore[arg-type]
        period=Period(date(2025, 1, 1), date(2025, 3, 1)),  # 60 days
        groups=groups,
        group_names={1: "Een", 2: "Twee", 3: "Drie"},
        places={1: 1, 2: 1, 3: 1},
        in_region={1: True, 2: True, 3: True},
        referrals=[Referred(a.youth, day=int(a.day), stay_days=a.stay_days) for a in arrivals],
        present=[],
        lengths=[],
    )


def test_a_closure_that_places_one_more_through_the_order_says_so() -> None:
    result = simulate(_ordering_history(), Change("close", 1), policy="fcfs", baseline_policy="fcfs", repetitions=2)
    placed = figures_of(result)["placed"]
    assert (placed["baseline"]["mean"], placed["change"]["mean"]) == (2, 3)
    assert result["more_placed_with_change"] == 2
    assert (
        "In 2 van de 2 herhalingen plaatste de simulatie met deze wijziging één jongere meer dan zonder. Dat komt "
        "door de volgorde van plaatsen zonder vooruit te kijken (wie later geplaatst wordt, vertrekt ook later), "
        "niet doordat de wijziging plaatsen oplevert." in result["notes"]
    )


def test_a_closure_that_places_no_more_has_no_such_note() -> None:
    # Removing group 1's place leaves it with none: the same effect, said the same way; closing
    # the gezinshuis instead places no more, and nothing is said.
    same = simulate(
        _ordering_history(), Change("places", 1, places_delta=-1), policy="fcfs", baseline_policy="fcfs", repetitions=2
    )
    assert same["more_placed_with_change"] == 2
    result = simulate(_ordering_history(), Change("close", 3), policy="fcfs", baseline_policy="fcfs", repetitions=2)
    placed = figures_of(result)["placed"]
    assert placed["change"]["mean"] <= placed["baseline"]["mean"]
    assert result["more_placed_with_change"] == 0
    assert not any("volgorde van plaatsen" in n for n in result["notes"])


def test_unknown_stays_are_drawn_per_repetition_from_the_completed_ones() -> None:
    history = _history()
    history.referrals = [Referred(youth=youth(id=i), day=i, stay_days=None) for i in range(5)]
    history.lengths = [1.0, 2.0, 3.0]
    first = draw(history, np.random.default_rng(1))
    again = draw(history, np.random.default_rng(1))
    assert [a.stay_days for a in first.arrivals] == [a.stay_days for a in again.arrivals]
    assert {a.stay_days for a in first.arrivals} <= {1.0, 2.0, 3.0}
    assert first.occupants == [Occupant(1, 4.0, 0.0)]


def test_a_neighbouring_regions_group_takes_a_youth_only_when_the_region_has_none() -> None:
    # Group 1 (the region's) lies 50 km away, group 2 (a neighbouring region's) where the youth
    # lives; both have a place free.
    near_other = {"groups": [group(id=1, **FAR), group(id=2)], "present": []}
    result = simulate(
        _history(**near_other, fallback=frozenset({2})),
        Change("close", 1),
        policy="fcfs",
        baseline_policy="fcfs",
        repetitions=2,
    )
    by_key = figures_of(result)
    # As it is, the region's own group, although further; with it closed, the neighbour's.
    assert by_key["share_out_of_region"]["baseline"]["mean"] == 0.0
    assert by_key["mean_distance_km"]["baseline"]["mean"] == pytest.approx(50, abs=8)
    assert by_key["share_out_of_region"]["change"]["mean"] == 1.0
    assert by_key["placed"]["change"]["mean"] == 1
    assert result["groups"] == 1 and result["neighbour_groups"] == 1
    assert not any("geen buurregio" in note for note in result["notes"])
    # Without neighbours set, the nearest group of all is taken, and the notes say so.
    plain = simulate(_history(**near_other), Change("close", 1), policy="fcfs", baseline_policy="fcfs", repetitions=2)
    assert figures_of(plain)["share_out_of_region"]["baseline"]["mean"] == 1.0
    assert any("geen buurregio" in note for note in plain["notes"])


def test_an_interval_never_leaves_the_range_of_its_figure() -> None:
    from backend.whatif.service import interval

    # Waits of 0, 0, 0 and 2 days: the t-interval around 0.5 would reach below zero.
    waits = interval([0.0, 0.0, 0.0, 2.0])
    assert waits["mean"] == 0.5 and waits["low"] == 0.0 and waits["high"] > 2.0
    shares = interval([1.0, 1.0, 0.5], upper=1.0)
    assert shares["high"] == 1.0 and 0 < shares["low"] < shares["mean"] < 1.0
    assert interval([None, None])["mean"] is None and interval([3.0])["low"] is None
