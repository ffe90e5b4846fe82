"""Placement quality on a shortage year (issue #17 point 4): first come, first served and the
batch (weekly, and daily with ``--batch-every 7 1``; ``solver.replay``) against the hindsight
optimum (``solver.hindsight``).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_placement_quality.py [--seeds 0 1 2]
        [--hindsight-seconds 150] [--workers 2] [--batch-every 7 1] [--count-first]
        [--out benchmarks/RESULTS_placement_quality.md]

Each seed is one generated Twente-sized year (``solver.shortage.shortage_year``), home locations
drawn from the address-postcode centroids of the Twente postcodes (``../shared/data/4pp.csv`` and
``twente_gemeenten.csv``; the municipality centres when the files are absent).  The hindsight
model starts on each independent part from the best of the policies' schedules and runs for
``--hindsight-seconds``; its status and its gap to CP-SAT's proven bound are printed with it.
``--count-first`` adds the same model with placements first.  Method and limits:
docs/placement-quality.md.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from solver.hindsight import default_wait_cost_per_day, hindsight, objective_value
from solver.replay import Outcome, ReplayResult, replay
from solver.schema import Weights
from solver.shortage import ShortageYear, shortage_year

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
#: placement bonus of the "count first" hindsight run: fifty times the default, far more than
#: the fits and waits of the youths that one more placement moves around
COUNT_FIRST_BONUS = 100.0


def twente_points(data: Path) -> list[tuple[float, float]] | None:
    """Address-postcode centroids (soort "Adres") of the Twente postcodes, or None."""
    towns, pc4 = data / "twente_gemeenten.csv", data / "4pp.csv"
    if not towns.exists() or not pc4.exists():
        return None
    with towns.open(newline="", encoding="utf-8") as fh:
        codes = {code for row in csv.DictReader(fh) for code in row["pc4_list"].split()}
    points = []
    with pc4.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["postcode"] in codes and row["soort"] == "Adres" and row["latitude"]:
                points.append((float(row["latitude"]), float(row["longitude"])))
    return points or None


def shortage_days(year: ShortageYear, outcomes: Sequence[Outcome]) -> float:
    """Share of the days on which more youths waited than places were free (under a policy)."""
    stay = year.stay_days()
    days = int(year.horizon_days)
    waiting = [0] * days
    occupied = [0] * days
    for occ in year.occupants:
        for d in range(int(occ.arrives_day), min(days, int(occ.leaves_day))):
            occupied[d] += 1
    for o in outcomes:
        end = days if o.placed_day is None else int(o.placed_day)
        for d in range(int(o.arrival_day), min(days, end)):
            waiting[d] += 1
        if o.placed_day is not None:
            for d in range(int(o.placed_day), min(days, int(o.placed_day + stay[o.youth_id]))):
                occupied[d] += 1
    return sum(1 for d in range(days) if waiting[d] > year.places - occupied[d]) / days


def row(name: str, res: ReplayResult, objective: float, seconds: float, note: str = "") -> dict[str, object]:
    return {
        "policy": name,
        "referrals": len(res.outcomes),
        "placed": res.placed,
        "median_wait": res.median_wait_days or 0.0,
        "p90_wait": res.p90_wait_days or 0.0,
        "mean_km": res.mean_distance_km or 0.0,
        "share_above": res.share_above_need or 0.0,
        "steps_above": res.mean_steps_above_need or 0.0,
        "objective": objective,
        "seconds": seconds,
        "note": note,
    }


def run_seed(seed: int, args: argparse.Namespace, points: list[tuple[float, float]] | None) -> list[dict[str, object]]:
    year = shortage_year(seed, horizon_days=args.horizon, points=points)
    arrivals = list(year.arrivals)
    rows = []
    results: dict[str, ReplayResult] = {}
    runs = [("FCFS", "fcfs", 7.0)] + [(batch_name(days), "batch", days) for days in args.batch_every]
    for name, policy, every in runs:
        t0 = time.perf_counter()
        res = replay(
            year.groups,
            year.capacity,
            arrivals,
            horizon_days=year.horizon_days,
            policy=policy,  # type: ignore[arg-type]
            batch_every_days=every,
            occupants=year.occupants,
            time_limit_s=args.batch_seconds,
        )
        seconds = time.perf_counter() - t0
        results[name] = res
        share = shortage_days(year, res.outcomes)
        rows.append(
            row(
                name,
                res,
                objective_value(res.outcomes, arrivals, year.groups),
                seconds,
                f"{share:.0%} of days more waiting than free",
            )
        )
    hints = [
        {
            o.youth_id: (o.group_id, o.placed_day)
            for o in res.outcomes
            if o.group_id is not None and o.placed_day is not None
        }
        for res in results.values()
    ]
    t0 = time.perf_counter()
    best = hindsight(
        year.groups,
        year.capacity,
        arrivals,
        horizon_days=year.horizon_days,
        occupants=year.occupants,
        time_limit_s=args.hindsight_seconds,
        workers=args.workers,
        seed=seed,
        hints=hints,
    )
    seconds = time.perf_counter() - t0
    gap = f"gap {best.gap:.1%}" if best.gap is not None else "no bound"
    rows.append(
        row(
            "hindsight",
            ReplayResult("hindsight", best.outcomes, False),
            objective_value(best.outcomes, arrivals, year.groups),
            seconds,
            f"{best.status}, {gap} (bound {best.bound:.0f})" if best.bound is not None else best.status,
        )
    )
    if args.count_first:
        # The same model with placements worth far more than any fit or wait: the most youths a
        # year could place with hindsight (best found), judged on the default objective too.
        t0 = time.perf_counter()
        most = hindsight(
            year.groups,
            year.capacity,
            arrivals,
            horizon_days=year.horizon_days,
            occupants=year.occupants,
            weights=Weights(placement_bonus=COUNT_FIRST_BONUS),
            wait_cost_per_day=default_wait_cost_per_day(Weights()),
            time_limit_s=args.hindsight_seconds,
            workers=args.workers,
            seed=seed,
            hints=hints,
        )
        seconds = time.perf_counter() - t0
        gap = f"gap {most.gap:.1%}" if most.gap is not None else "no bound"
        rows.append(
            row(
                "hindsight, count first",
                ReplayResult("hindsight", most.outcomes, False),
                objective_value(most.outcomes, arrivals, year.groups),
                seconds,
                f"{most.status}, {gap} on its own objective",
            )
        )
    for r in rows:
        r.update(seed=seed, places=year.places, groups=len(year.groups), occupants=len(year.occupants))
    return rows


COLUMNS: list[tuple[str, str, Callable[[float], str]]] = [
    ("placed", "placed", lambda v: f"{v:.0f}"),
    ("median_wait", "median wait d", lambda v: f"{v:.1f}"),
    ("p90_wait", "p90 wait d", lambda v: f"{v:.0f}"),
    ("mean_km", "mean km", lambda v: f"{v:.1f}"),
    ("share_above", "share above need", lambda v: f"{v:.1%}"),
    ("steps_above", "mean steps above need", lambda v: f"{v:.2f}"),
    ("objective", "objective", lambda v: f"{v:.0f}"),
    ("seconds", "wall s", lambda v: f"{v:.1f}"),
]


def batch_name(days: float) -> str:
    return {7.0: "weekly batch", 1.0: "daily batch"}.get(days, f"batch every {days:g} days")


def summary(rows: list[dict[str, object]]) -> list[str]:
    """Mean over the seeds, with the spread (min–max) when there are several."""
    lines = [
        "| policy | " + " | ".join(title for _, title, _ in COLUMNS) + " |",
        "|---|" + "---:|" * len(COLUMNS),
    ]
    names = list(dict.fromkeys(str(r["policy"]) for r in rows))  # in the order they ran
    for name in names:
        mine = [r for r in rows if r["policy"] == name]
        if not mine:
            continue
        cells = []
        for key, _title, fmt in COLUMNS:
            values = [float(r[key]) for r in mine]  # type: ignore[arg-type]
            cell = fmt(statistics.mean(values))
            if len(values) > 1:
                cell += f" ({fmt(min(values))}–{fmt(max(values))})"
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def per_seed(rows: list[dict[str, object]]) -> list[str]:
    lines = [
        "| seed | places | referrals | policy | " + " | ".join(t for _, t, _ in COLUMNS) + " | note |",
        "|---:|---:|---:|---|" + "---:|" * len(COLUMNS) + "---|",
    ]
    for r in rows:
        cells = " | ".join(fmt(float(r[key])) for key, _t, fmt in COLUMNS)  # type: ignore[arg-type]
        lines.append(f"| {r['seed']} | {r['places']} | {r['referrals']} | {r['policy']} | {cells} | {r['note']} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--horizon", type=int, default=365)
    parser.add_argument("--hindsight-seconds", type=float, default=150.0, help="per hindsight solve")
    parser.add_argument("--batch-seconds", type=float, default=2.0, help="time limit per weekly batch solve")
    parser.add_argument(
        "--batch-every", type=float, nargs="+", default=[7.0], help="batch intervals in days, one row each"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--count-first", action="store_true", help="also solve hindsight with placements first (a fourth row)"
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=None, help="also write the tables to this markdown file")
    args = parser.parse_args()
    points = twente_points(args.data)
    rows: list[dict[str, object]] = []
    for seed in args.seeds:
        rows.extend(run_seed(seed, args, points))
        print(f"seed {seed} done", flush=True)
    first = rows[0]
    places = sorted({int(r["places"]) for r in rows})  # type: ignore[call-overload]
    referrals = sorted({int(r["referrals"]) for r in rows})  # type: ignore[call-overload]
    head = [
        f"Shortage year: {first['groups']} groups, {places[0]}–{places[-1]} places, "
        f"{referrals[0]}–{referrals[-1]} referrals, {args.horizon} days, "
        f"seeds {', '.join(map(str, args.seeds))}; homes from "
        f"{'Twente address postcodes' if points else 'municipality centres'}; hindsight "
        f"{args.hindsight_seconds:.0f} s with {args.workers} CP-SAT workers. Waits in days, unplaced "
        "youths counted with their wait to the end of the year; distance and intensity over placed youths.",
        "",
    ]
    text = "\n".join([*head, *summary(rows), "", "Per seed:", "", *per_seed(rows)])
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
