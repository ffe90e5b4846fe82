"""Batch assignment of referrals to groups.

Objective (maximised; integer costs are the values below times ``SCALE`` = 10,000, rounded)
-------------------------------------------------------------------------------------------
    sum over placed youths i in group j of
        placement_bonus + priority_weight · priority_i + score_ij
An unplaced youth contributes 0, so leaving youth i out costs ``placement_bonus + priority_weight
· priority_i``.  With the defaults that is >= 2.0 while scores lie in [0, 1]: the solver never
drops a youth merely to give another a better-fitting place, and when places are short the more
urgent / longer-waiting youths get them first.  ``score_ij`` and ``priority_i`` are defined in
``solver.scoring``.

Constraints: each youth at most one group; a group takes at most ``free_places`` youths; a group
takes at most ``profile_c_limit - profile_c_present`` youths with risk profile C; a sibling set
(two or more youths sharing ``sibling_set``) is placed entirely in one group (``together="group"``)
or entirely at one location (``together="location"``), or not at all; every arc satisfies every
hard rule; a pinned youth (``Instance.pins``) is placed in its group and a forbidden pair
(``Instance.forbidden``) is never used.  Candidate arcs: for each youth the ``k`` nearest feasible groups (default 300).
"Optimal" means optimal over these candidate arcs.

Method
------
Exact, in ``solver.branch_and_bound`` (see its docstring): a min-cost-flow relaxation (OR-Tools
``SimpleMinCostFlow``) in which the capacities and the profile-C limit are arc capacities and each
sibling set is ONE supply node of k units whose arcs carry the set's whole value (per unit:
total / k) at a group (``together="group"``) or at a "pattern" (one group per member at one
location, ``together="location"``).  Every feasible assignment is a flow with the same objective,
so the flow optimum is an upper bound, and a flow in which no set is split is optimal.  Otherwise:
an incumbent from pinning split sets to their heaviest key, reduced-cost fixing against it, then
best-first branch and bound over the split sets ("S in key / location g" vs "not", "S placed" vs
"unplaced"), each node one re-solve of the flow.  At the time limit the best solution is returned
with ``optimal=False`` and the best open bound.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from solver import branch_and_bound as bnb
from solver.rank import N_RULES, GroupTable, evaluate, prepare_groups
from solver.schema import Assignment, Instance, Result, Status, Unplaced, Youth
from solver.scoring import RULE_NAMES, RULE_REASON, priority

SCALE = 10_000
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

REASON_NO_GROUP = "Geen enkele groep voldoet aan alle harde eisen"
REASON_TAKEN = "Passende plekken zijn vergeven aan jongeren met meer voorrang of een betere match"
REASON_SIBLINGS = "Geen plek waar de broers en zussen samen terechtkunnen"


@dataclass(eq=False)
class Candidates:
    """Candidate arcs (youth position, group position) with their score and integer value."""

    table: GroupTable
    youths: tuple[Youth, ...]
    youth: IntArray
    group: IntArray
    score: FloatArray
    distance_km: FloatArray
    value: IntArray
    first_fail_counts: IntArray  # shape (n_youths, N_RULES + 1), last column = feasible
    build_seconds: float = 0.0
    by_youth: list[IntArray] = field(default_factory=list)

    def __post_init__(self) -> None:
        order = np.argsort(self.youth, kind="stable")
        bounds = np.searchsorted(self.youth[order], np.arange(len(self.youths) + 1))
        self.by_youth = [order[bounds[i] : bounds[i + 1]] for i in range(len(self.youths))]


def build_candidates(instance: Instance, k: int = 300, table: GroupTable | None = None) -> Candidates:
    """At most ``k`` nearest feasible groups per youth, scored."""
    t0 = time.perf_counter()
    tab = table if table is not None else prepare_groups(instance.groups)
    w = instance.weights
    road: dict[int, dict[int, float]] = {}
    if instance.road_km:
        for (yid, gid), km in instance.road_km.items():
            road.setdefault(yid, {})[gid] = km
    forbidden: dict[int, set[int]] = {}
    for yid, gid in instance.forbidden:
        forbidden.setdefault(yid, set()).add(gid)
    ys, gs, sc, dk, vals = [], [], [], [], []
    counts = np.zeros((len(instance.youths), N_RULES + 1), dtype=np.int64)
    for pos, youth in enumerate(instance.youths):
        ev = evaluate(youth, tab, w, road.get(youth.id))
        counts[pos] = np.bincount(ev.first_fail(), minlength=N_RULES + 1)
        rows = ev.feasible_rows()
        # A pin leaves only the arc to its group (none if that pair breaks a hard rule); both
        # before the k-nearest cut, so a pinned group further away is still a candidate.
        if youth.id in instance.pins:
            rows = rows[tab.ids[ev.idx[rows]] == instance.pins[youth.id]]
        elif youth.id in forbidden:
            rows = rows[~np.isin(tab.ids[ev.idx[rows]], list(forbidden[youth.id]))]
        if len(rows) > k:
            rows = rows[np.argpartition(ev.distance_km[rows], k - 1)[:k]]
        bonus = w.placement_bonus + w.priority * priority(youth, w)
        ys.append(np.full(len(rows), pos, dtype=np.int64))
        gs.append(ev.idx[rows])
        sc.append(ev.score[rows])
        dk.append(ev.distance_km[rows])
        vals.append(np.rint((bonus + ev.score[rows]) * SCALE).astype(np.int64))

    def cat(parts: list[npt.NDArray[np.generic]], dtype: type) -> npt.NDArray[np.generic]:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    return Candidates(
        table=tab,
        youths=tuple(instance.youths),
        youth=cat(ys, np.int64),  # type: ignore[arg-type]
        group=cat(gs, np.int64),  # type: ignore[arg-type]
        score=cat(sc, np.float64),  # type: ignore[arg-type]
        distance_km=cat(dk, np.float64),  # type: ignore[arg-type]
        value=cat(vals, np.int64),  # type: ignore[arg-type]
        first_fail_counts=counts,
        build_seconds=time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------- flow relaxation


def _floor_flow(cands: Candidates) -> tuple[Status, IntArray, int]:
    """Min-cost flow over all candidate arcs with plain capacities (youth -> group -> sink, and
    youth -> sink for "unplaced"): status, candidate arc per youth (or -1), integer objective."""
    n, m, n_arcs = len(cands.youths), len(cands.table), len(cands.youth)
    sink = n + m
    tails = np.concatenate([cands.youth, n + np.arange(m), np.arange(n)]).astype(np.int64)
    heads = np.concatenate([n + cands.group, np.full(m + n, sink)]).astype(np.int64)
    caps = np.concatenate([np.ones(n_arcs), cands.table.free_places, np.ones(n)]).astype(np.int64)
    costs = np.concatenate([-cands.value, np.zeros(m + n)]).astype(np.int64)
    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n] = 1
    supplies[sink] = -n
    smcf.set_nodes_supplies(np.arange(sink + 1), supplies)
    chosen = np.full(n, -1, dtype=np.int64)
    if smcf.solve() != smcf.OPTIMAL:
        return "infeasible", chosen, 0
    used = np.flatnonzero(np.asarray(smcf.flows(arcs))[:n_arcs] > 0)
    chosen[cands.youth[used]] = used
    return "optimal", chosen, -int(smcf.optimal_cost())


# --------------------------------------------------------------------------- helpers


def _sibling_sets(youths: Sequence[Youth]) -> list[tuple[list[int], str]]:
    sets: dict[str, list[int]] = {}
    for pos, y in enumerate(youths):
        if y.sibling_set is not None:
            sets.setdefault(y.sibling_set, []).append(pos)
    return [(members, youths[members[0]].together) for members in sets.values() if len(members) > 1]


def _prune_for_siblings(cands: Candidates, sets: list[tuple[list[int], str]], limit: int) -> Candidates:
    """Drop arcs no feasible solution can use: a sibling member may only go to a group that has
    an arc for every member of its set, room for the whole set and profile-C room for all its C
    members (``together="group"``), or to a location where every member has an arc.  This is
    exact preprocessing; it makes the flow relaxation much tighter."""
    if not sets:
        return cands
    tab = cands.table
    keep = np.ones(len(cands.youth), dtype=bool)
    for members, mode in sets:
        arcs = [cands.by_youth[m] for m in members]
        if mode == "group":
            common = set(cands.group[arcs[0]].tolist()).intersection(*(cands.group[a].tolist() for a in arcs[1:]))
            n_c = sum(cands.youths[m].risk_profile == "C" for m in members)
            common = {
                g
                for g in common
                if tab.free_places[g] >= len(members) and (n_c == 0 or limit - tab.profile_c_present[g] >= n_c)
            }
            for a in arcs:
                keep[a] = np.isin(cands.group[a], list(common))
        else:
            locs = [set(tab.location_ids[cands.group[a]].tolist()) for a in arcs]
            common_l = locs[0].intersection(*locs[1:])
            for a in arcs:
                keep[a] = np.isin(tab.location_ids[cands.group[a]], list(common_l))
    if keep.all():
        return cands
    return Candidates(
        table=tab,
        youths=cands.youths,
        youth=cands.youth[keep],
        group=cands.group[keep],
        score=cands.score[keep],
        distance_km=cands.distance_km[keep],
        value=cands.value[keep],
        first_fail_counts=cands.first_fail_counts,
        build_seconds=cands.build_seconds,
    )


# --------------------------------------------------------------------------- public API


def _result(
    cands: Candidates,
    instance: Instance,
    sol: IntArray | None,
    status: Status,
    optimal: bool,
    bound: float | None,
    seconds: float,
    stats: dict[str, float],
) -> Result:
    if sol is None:
        sol = np.full(len(cands.youths), -1, dtype=np.int64)
    w = instance.weights
    assignments, unplaced = [], []
    objective = 0.0
    for pos, youth in enumerate(cands.youths):
        a = int(sol[pos])
        if a >= 0:
            score = float(cands.score[a])
            gid = int(cands.table.ids[cands.group[a]])
            assignments.append(Assignment(youth.id, gid, score))
            objective += w.placement_bonus + w.priority * priority(youth, w) + score
        else:
            unplaced.append(Unplaced(youth.id, _reasons(cands, pos)))
    return Result(
        status=status,
        objective=objective,
        optimal=optimal,
        bound=bound,
        solve_seconds=seconds,
        assignments=tuple(assignments),
        unplaced=tuple(unplaced),
        stats=stats,
    )


def _reasons(cands: Candidates, pos: int) -> tuple[str, ...]:
    counts = cands.first_fail_counts[pos]
    if counts[N_RULES] == 0:
        detail = sorted(
            ((int(counts[i]), name) for i, name in enumerate(RULE_NAMES) if counts[i]),
            reverse=True,
        )
        return (REASON_NO_GROUP, *tuple(f"{RULE_REASON[n]} ({c} groepen)" for c, n in detail))
    youth = cands.youths[pos]
    if youth.sibling_set is not None and sum(1 for y in cands.youths if y.sibling_set == youth.sibling_set) > 1:
        return (REASON_SIBLINGS, REASON_TAKEN)
    return (REASON_TAKEN,)


def assign(
    instance: Instance,
    k: int = 300,
    time_limit_s: float = 10.0,
    require_all: bool = False,
    candidates: Candidates | None = None,
) -> Result:
    """Maximise the batch objective (module docstring).  Never raises for infeasibility.

    At ``time_limit_s`` the best solution so far is returned with status "feasible",
    ``optimal=False`` and a proven upper ``bound``.

    ``require_all=True`` demands that every youth is placed; status "infeasible" if impossible.
    ``candidates`` may be passed to reuse arcs built by ``build_candidates`` (same ``k``).
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    cands = candidates if candidates is not None else build_candidates(instance, k)
    limit = instance.weights.profile_c_limit
    sets = _sibling_sets(cands.youths)
    cands = _prune_for_siblings(cands, sets, limit)
    tab = cands.table
    n = len(cands.youths)
    is_c = np.array([y.risk_profile == "C" for y in cands.youths], dtype=bool)
    # Who must be placed: everyone with require_all, else the pinned youths (their only arc is
    # the pinned group, see build_candidates), and so their whole sibling set.
    must = np.array([require_all or y.id in instance.pins for y in cands.youths], dtype=bool)
    for members, _mode in sets:
        if must[members].any():
            must[members] = True
    net = bnb.build_network(
        cands.youth,
        cands.group,
        cands.value,
        cands.by_youth,
        is_c,
        tab.free_places,
        limit - tab.profile_c_present,
        tab.location_ids,
        sets,
        must,
    )
    stats: dict[str, float] = {
        "arcs": float(len(cands.youth)),
        "network_arcs": float(len(net.tails)),
        "candidate_seconds": cands.build_seconds,
        "network_seconds": time.perf_counter() - t0,
    }
    out = bnb.BranchAndBound(
        net,
        cands.youth,
        cands.value,
        n,
        deadline,
        must,
        polish=lambda sol: _place_left_out_sets(cands, sets, limit, sol),
    ).solve()
    stats.update(out.stats)
    seconds = time.perf_counter() - t0
    if out.infeasible:
        return _result(cands, instance, None, "infeasible", False, None, seconds, stats)
    if out.optimal:
        res = _result(cands, instance, out.solution, "optimal", True, None, seconds, stats)
        return dataclasses.replace(res, bound=res.objective)
    # not proven: the integer bound plus the rounding slack of at most 0.5 / SCALE per youth
    bound = (out.bound + 0.5 * n) / SCALE
    if out.solution is None:
        if must.any():
            return _result(cands, instance, None, "timeout_no_solution", False, bound, seconds, stats)
        out.solution = np.full(n, -1, dtype=np.int64)
    return _result(cands, instance, out.solution, "feasible", False, bound, seconds, stats)


