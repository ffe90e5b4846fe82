"""Kaplan–Meier: waiting times with the youths still waiting counted, not dropped.

A youth who still waits (or whose referral was withdrawn before a proposal) has waited *at
least* as long as we have seen; leaving such youths out makes waiting look shorter than it is,
counting them as if they had just been placed does too. The Kaplan–Meier estimator uses each
one for exactly as long as it was observed ("censored"):

    S(t) = Π over event times t_i ≤ t of (1 − d_i / n_i)

where d_i is the number of youths whose wait ended at t_i and n_i the number still waiting just
before t_i (those censored at t_i count as still waiting then: an event and a censoring at the
same moment put the event first, the usual convention). The q-th percentile of the waiting
time is the first t with S(t) ≤ 1 − q (median: S(t) ≤ 0.5). When too many youths are still
waiting the curve never gets that low and the percentile is unknown (``None``): at least the
longest time seen, which the caller may show as "meer dan ... dagen".

Written out with numpy (some twenty lines) rather than with a survival library: it is the only
estimator needed, and plain code is easier to check against a hand calculation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Survival:
    """The Kaplan–Meier curve: at ``times[i]`` the share still waiting drops to ``survival[i]``."""

    times: np.ndarray
    survival: np.ndarray
    subjects: int
    events: int

    @property
    def censored(self) -> int:
        return self.subjects - self.events

    @property
    def longest(self) -> float | None:
        return None if not self.times.size else float(self.times[-1])

    def percentile(self, q: float) -> float | None:
        """The time by which a share ``q`` of the youths had the event; None if not reached."""
        reached = np.nonzero(self.survival <= 1.0 - q + 1e-12)[0]
        return float(self.times[reached[0]]) if reached.size else None


def kaplan_meier(durations: np.ndarray, observed: np.ndarray) -> Survival:
    """``durations``: time each youth was followed; ``observed``: True where the wait ended in the
    event (a proposal, a placement), False where it was censored (still waiting, withdrawn)."""
    durations = np.asarray(durations, dtype=np.float64)
    observed = np.asarray(observed, dtype=bool)
    if durations.shape != observed.shape:
        raise ValueError("durations and observed differ in length")
    event_times = np.unique(durations[observed])
    if not event_times.size:
        return Survival(np.zeros(0), np.zeros(0), int(durations.size), 0)
    ordered = np.sort(durations)
    # Still waiting just before t: everyone followed for at least t.
    at_risk = ordered.size - np.searchsorted(ordered, event_times, side="left")
    ended = np.searchsorted(np.sort(durations[observed]), event_times, side="right")
    deaths = np.diff(np.concatenate(([0], ended)))
    survival = np.cumprod(1.0 - deaths / at_risk)
    return Survival(event_times, survival, int(durations.size), int(observed.sum()))
