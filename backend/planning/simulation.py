"""A discrete-event simulation (SimPy) of a group of crisis places as a loss system: a youth who
arrives when every place is taken is turned away (in practice: placed elsewhere). It checks
Erlang's formula against the arrivals as they actually came, with their real clustering,
instead of the Poisson arrivals the formula assumes.

Each replication is one trace: arrival moments (days from the start) and the length of stay of
each arrival. The planner replays the feed's own arrival moments with lengths of stay drawn
again from the observed stays in every replication; a test feeds independent Poisson traces.
Arrivals in the warm-up (the places start empty) are simulated but not counted.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy
from scipy import stats


@dataclass(frozen=True)
class Trace:
    arrivals: Sequence[float]  # days from the start, ascending
    stays: Sequence[float]  # days, one per arrival


@dataclass(frozen=True)
class SimulationResult:
    places: int
    replications: int
    counted_arrivals: int  # per replication, after the warm-up
    loss_mean: float
    loss_interval: tuple[float, float]


def lost_share(trace: Trace, places: int, *, warmup: float = 0.0) -> tuple[int, int]:
    """(turned away, counted arrivals) of one trace with ``places`` places."""
    env = simpy.Environment()
    # The places as a plain count rather than a simpy.Resource: a loss system never queues, and
    # a Resource's request and release events would triple the events per stay (the planner
    # replays thousands of stays per answer).
    state = {"taken": 0, "lost": 0, "counted": 0}

    def leave(_event: Any) -> None:
        state["taken"] -= 1

    def arrive() -> Generator[Any, Any, None]:
        for moment, length in zip(trace.arrivals, trace.stays, strict=True):
            if moment > env.now:
                yield env.timeout(moment - env.now)
            counted = moment >= warmup
            state["counted"] += counted
            # Taken at once, so two arrivals at the same moment do not share one place.
            if state["taken"] < places:
                state["taken"] += 1
                env.timeout(length).callbacks.append(leave)
            else:
                state["lost"] += counted

    env.process(arrive())
    env.run()
    return state["lost"], state["counted"]


def simulate(
    traces: Sequence[Trace], places: int, *, warmup: float = 0.0, confidence: float = 0.95
) -> SimulationResult:
    """The share turned away per replication, its mean and a t confidence interval over the
    replications."""
    shares, counted = [], 0
    for trace in traces:
        lost, arrived = lost_share(trace, places, warmup=warmup)
        counted = arrived
        shares.append(lost / arrived if arrived else 0.0)
    values = np.asarray(shares, dtype=np.float64)
    mean = float(values.mean()) if values.size else 0.0
    if values.size > 1:
        half = float(stats.t.ppf(0.5 + confidence / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))
    else:
        half = 0.0
    return SimulationResult(
        places=places,
        replications=int(values.size),
        counted_arrivals=counted,
        loss_mean=mean,
        loss_interval=(max(0.0, mean - half), min(1.0, mean + half)),
    )


def replay_traces(
    arrivals: Sequence[float], observed_stays: Sequence[float], *, replications: int, seed: int = 0
) -> list[Trace]:
    """The actual arrival moments, each replication with lengths of stay drawn again (with
    replacement) from the observed ones."""
    rng = np.random.default_rng(seed)
    pool = np.asarray(observed_stays, dtype=np.float64)
    return [
        Trace(arrivals=list(arrivals), stays=pool[rng.integers(0, pool.size, size=len(arrivals))].tolist())
        for _ in range(replications)
    ]
