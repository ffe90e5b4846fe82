"""The SimPy loss simulation agrees with Erlang's formula on a stationary case (Poisson
arrivals, a length of stay that is not exponential), and turns youths away as a loss system."""

from __future__ import annotations

import numpy as np

from backend.planning import erlang, simulation


def test_simulation_agrees_with_the_formula_within_its_interval():
    rng = np.random.default_rng(2)  # fixed: a 95% interval misses for one seed in twenty
    rate, mean_stay, places = 1.0, 4.0, 5  # offered load 4: B(5, 4) = 0.199
    sigma = 0.8  # lognormal stays with mean 4: the formula holds for any distribution
    traces = []
    for _ in range(12):
        arrivals = np.cumsum(rng.exponential(1 / rate, size=1500))
        stays = rng.lognormal(np.log(mean_stay) - sigma**2 / 2, sigma, size=arrivals.size)
        traces.append(simulation.Trace(arrivals.tolist(), stays.tolist()))
    result = simulation.simulate(traces, places, warmup=40.0)
    formula = erlang.erlang_b(places, rate * mean_stay)
    low, high = result.loss_interval
    assert low <= formula <= high, (formula, result)
    assert high - low < 0.03  # an interval that could miss


def test_a_youth_who_finds_every_place_taken_is_turned_away():
    # Two arrivals at the same moment with one place: one is admitted, one turned away; the
    # third comes after the first left and is admitted.
    trace = simulation.Trace(arrivals=[0.0, 0.0, 3.0], stays=[2.0, 2.0, 1.0])
    assert simulation.lost_share(trace, 1) == (1, 3)
    assert simulation.lost_share(trace, 2) == (0, 3)
    assert simulation.lost_share(trace, 0) == (3, 3)
    # Arrivals in the warm-up are simulated but not counted.
    assert simulation.lost_share(trace, 1, warmup=1.0) == (0, 1)


def test_replayed_traces_keep_the_arrival_moments():
    traces = simulation.replay_traces([0.5, 1.0, 4.0], [2.0, 3.0], replications=3, seed=1)
    assert [t.arrivals for t in traces] == [[0.5, 1.0, 4.0]] * 3
    assert all(set(t.stays) <= {2.0, 3.0} and len(t.stays) == 3 for t in traces)