def min_cost_flow_floor(instance: Instance, k: int = 300, candidates: Candidates | None = None) -> Result:
    """The same instance WITHOUT side rules (no profile-C limit, no siblings): plain capacities.

    A timing floor for ``assign``; its objective is also an upper bound on ``assign``'s.
    """
    t0 = time.perf_counter()
    cands = candidates if candidates is not None else build_candidates(instance, k)
    status, chosen, ub = _floor_flow(cands)
    return _result(
        cands,
        instance,
        chosen,
        status,
        status == "optimal",
        ub / SCALE,
        time.perf_counter() - t0,
        {"arcs": float(len(cands.youth))},
    )


def first_come_first_served(instance: Instance, k: int = 300, candidates: Candidates | None = None) -> Result:
    """Baseline: longest-waiting youth first takes its best-scoring free feasible place.

    A sibling set moves when its longest-waiting member's turn comes, and only as a whole.
    Uses the same candidate arcs and the same rules as ``assign``.
    """
    t0 = time.perf_counter()
    cands = candidates if candidates is not None else build_candidates(instance, k)
    sol = _fcfs_solution(cands, instance.weights.profile_c_limit)
    return _result(cands, instance, sol, "feasible", False, None, time.perf_counter() - t0, {})


def _place_left_out_sets(cands: Candidates, sets: list[tuple[list[int], str]], limit: int, sol: IntArray) -> IntArray:
    """Put sibling sets that a solution leaves out back in, whole, where places remain."""
    out = [(members, mode) for members, mode in sets if (sol[members] < 0).all()]
    if not out:
        return sol
    tab = cands.table
    sol = sol.copy()
    placed = np.flatnonzero(sol >= 0)
    is_c = np.array([y.risk_profile == "C" for y in cands.youths], dtype=bool)
    load = np.bincount(cands.group[sol[placed]], minlength=len(tab)).astype(np.int64)
    placed_c = placed[is_c[placed]]
    c_load = np.bincount(cands.group[sol[placed_c]], minlength=len(tab)).astype(np.int64)
    c_room = limit - tab.profile_c_present
    for members, mode in out:
        arcs = _repair_one(cands, members, mode, load, c_load, c_room)
        if arcs is None:
            continue
        for mpos, a in zip(members, arcs, strict=True):
            sol[mpos] = a
            load[cands.group[a]] += 1
            c_load[cands.group[a]] += int(is_c[mpos])
    return sol


