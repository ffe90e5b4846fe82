"""Erlang's loss formula against published table values, and the estimates that feed it."""

from __future__ import annotations

import math

import pytest

from backend.planning import erlang


@pytest.mark.parametrize(
    ("places", "load", "published"),
    [
        (10, 5.0, 0.01838),
        (5, 2.0, 0.03670),
        (1, 1.0, 0.5),
        (3, 1.0, 0.0625),
        (20, 15.0, 0.04559),
        # Standard Erlang B tables: the load that gives 1% loss with 10, 20 and 50 places.
        (10, 4.461, 0.01),
        (20, 12.031, 0.01),
        (50, 37.901, 0.01),
        # ... and 5% with 5 and 30 places.
        (5, 2.2185, 0.05),
        (30, 24.802, 0.05),
    ],
)
def test_loss_probability_matches_published_tables(places, load, published):
    assert erlang.erlang_b(places, load) == pytest.approx(published, rel=2e-3)


def test_recursion_stays_finite_where_factorials_would_overflow():
    # 400! overflows a float; the recursion does not form it.
    table = erlang.erlang_b_table(380.0, 400)
    assert all(0 < b <= 1 for b in table)
    assert table == sorted(table, reverse=True)  # more places never lose more youths
    assert 0.01 < table[400] < 0.05


def test_smallest_places_is_the_first_that_meets_the_target():
    assert erlang.smallest_places(5.0, 0.05) == 9  # B(8, 5) = 0.070, B(9, 5) = 0.038
    assert erlang.erlang_b(8, 5.0) > 0.05 >= erlang.erlang_b(9, 5.0)
    assert erlang.smallest_places(0.0, 0.05) == 0
    with pytest.raises(ValueError):
        erlang.smallest_places(1.0, 1.0)


def test_exact_poisson_interval_of_the_rate():
    # Garwood's published limits for 0 and 10 events (95%): 0–3.689 and 4.795–18.390.
    assert erlang.poisson_rate_interval(0, 1.0) == (0.0, pytest.approx(3.6889, abs=1e-3))
    low, high = erlang.poisson_rate_interval(10, 100.0)
    assert low == pytest.approx(0.04795, abs=1e-4) and high == pytest.approx(0.18390, abs=1e-4)


def test_stay_estimate_is_seeded_and_covers_the_mean():
    lengths = [1.0, 2.0, 3.0, 10.0, 4.0, 6.0, 2.5, 8.0]
    first = erlang.stay_estimate(lengths)
    assert first == erlang.stay_estimate(lengths)  # the same feed, the same interval
    assert first.mean == pytest.approx(4.5625)
    assert first.interval is not None and first.interval[0] < first.mean < first.interval[1]
    assert first.median == pytest.approx(3.5)
    assert erlang.stay_estimate([]).mean is None


def test_dispersion_flags_a_seasonal_peak():
    steady = erlang.dispersion([10, 12, 9, 11, 10, 8, 11, 9, 10, 12, 10, 11])
    peaked = erlang.dispersion([5, 5, 6, 5, 30, 32, 5, 4, 6, 5, 5, 6])
    assert steady is not None and steady[1] > 0.05
    assert peaked is not None and peaked[1] < 0.001 and peaked[0] > 5
    assert math.isfinite(peaked[0])
