"""The hindsight optimum: every referral of a period known in advance, placed by one CP-SAT model.

No placement policy that decides day by day can do better than the optimum on the same
objective, so the distance between a policy and it is the most that knowing the future could buy.
Within a time limit the schedule returned is the best found: a lower estimate of that optimum.

Model
-----
Data: arrivals (youth, arrival day a_i, stay d_i), groups with c_j places, youths placed outside
the referrals (``solver.replay.Occupant``: a group, from ``arrives_day`` to ``leaves_day``) and a
horizon H.  Days are whole numbers: arrival and leaving days and stays are rounded up (a placement
is never earlier or shorter than the data allow).  Referrals arriving on or after H are left out,
as in ``solver.replay``.

* candidate arcs: the feasible (youth, group) pairs and their match score come from the solver's
  own rules, ``solver.build_candidates``, on the groups with all their places free (a group fits
  in principle; *when* it has room is this model's job);
* variables: ``x_ij`` (youth i placed in group j, at most one per youth) and one start day ``s_i``
  per youth, in [a_i, H - 1] when placed and equal to H when not, so that ``s_i - a_i`` is the
  wait, censored at the horizon for a youth never placed; per arc an optional interval
  [s_i, s_i + min(d_i, H - a_i)) present iff ``x_ij`` (cutting a stay at H - a_i changes nothing:
  the interval still reaches past H, and no other placement starts there);
* capacity: per group one cumulative of its arcs' intervals (demand 1) and the occupants'
  profile, each constant stretch one fixed interval with demand min(occupants, c_j) (occupants
  above the places take nothing more from the referrals, as in the replay), at most c_j;
* objective (maximised): the batch objective of ``solver.assign`` spread over time,
      sum of x_ij * (placement_bonus + priority * urgency part_i + score_ij)
      - wait_cost_per_day * sum over all i of (s_i - a_i)
  where ``wait_cost_per_day`` is by default the rate at which the batch priority grows with the
  wait (``priority * 0.5 / waiting_days_full``, see ``solver.scoring.priority``): the batch puts a
  longer-waiting youth first at exactly this price.  A placement (>= 2.0) is worth more than any
  score difference (<= 1.0) or a year of waiting (0.25): "placed youths first, then the score,
  minus waiting", as in the batch.  (Per placement: over a year, better fits for many youths can
  outweigh one placement more, see docs/placement-quality.md.)

Independent parts (no youth of one can go to a group of another, e.g. crisis and long-stay care)
are solved as separate models, the time limit shared in proportion to their arcs: the same optimum,
smaller searches.

Not modelled: sibling sets (the generated years have none) and the profile-C limit beyond the
static ``profile_c_present`` rule; the replay's first come, first served ignores both as well.

Status, honestly: "optimal" only when CP-SAT proved every part optimal; otherwise "feasible", the
best schedule found, with the proven upper ``bound`` (sum of the parts' bounds) and the relative
``gap``.  Hints (e.g. the policies' own schedules) give CP-SAT a feasible start: per part the best
of them is used, and the schedule returned is at least as good as it on the objective (when
CP-SAT finds nothing in its time, the hinted schedule stands for that part, and no bound is
given).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ortools.sat.python import cp_model

from solver.assign import Candidates, build_candidates
from solver.replay import Arrival, Occupant, Outcome, steps_above_need
from solver.schema import Group, Instance, Weights

#: integer objective units per unit of the batch objective (finer than ``solver.assign``'s 10,000
#: so that the cost of one day's wait, 0.000685 with the defaults, keeps two significant digits)
SCALE = 100_000

HindsightStatus = Literal["optimal", "feasible", "infeasible", "unknown"]


@dataclass(frozen=True, slots=True)
class HindsightResult:
    status: HindsightStatus
    outcomes: tuple[Outcome, ...]  # one per arrival before the horizon, in the order given
    objective: float  # in batch-objective units (module docstring); 0.0 without a solution
    bound: float | None  # proven upper bound on the objective
    solve_seconds: float
    stats: Mapping[str, float] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Relative distance between the objective and the proven bound (0.0 when optimal)."""
        if self.bound is None or self.status not in ("optimal", "feasible"):
            return None
        return max(0.0, self.bound - self.objective) / max(abs(self.bound), 1e-9)

    @property
    def placed(self) -> int:
        return sum(1 for o in self.outcomes if o.group_id is not None)


