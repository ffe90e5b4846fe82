"""Benchmark of the what-if simulation (issue #17 point 3: a one-year simulation of a
Twente-sized region with weekly batch runs in under 60 s).

    .venv/bin/python benchmarks/bench_whatif.py [--referrals 1500] [--groups 141] [--repetitions 10]

A synthetic Twente-sized history (fixed seed; ``solver.synthetic`` for the groups and the
referrals' profiles, at points in Twente): ``--groups`` groups (the Twente demo has 141) with
about 6 contracted places each, ``--referrals`` referrals spread over one year, lengths of stay
drawn from a lognormal with a mean of about 180 days (a known stay for half of the referrals, the
rest drawn per repetition from 800 completed stays), and the places 90% occupied at the start by
youths who leave over the year. Timed:

1. one replay of the year with weekly batch runs (``solver.replay``, 53 batch solves);
2. the same with first come, first served;
3. the whole job as ``backend.whatif.service.simulate`` runs it: ``--repetitions`` repetitions of
   the baseline (first come, first served) and the change (a group closed, weekly batches), with
   the figures and their intervals.

The database part of a run (reading the history: one query per table) is not in these figures.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.whatif.service import Change, History, Period, Present, Referred, draw, simulate  # noqa: E402
from solver import Weights  # noqa: E402
from solver.replay import replay  # noqa: E402
from solver.synthetic import make_groups, make_youths  # noqa: E402

TWENTE = ((52.15, 52.50), (6.40, 7.05))


def twente_points(rng: np.random.Generator, n: int) -> list[tuple[float, float]]:
    lat = rng.uniform(*TWENTE[0], size=n)
    lon = rng.uniform(*TWENTE[1], size=n)
    return list(zip(lat.tolist(), lon.tolist(), strict=True))


def build(n_groups: int, n_referrals: int, seed: int = 17) -> History:
    rng = np.random.default_rng(seed)
    points = twente_points(rng, 60)
    groups = make_groups(n_groups, seed, points)
    youths = make_youths(n_referrals, seed, points)
    places = {g.id: max(1, int(rng.poisson(6))) for g in groups}

    def stays(n: int) -> np.ndarray:
        return np.clip(rng.lognormal(mean=np.log(130), sigma=0.8, size=n), 2, 1500)

    days = np.sort(rng.integers(0, 365, size=n_referrals))
    known = stays(n_referrals)
    referrals = [
        Referred(youth=y, day=int(d), stay_days=float(s) if rng.random() < 0.5 else None)
        for y, d, s in zip(youths, days, known, strict=True)
    ]
    present = []
    for gid, n in places.items():
        for _ in range(round(0.9 * n)):
            elapsed = float(rng.uniform(0, 300))
            leaves = float(stays(1)[0]) if rng.random() < 0.7 else None
            present.append(Present(group_id=gid, arrives_day=0.0, elapsed_days=elapsed, leaves_day=leaves))
    return History(
        region=None,  # type: ignore[arg-type]
        period=Period(date(2025, 1, 1), date(2025, 12, 31)),
        groups=groups,
        group_names={g.id: f"groep {g.id}" for g in groups},
        places=places,
        rate={g.id: 150.0 if g.care_form == "crisis" else 0.0 for g in groups},
        in_region=dict.fromkeys(places, True),
        referrals=referrals,
        present=present,
        lengths=[float(x) for x in stays(800)],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=141)
    parser.add_argument("--referrals", type=int, default=1500)
    parser.add_argument("--repetitions", type=int, default=10)
    args = parser.parse_args()
    history = build(args.groups, args.referrals)
    draws = draw(history, np.random.default_rng(1))
    weights = Weights()
    rows = []
    for policy in ("batch", "fcfs"):
        t0 = time.perf_counter()
        res = replay(
            history.groups,
            history.places,
            draws.arrivals,
            horizon_days=365.0,
            policy=policy,  # type: ignore[arg-type]
            occupants=draws.occupants,
            weights=weights,
        )
        seconds = time.perf_counter() - t0
        rows.append(
            f"| one replay, {'weekly batch' if policy == 'batch' else 'first come, first served'} | "
            f"{len(draws.arrivals):,} | {res.placed:,} | {res.median_wait_days:.1f} d | {seconds:.2f} s |"
        )
    closed = max(history.places, key=lambda g: history.places[g])
    t0 = time.perf_counter()
    result = simulate(
        history,
        Change("close", closed),
        policy="batch",
        baseline_policy="fcfs",
        repetitions=args.repetitions,
        weights=weights,
    )
    seconds = time.perf_counter() - t0
    placed = next(f for f in result["figures"] if f["key"] == "placed")
    rows.append(
        f"| whole job: {args.repetitions} × (baseline first come first served + group closed, weekly batch) | "
        f"{len(history.referrals):,} | {placed['baseline']['mean']:,.0f} vs {placed['change']['mean']:,.0f} | – | "
        f"{seconds:.2f} s |"
    )
    print(
        f"{args.groups} groups, {sum(history.places.values()):,} places, {len(history.present):,} present at the "
        f"start, {args.referrals:,} referrals in one year\n"
    )
    print("| case | referrals | placed | median wait | wall time |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
