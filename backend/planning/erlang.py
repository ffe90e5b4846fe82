"""Erlang's loss formula and the estimates it is fed with, kept free of the database so that the
tests can check it against published tables.

Erlang B gives the probability that an arriving youth finds every one of ``n`` places taken, for
Poisson arrivals and *any* length-of-stay distribution with the given mean (the formula is
insensitive to the distribution). The offered load ``a`` is the arrival rate times the mean
length of stay (in places). The recursion B(0) = 1, B(n) = a·B(n−1) / (n + a·B(n−1)) never
forms a factorial or a power, so it stays exact for hundreds of places and any load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


def erlang_b(places: int, load: float) -> float:
    """The probability that all ``places`` are taken when an arrival comes (offered ``load``)."""
    return erlang_b_table(load, places)[places]


def erlang_b_table(load: float, max_places: int) -> list[float]:
    """B(n, load) for n = 0 .. ``max_places``."""
    if load < 0 or max_places < 0:
        raise ValueError("load and places must not be negative")
    table = [1.0]
    b = 1.0
    for n in range(1, max_places + 1):
        b = load * b / (n + load * b)
        table.append(b)
    return table


def smallest_places(load: float, target: float, *, limit: int = 10_000) -> int:
    """The smallest number of places whose loss probability is at most ``target``."""
    if not 0 < target < 1:
        raise ValueError("target must lie strictly between 0 and 1")
    if load == 0:
        return 0  # nobody arrives: no place is needed
    b, n = 1.0, 0
    while b > target:
        n += 1
        if n > limit:  # pragma: no cover - a load of thousands of places
            raise ValueError("no number of places up to the limit meets the target")
        b = load * b / (n + load * b)
    return n


def poisson_rate_interval(count: int, exposure: float, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Garwood) confidence interval of a Poisson rate: ``count`` events over
    ``exposure`` (days), from the chi-square quantiles; 0 events still give an upper bound."""
    if exposure <= 0:
        raise ValueError("exposure must be positive")
    alpha = 1 - confidence
    low = 0.0 if count == 0 else float(stats.chi2.ppf(alpha / 2, 2 * count)) / 2
    high = float(stats.chi2.ppf(1 - alpha / 2, 2 * count + 2)) / 2
    return low / exposure, high / exposure


@dataclass(frozen=True)
class StayEstimate:
    count: int
    mean: float | None
    interval: tuple[float, float] | None
    median: float | None
    p90: float | None


def stay_estimate(
    lengths: Sequence[float], *, confidence: float = 0.95, resamples: int = 1000, seed: int = 0
) -> StayEstimate:
    """Mean length of stay (days) with a percentile-bootstrap confidence interval (seeded, so
    the same feed always gives the same interval), and its median and 90th percentile."""
    values = np.asarray(lengths, dtype=np.float64)
    if values.size == 0:
        return StayEstimate(0, None, None, None, None)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    alpha = 1 - confidence
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return StayEstimate(
        count=int(values.size),
        mean=float(values.mean()),
        interval=(float(low), float(high)),
        median=float(np.median(values)),
        p90=float(np.quantile(values, 0.9)),
    )


def dispersion(counts: Sequence[int]) -> tuple[float, float] | None:
    """Index of dispersion (variance / mean) of arrival counts per period and the p-value of the
    chi-square test that they come from one Poisson rate; None with fewer than 3 periods or
    no arrivals. A small p-value means the rate changes over the year (seasonal peaks)."""
    values = np.asarray(counts, dtype=np.float64)
    if values.size < 3 or values.sum() == 0:
        return None
    mean = values.mean()
    statistic = float(((values - mean) ** 2).sum() / mean)
    return float(values.var(ddof=1) / mean), float(stats.chi2.sf(statistic, values.size - 1))