def default_wait_cost_per_day(weights: Weights) -> float:
    """The per-day growth of the batch priority term (``solver.scoring.priority``)."""
    return weights.priority * 0.5 / weights.waiting_days_full


def objective_value(
    outcomes: Sequence[Outcome],
    arrivals: Sequence[Arrival],
    groups: Sequence[Group],
    *,
    weights: Weights | None = None,
    wait_cost_per_day: float | None = None,
) -> float:
    """The hindsight objective of any schedule (a replay's outcomes too), recomputed from the
    solver's scalar reference scoring, so that policies and the optimum compare on one scale."""
    from solver.scoring import explain

    w = weights if weights is not None else Weights()
    wait_cost = default_wait_cost_per_day(w) if wait_cost_per_day is None else wait_cost_per_day
    youth_of = {a.youth.id: a.youth for a in arrivals}
    group_of = {g.id: g for g in groups}
    total = 0.0
    for o in outcomes:
        total -= wait_cost * o.wait_days
        if o.group_id is not None:
            youth = youth_of[o.youth_id]
            score = explain(youth, group_of[o.group_id], w).score
            total += w.placement_bonus + _urgency_value(youth.urgency, w) + score
    return total


def _urgency_value(urgency: int, weights: Weights) -> float:
    return weights.priority * 0.5 * (urgency - 1) / 4.0


def _occupied_profile(occupants: Sequence[Occupant], group_id: int, cap: int) -> list[tuple[int, int, int]]:
    """(start, end, demand) stretches of the occupants of one group, demand clipped to ``cap``."""
    delta: dict[int, int] = {}
    for occ in occupants:
        if occ.group_id != group_id:
            continue
        start, end = math.ceil(occ.arrives_day), math.ceil(occ.leaves_day)
        if end > start:
            delta[start] = delta.get(start, 0) + 1
            delta[end] = delta.get(end, 0) - 1
    stretches: list[tuple[int, int, int]] = []
    level = 0
    days = sorted(delta)
    for day, nxt in itertools.pairwise(days):
        level += delta[day]
        if level > 0 and cap > 0:
            stretches.append((day, nxt, min(level, cap)))
    return stretches


def _components(cands: Candidates, n_youths: int) -> list[list[int]]:
    """Youth positions grouped into parts that share no group (union-find over the arcs)."""
    parent = list(range(n_youths))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[int, int] = {}
    for y, g in zip(cands.youth.tolist(), cands.group.tolist(), strict=True):
        other = owner.setdefault(g, y)
        a, b = find(y), find(other)
        if a != b:
            parent[b] = a
    parts: dict[int, list[int]] = {}
    for i in range(n_youths):
        if len(cands.by_youth[i]):
            parts.setdefault(find(i), []).append(i)
    return sorted(parts.values(), key=lambda p: (-len(p), p[0]))


@dataclass
class _Part:
    status: HindsightStatus
    objective: float
    bound: float
    choice: dict[int, tuple[int, int]]  # youth position -> (candidate arc, start day)