def _fcfs_solution(cands: Candidates, limit: int) -> IntArray:
    tab = cands.table
    n = len(cands.youths)
    load = np.zeros(len(tab), dtype=np.int64)
    c_load = np.zeros(len(tab), dtype=np.int64)
    c_room = limit - tab.profile_c_present
    sol = np.full(n, -1, dtype=np.int64)
    set_of = {
        y.sibling_set: (members, mode)
        for members, mode in _sibling_sets(cands.youths)
        for y in [cands.youths[members[0]]]
    }
    done: set[str] = set()
    order = sorted(range(n), key=lambda p: (-cands.youths[p].waiting_days, cands.youths[p].id))
    for pos in order:
        youth = cands.youths[pos]
        if youth.sibling_set in set_of:
            assert youth.sibling_set is not None
            if youth.sibling_set in done:
                continue
            done.add(youth.sibling_set)
            members, mode = set_of[youth.sibling_set]
            placed = _repair_one(cands, members, mode, load, c_load, c_room)
            if placed is not None:
                for mpos, a in zip(members, placed, strict=True):
                    sol[mpos] = a
                    load[cands.group[a]] += 1
                    c_load[cands.group[a]] += int(cands.youths[mpos].risk_profile == "C")
            continue
        is_c = youth.risk_profile == "C"
        arcs = cands.by_youth[pos]
        if len(arcs) == 0:
            continue
        g = cands.group[arcs]
        ok = load[g] < tab.free_places[g]
        if is_c:
            ok &= c_load[g] < c_room[g]
        if ok.any():
            best = arcs[ok][np.argmax(cands.score[arcs[ok]])]
            sol[pos] = best
            load[cands.group[best]] += 1
            c_load[cands.group[best]] += int(is_c)
    return sol


