"""Kaplan–Meier against hand calculations: censored waits are counted, not dropped."""

from __future__ import annotations

import numpy as np
import pytest

from backend.indicators.survival import kaplan_meier


def test_without_censoring_it_is_the_ordinary_percentile():
    curve = kaplan_meier(np.array([5.0, 1.0, 3.0, 4.0, 2.0]), np.ones(5, dtype=bool))
    assert list(curve.times) == [1, 2, 3, 4, 5]
    assert list(np.round(curve.survival, 6)) == [0.8, 0.6, 0.4, 0.2, 0.0]
    assert curve.percentile(0.5) == 3.0  # S(3) = 0.4 is the first value at or below a half
    assert curve.percentile(0.9) == 5.0


def test_censored_waits_lengthen_the_median_instead_of_vanishing():
    # 2, 4 and 6 days to a proposal; one youth withdrawn after 3 days, one still waiting at 30.
    durations = np.array([2.0, 3.0, 4.0, 6.0, 30.0])
    observed = np.array([True, False, True, True, False])
    curve = kaplan_meier(durations, observed)
    # S(2) = 4/5; S(4) = 0.8 × 2/3; S(6) = 0.8 × 2/3 × 1/2 = 0.2667.
    assert curve.survival == pytest.approx([0.8, 0.8 * 2 / 3, 0.8 / 3])
    assert curve.percentile(0.5) == 6.0
    # Dropping the censored youths would say 4 days; so would counting them as placed.
    assert np.median(durations[observed]) == 4.0
    assert kaplan_meier(durations, np.ones(5, dtype=bool)).percentile(0.5) == 4.0
    # More than 10% never had the event: the 90th percentile is unknown, not the longest time.
    assert curve.percentile(0.9) is None
    assert (curve.subjects, curve.events, curve.censored) == (5, 3, 2)


def test_an_event_and_a_censoring_at_the_same_time_count_the_event_first():
    curve = kaplan_meier(np.array([1.0, 2.0, 2.0, 3.0]), np.array([True, True, False, True]))
    # At t=2 four minus one are at risk, the censored one among them: S(2) = 0.75 × 2/3.
    assert curve.survival == pytest.approx([0.75, 0.5, 0.0])
    assert curve.percentile(0.5) == 2.0


def test_nobody_ended_waiting_and_nobody_at_all():
    assert kaplan_meier(np.array([4.0, 9.0]), np.array([False, False])).percentile(0.5) is None
    empty = kaplan_meier(np.zeros(0), np.zeros(0, dtype=bool))
    assert empty.percentile(0.5) is None and empty.subjects == 0
    with pytest.raises(ValueError):
        kaplan_meier(np.zeros(2), np.zeros(3, dtype=bool))