def _solve_part(
    cands: Candidates,
    part: list[int],
    arrive: list[int],
    stay: list[int],
    capacity: Mapping[int, int],
    occupants: Sequence[Occupant],
    horizon: int,
    weights: Weights,
    wait_units: int,
    hints: Sequence[Mapping[int, tuple[int, float]]],
    time_limit_s: float,
    workers: int,
    seed: int,
) -> _Part:
    table = cands.table
    model = cp_model.CpModel()
    per_group: dict[int, list[cp_model.IntervalVar]] = {}
    arcs: dict[int, list[tuple[int, cp_model.IntVar]]] = {}
    starts: dict[int, cp_model.IntVar] = {}
    placed: dict[int, cp_model.IntVar] = {}
    terms: list[cp_model.LinearExprT] = []
    constant = 0
    for i in part:
        youth = cands.youths[i]
        start = model.new_int_var(arrive[i], horizon, f"s{i}")
        size = min(stay[i], horizon - arrive[i])
        base = weights.placement_bonus + _urgency_value(youth.urgency, weights)
        xs: list[tuple[int, cp_model.IntVar]] = []
        for a in cands.by_youth[i].tolist():
            x = model.new_bool_var(f"x{i}_{a}")
            per_group.setdefault(int(cands.group[a]), []).append(
                model.new_optional_fixed_size_interval_var(start, size, x, f"iv{i}_{a}")
            )
            xs.append((a, x))
            terms.append(round((base + float(cands.score[a])) * SCALE) * x)
        is_placed = model.new_bool_var(f"placed{i}")
        model.add(sum(x for _, x in xs) == is_placed)
        model.add(start <= horizon - 1).only_enforce_if(is_placed)
        model.add(start == horizon).only_enforce_if(~is_placed)
        terms.append(-wait_units * start)
        constant += wait_units * arrive[i]
        starts[i], placed[i], arcs[i] = start, is_placed, xs
    for pos, intervals in per_group.items():
        gid = int(table.ids[pos])
        demands = [1] * len(intervals)
        for n, (lo, hi, demand) in enumerate(_occupied_profile(occupants, gid, capacity[gid])):
            intervals.append(model.new_fixed_size_interval_var(lo, hi - lo, f"occ{gid}_{n}"))
            demands.append(demand)
        model.add_cumulative(intervals, demands, capacity[gid])
    model.maximize(sum(terms) + constant)

    start_from = _best_hint(cands, part, arrive, horizon, weights, wait_units, hints)
    if start_from is not None:
        for i in part:
            chosen = start_from[1].get(i)
            for a, x in arcs[i]:
                model.add_hint(x, chosen is not None and chosen[0] == a)
            model.add_hint(placed[i], chosen is not None)
            model.add_hint(starts[i], horizon if chosen is None else chosen[1])

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = seed
    # Probing at presolve took most of the time on these models and found next to nothing
    # (measured on a shortage year: the first improvement on the hint came several times later).
    solver.parameters.cp_model_probing_level = 0
    solver.parameters.max_time_in_seconds = max(0.1, time_limit_s)
    code = solver.solve(model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if code != cp_model.INFEASIBLE and start_from is not None:
            # out of time before a first solution: the hinted schedule stands, with no bound
            return _Part("feasible", start_from[0], math.inf, dict(start_from[1]))
        status: HindsightStatus = "infeasible" if code == cp_model.INFEASIBLE else "unknown"
        return _Part(status, 0.0, math.inf, {})
    bound = solver.best_objective_bound / SCALE
    objective = solver.objective_value / SCALE
    choice: dict[int, tuple[int, int]] = {}
    for i in part:
        for a, x in arcs[i]:
            if solver.boolean_value(x):
                choice[i] = (a, int(solver.value(starts[i])))
    return _Part("optimal" if code == cp_model.OPTIMAL else "feasible", objective, bound, choice)


def _best_hint(
    cands: Candidates,
    part: list[int],
    arrive: list[int],
    horizon: int,
    weights: Weights,
    wait_units: int,
    hints: Sequence[Mapping[int, tuple[int, float]]],
) -> tuple[float, dict[int, tuple[int, int]]] | None:
    """The hint with the highest model objective on this part, as (objective, youth position ->
    (candidate arc, start day)); a hint that uses an arc or a day the model does not have is
    skipped."""
    best: tuple[float, dict[int, tuple[int, int]]] | None = None
    for hint in hints:
        value = 0
        choice: dict[int, tuple[int, int]] = {}
        for i in part:
            chosen = hint.get(cands.youths[i].id)
            if chosen is None:
                value -= wait_units * (horizon - arrive[i])
                continue
            arcs = [a for a in cands.by_youth[i].tolist() if int(cands.table.ids[cands.group[a]]) == chosen[0]]
            day = math.ceil(chosen[1])
            if not arcs or not arrive[i] <= day < horizon:
                break
            base = weights.placement_bonus + _urgency_value(cands.youths[i].urgency, weights)
            value += round((base + float(cands.score[arcs[0]])) * SCALE)
            value -= wait_units * (day - arrive[i])
            choice[i] = (arcs[0], day)
        else:
            if best is None or value / SCALE > best[0]:
                best = (value / SCALE, choice)
    return best


def hindsight(
    groups: Sequence[Group],
    capacity: Mapping[int, int],
    arrivals: Sequence[Arrival],
    *,
    horizon_days: float,
    occupants: Sequence[Occupant] = (),
    weights: Weights | None = None,
    wait_cost_per_day: float | None = None,
    time_limit_s: float = 60.0,
    workers: int = 1,
    seed: int = 0,
    hints: Sequence[Mapping[int, tuple[int, float]]] = (),
    k: int = 300,
) -> HindsightResult:
    """Solve the hindsight model (module docstring).  Never raises for infeasibility.

    ``hints``: schedules to start from, each youth id -> (group id, placed day) (a youth not in it
    is unplaced), e.g. the policies' replays; each independent part starts from the hint that
    scores best on it.  ``k``: at most this many nearest
    feasible groups per youth, as in ``solver.assign`` (all of a region's 150 groups fit in it).
    ``workers`` and ``seed`` go to CP-SAT; one worker with a fixed seed repeats its search, but a
    run that stops at ``time_limit_s`` may differ from run to run, as any timed search.
    """
    t0 = time.perf_counter()
    w = weights if weights is not None else Weights()
    if not (math.isfinite(horizon_days) and horizon_days > 0):
        raise ValueError("horizon_days must be a finite number > 0")
    horizon = math.ceil(horizon_days)
    inside = [a for a in arrivals if a.day < horizon_days]
    if len({a.youth.id for a in inside}) != len(inside):
        raise ValueError("duplicate youth id among the arrivals")
    if any(c < 0 for c in capacity.values()):
        raise ValueError("capacity must be >= 0")
    wait_cost = default_wait_cost_per_day(w) if wait_cost_per_day is None else wait_cost_per_day
    wait_units = round(wait_cost * SCALE)

    open_groups = tuple(
        dataclasses.replace(g, free_places=capacity.get(g.id, 0)) for g in groups if capacity.get(g.id, 0) > 0
    )
    youths = tuple(dataclasses.replace(a.youth, waiting_days=0.0) for a in inside)
    cands = build_candidates(Instance(groups=open_groups, youths=youths, weights=w), k)
    arrive = [math.ceil(a.day) for a in inside]
    stay = [max(1, math.ceil(a.stay_days)) for a in inside]
    parts = _components(cands, len(inside))
    total_arcs = max(1, len(cands.youth))
    deadline = t0 + time_limit_s
    # youths without any feasible group wait to the horizon whatever happens
    objective = -wait_cost * sum(horizon_days - a.day for i, a in enumerate(inside) if not len(cands.by_youth[i]))
    bound = objective
    status: HindsightStatus = "optimal"
    choice: dict[int, tuple[int, int]] = {}
    arcs_left = total_arcs
    for part in parts:
        part_arcs = sum(len(cands.by_youth[i]) for i in part)
        # this part's share of the time that is left
        share = (deadline - time.perf_counter()) * part_arcs / max(1, arcs_left)
        arcs_left -= part_arcs
        res = _solve_part(
            cands,
            part,
            arrive,
            stay,
            capacity,
            occupants,
            horizon,
            w,
            wait_units,
            hints,
            share,
            workers,
            seed,
        )
        if res.status in ("infeasible", "unknown"):
            status = res.status
            break
        if res.status == "feasible":
            status = "feasible"
        objective += res.objective
        bound += res.bound
        choice.update(res.choice)

    if status in ("infeasible", "unknown"):
        outcomes = tuple(Outcome(a.youth.id, None, a.day, None, horizon_days - a.day, None, None) for a in inside)
        return HindsightResult(status, outcomes, 0.0, None, time.perf_counter() - t0, {"parts": float(len(parts))})

    result: list[Outcome] = []
    for i, arrival in enumerate(inside):
        youth = arrival.youth
        if i not in choice:
            result.append(Outcome(youth.id, None, arrival.day, None, horizon_days - arrival.day, None, None))
            continue
        arc, day = choice[i]
        group = cands.table.groups[int(cands.group[arc])]
        result.append(
            Outcome(
                youth_id=youth.id,
                group_id=group.id,
                arrival_day=arrival.day,
                placed_day=float(day),
                wait_days=day - arrival.day,
                distance_km=float(cands.distance_km[arc]),
                intensity_steps_above_need=steps_above_need(youth, group),
            )
        )
    stats = {
        "arcs": float(len(cands.youth)),
        "bound_parts_missing": float(not math.isfinite(bound)),
        "parts": float(len(parts)),
        "largest_part_youths": float(len(parts[0])) if parts else 0.0,
        "candidate_seconds": cands.build_seconds,
    }
    seconds = time.perf_counter() - t0
    return HindsightResult(status, tuple(result), objective, bound if math.isfinite(bound) else None, seconds, stats)


__all__ = [
    "SCALE",
    "HindsightResult",
    "HindsightStatus",
    "default_wait_cost_per_day",
    "hindsight",
    "objective_value",
]