def _repair_one(
    cands: Candidates,
    members: list[int],
    mode: str,
    load: IntArray,
    c_load: IntArray,
    c_room: IntArray,
) -> list[int] | None:
    """Best-scoring way to place a whole sibling set given current loads (greedy per location)."""
    tab = cands.table
    best_val, best = -1.0, None
    by_key: dict[int, list[list[int]]] = {}
    for i, mpos in enumerate(members):
        for a in cands.by_youth[mpos]:
            g = int(cands.group[a])
            key = g if mode == "group" else int(tab.location_ids[g])
            lists = by_key.setdefault(key, [[] for _ in members])
            lists[i].append(int(a))
    for lists in by_key.values():
        if any(not lst for lst in lists):
            continue
        extra: dict[int, int] = {}
        extra_c: dict[int, int] = {}
        chosen: list[int] = []
        for mpos, lst in zip(members, lists, strict=True):
            is_c = int(cands.youths[mpos].risk_profile == "C")
            for a in sorted(lst, key=lambda a: -float(cands.score[a])):
                g = int(cands.group[a])
                if load[g] + extra.get(g, 0) < tab.free_places[g] and (
                    not is_c or c_load[g] + extra_c.get(g, 0) < c_room[g]
                ):
                    extra[g] = extra.get(g, 0) + 1
                    extra_c[g] = extra_c.get(g, 0) + is_c
                    chosen.append(a)
                    break
        if len(chosen) == len(members):
            val = float(cands.score[chosen].sum())
            if val > best_val:
                best_val, best = val, chosen
    return best
