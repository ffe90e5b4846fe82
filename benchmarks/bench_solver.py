"""Benchmarks of the plekwijzer solver; prints markdown tables.

    .venv/bin/python benchmarks/bench_solver.py [--points ../shared/data/4pp.csv] [--quick]

Fixed seeds.  Coordinates: Dutch 4-digit postcode centroids (rows with soort "Adres") from the
CSV given (default ``../shared/data/4pp.csv`` relative to the repository root); uniform points in
a box around the Netherlands when the file is absent.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from pathlib import Path

import numpy as np

from solver import (
    assign,
    build_candidates,
    first_come_first_served,
    min_cost_flow_floor,
    prepare_groups,
    rank,
    validate,
)
from solver.synthetic import make_instance, make_youths

ROOT = Path(__file__).resolve().parent.parent


def load_points(path: Path) -> list[tuple[float, float]] | None:
    if not path.exists():
        return None
    points = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("soort") == "Adres" and row.get("latitude") and row.get("longitude"):
                points.append((float(row["latitude"]), float(row["longitude"])))
    return points or None


def bench_rank(points: list[tuple[float, float]] | None, runs: int) -> list[str]:
    lines = [
        "| groups | runs | median ms | p99 ms | CPU median ms | CPU p99 ms | mean feasible |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n_groups in (2_000, 10_000):
        inst = make_instance(0, n_groups, seed=11, points=points)
        table = prepare_groups(inst.groups)
        youths = make_youths(runs, seed=12, points=points)
        for y in youths[:20]:  # warm-up
            rank(y, table, inst.weights, limit=10)
        times, cpu, feas = [], [], []
        for y in youths:
            c0 = time.thread_time_ns()
            t0 = time.perf_counter()
            r = rank(y, table, inst.weights, limit=10)
            times.append(time.perf_counter() - t0)
            cpu.append((time.thread_time_ns() - c0) * 1e-9)
            feas.append(r.feasible_count)
        ms, cms = np.array(times) * 1e3, np.array(cpu) * 1e3
        lines.append(
            f"| {n_groups:,} | {runs} | {np.median(ms):.3f} | {np.percentile(ms, 99):.3f} "
            f"| {np.median(cms):.3f} | {np.percentile(cms, 99):.3f} "
            f"| {statistics.mean(feas):.0f} |"
        )
    return lines


def bench_batch(
    points: list[tuple[float, float]] | None, sizes: list[tuple[int, int]], time_limit: float
) -> tuple[list[str], list[str]]:
    timing = [
        "| youths × groups | siblings | arcs | candidates s | floor s | assign s (median) | ratio "
        "| status | split sets | core arcs | B&B nodes | flow solves | gap (bound − obj) |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    quality = [
        "| youths × groups | siblings | method | placed | mean km | mean letters above need | objective |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for n_y, n_g in sizes:
        for sib in (0.0, 0.1):
            inst = make_instance(n_y, n_g, seed=21, points=points, sibling_fraction=sib, mean_free=0.6)
            cands = build_candidates(inst, k=300)
            repeats = 5 if n_y * n_g <= 1_000_000 else 1
            floors, walls = [], []
            for _ in range(repeats):
                floor = min_cost_flow_floor(inst, candidates=cands)
                floors.append(floor.solve_seconds)
                t0 = time.perf_counter()
                res = assign(inst, time_limit_s=time_limit, candidates=cands)
                walls.append(time.perf_counter() - t0)
            floor_s, wall = statistics.median(floors), statistics.median(walls)
            fcfs = first_come_first_served(inst, candidates=cands)
            rep, rep_b = validate(inst, res), validate(inst, fcfs)
            assert rep.ok and rep_b.ok, (rep.violations[:3], rep_b.violations[:3])
            gap = (res.bound - res.objective) if res.bound is not None else float("nan")
            timing.append(
                f"| {n_y:,} × {n_g:,} | {sib:.0%} | {len(cands.youth):,} "
                f"| {cands.build_seconds:.2f} | {floor_s:.3f} | {wall:.3f} "
                f"| {wall / floor_s:.1f}× | {res.status} "
                f"| {res.stats.get('split_sets', 0):.0f} | {res.stats.get('core_arcs', 0):,.0f} "
                f"| {res.stats.get('nodes', 0):.0f} | {res.stats.get('flow_solves', 1):.0f} "
                f"| {gap:.4f} |"
            )
            for name, r, rp in (("optimiser", res, rep), ("first come first served", fcfs, rep_b)):
                quality.append(
                    f"| {n_y:,} × {n_g:,} | {sib:.0%} | {name} | {rp.placed} "
                    f"| {rp.mean_distance_km:.1f} | {rp.mean_intensity_steps:.2f} "
                    f"| {r.objective:.2f} |"
                )
            print(timing[-1], flush=True)
    return timing, quality


def bench_seeds(points: list[tuple[float, float]] | None, time_limit: float) -> list[str]:
    """300 × 2,000 with 10% siblings over ten seeds: how robust is the sub-second proof?"""
    lines = [
        "| seed | split sets | B&B nodes | flow solves | assign s | status |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for seed in range(20, 30):
        inst = make_instance(300, 2_000, seed=seed, points=points, sibling_fraction=0.1, mean_free=0.6)
        cands = build_candidates(inst, k=300)
        walls = []
        for _ in range(3):
            t0 = time.perf_counter()
            res = assign(inst, time_limit_s=time_limit, candidates=cands)
            walls.append(time.perf_counter() - t0)
        assert validate(inst, res).ok
        lines.append(
            f"| {seed} | {res.stats.get('split_sets', 0):.0f} | {res.stats.get('nodes', 0):.0f} "
            f"| {res.stats.get('flow_solves', 1):.0f} | {statistics.median(walls):.3f} "
            f"| {res.status} |"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", default=str(ROOT / ".." / "shared" / "data" / "4pp.csv"))
    ap.add_argument("--quick", action="store_true", help="only the small batch size")
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--time-limit", type=float, default=60.0)
    args = ap.parse_args()
    points = load_points(Path(args.points))
    print(f"points: {len(points) if points else 'random (file absent)'}")
    print(f"load average at start: {os.getloadavg()}")
    print("\n### Ranking one referral (in-process)\n")
    print("\n".join(bench_rank(points, args.runs)))
    sizes = [(300, 2_000)] if args.quick else [(300, 2_000), (3_000, 10_000)]
    seeds = bench_seeds(points, args.time_limit)
    timing, quality = bench_batch(points, sizes, args.time_limit)
    print("\n### Batch assignment vs min-cost-flow floor (K = 300)\n")
    print("\n".join(timing))
    print("\n### 300 × 2,000, 10% siblings, ten seeds (median of 3 runs)\n")
    print("\n".join(seeds))
    print("\n### Quality vs first come first served\n")
    print("\n".join(quality))
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
