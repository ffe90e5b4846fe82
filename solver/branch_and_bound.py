"""Exact batch assignment with sibling sets: a min-cost-flow relaxation inside branch and bound.

Objective and constraints are those of ``solver.assign`` (integer values ``Candidates.value``,
in units of 1/``SCALE``).  This module proves optimality over the candidate arcs.

Relaxation (a network, solved with OR-Tools ``SimpleMinCostFlow``)
-----------------------------------------------------------------
* A youth outside sibling sets: supply 1; arc to its group node (to the group's profile-C node for
  a profile-C youth; that node -> group has capacity ``limit - profile_c_present``), arc to the
  sink ("unplaced", value 0).  Group -> sink has capacity ``free_places``.
* A set with ``together="group"`` of size k (k_C profile-C members): two supply nodes, k - k_C
  and k_C units.  For every group g where every member has a candidate arc (and that has room for
  the set), an arc from each part to g (resp. g's profile-C node) whose per-unit value is the
  set's total value at g divided by k; plus arcs to the sink.  Costs are multiplied by the lcm of
  the set sizes, so the division is exact.
* A set with ``together="location"``: one supply node (k units) -> a node per common location L
  (capacity k) -> a node per (L, member) (capacity 1) -> the member's groups at L (each with the
  member's value); plus an arc to the sink.

Every feasible assignment is a flow with exactly its objective, so the flow optimum is an upper
bound; a flow in which every set sends all its units through one key (a group, a location, or the
sink) IS a feasible assignment, hence optimal.  Otherwise branch on a split set S:
"S entirely in its heaviest key g" vs "S never in g"; or, when S is placed in one key and partly
unplaced, "S placed" vs "S unplaced".  Children re-solve the flow with the set's arcs to excluded
keys given capacity 0 (the network object is reused).  Best-first by bound; the incumbent comes from
pinning every split set to its heaviest key and re-solving (a dive); nodes whose bound cannot beat
the incumbent by one integer unit are pruned.

Before branching, reduced-cost fixing shrinks the network: node potentials of the root flow
(Bellman-Ford on the residual graph) give each arc a reduced cost rc >= 0, and any solution using
an arc is worth at most UB - rc, so arcs with rc > UB - incumbent are dropped for good.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Num = IntArray | int
UNPLACED = -1  # entry-arc key of "the set is not placed"


@dataclass(eq=False)
class SetSpec:
    members: list[int]  # youth positions
    keys: IntArray  # group positions (mode group) or location ids (mode location)
    # structures "group" and "pattern": member_arcs[i, j] = candidate arc of member i in key j
    member_arcs: IntArray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    # branching groups keys: a location id per pattern; the key itself otherwise
    branch_of: dict[int, int] = field(default_factory=dict)
    structure: str = "group"  # "group", "pattern" (location set as patterns), "member"


@dataclass(eq=False)
class Network:
    """The full relaxation network; arc arrays plus what each arc means."""

    tails: IntArray
    heads: IntArray
    caps: IntArray
    costs: IntArray
    supplies: IntArray
    scale: int  # costs are -value * scale
    cand_of_arc: IntArray  # candidate arc assigned when this net arc carries flow, or -1
    entry_set: IntArray  # per net arc: the set it leaves from, or -1
    entry_key: IntArray  # per net arc: key (group / location / UNPLACED); -2 if not an entry
    sets: list[SetSpec]
    group_key_pos: list[dict[int, int]]  # per group-mode set: group pos -> column in member_arcs


@dataclass(eq=False)
class Flow:
    ok: bool
    ub: int  # scaled value (value * scale) of the flow optimum
    flows: IntArray  # per net arc (0 for arcs not in the solved subnetwork)


def build_network(
    youth_of_arc: IntArray,
    group_of_arc: IntArray,
    value: IntArray,
    arcs_by_youth: list[IntArray],
    is_c: BoolArray,
    free_places: IntArray,
    c_room: IntArray,
    location_ids: IntArray,
    sets: list[tuple[list[int], str]],
    must_place: BoolArray,
) -> Network:
    """``must_place`` per youth: no "unplaced" arc (a set has none when any member must)."""
    n, m = len(is_c), len(free_places)
    in_set = np.zeros(n, dtype=bool)
    for members, _ in sets:
        in_set[members] = True
    scale = 1
    patterns: dict[int, tuple[IntArray, IntArray]] = {}
    for s_idx, (members, mode) in enumerate(sets):
        if mode == "location":
            pat = _location_patterns(members, arcs_by_youth, group_of_arc, is_c, free_places, c_room, location_ids)
            if pat is not None:
                patterns[s_idx] = pat
        if mode == "group" or s_idx in patterns:
            scale = math.lcm(scale, len(members))
    # node numbering: youths 0..n-1, groups n..n+m-1, profile-C nodes n+m..n+2m-1, then set nodes
    g_node = n + np.arange(m)
    c_node = n + m + np.arange(m)
    next_node = n + 2 * m
    sink = -1  # fixed at the end
    t_parts: list[IntArray] = []
    h_parts: list[IntArray] = []
    cap_parts: list[IntArray] = []
    cost_parts: list[IntArray] = []
    cand_parts: list[IntArray] = []
    eset_parts: list[IntArray] = []
    ekey_parts: list[IntArray] = []

    def add(
        t: IntArray, h: IntArray, cap: Num, cost: Num, cand: Num, eset: Num | None = None, ekey: Num | None = None
    ) -> None:
        k = len(t)
        t_parts.append(np.asarray(t, dtype=np.int64))
        h_parts.append(np.asarray(h, dtype=np.int64))
        cap_parts.append(np.broadcast_to(np.asarray(cap, dtype=np.int64), (k,)))
        cost_parts.append(np.broadcast_to(np.asarray(cost, dtype=np.int64), (k,)))
        cand_parts.append(np.broadcast_to(np.asarray(cand, dtype=np.int64), (k,)))
        eset_parts.append(
            np.full(k, -1, dtype=np.int64) if eset is None else np.broadcast_to(np.asarray(eset, dtype=np.int64), (k,))
        )
        ekey_parts.append(
            np.full(k, -2, dtype=np.int64) if ekey is None else np.broadcast_to(np.asarray(ekey, dtype=np.int64), (k,))
        )

    # single youths
    single = ~in_set[youth_of_arc]
    ya, ga = youth_of_arc[single], group_of_arc[single]
    add(ya, np.where(is_c[ya], c_node[ga], g_node[ga]), 1, -value[single] * scale, np.flatnonzero(single))
    supplies_list: list[tuple[int, int]] = []
    singles = np.flatnonzero(~in_set)
    may_skip = singles[~must_place[singles]]
    add(may_skip, np.full(len(may_skip), sink), 1, 0, -1)
    # sets
    specs: list[SetSpec] = []
    key_pos: list[dict[int, int]] = []
    for s_idx, (members, mode) in enumerate(sets):
        k = len(members)
        require_all = bool(must_place[members].any())
        if mode == "group":
            maps = [
                dict(zip(group_of_arc[arcs_by_youth[p]].tolist(), arcs_by_youth[p].tolist(), strict=True))
                for p in members
            ]
            common = sorted(set(maps[0]).intersection(*maps[1:]))
            keys = np.array(common, dtype=np.int64)
            marcs = np.array([[mp[g] for g in common] for mp in maps], dtype=np.int64).reshape(k, len(common))
            specs.append(SetSpec(members, keys, marcs, {g: g for g in common}, "group"))
            key_pos.append({g: j for j, g in enumerate(common)})
            total = value[marcs].sum(axis=0) if len(common) else np.zeros(0, dtype=np.int64)
            per_unit = total * (scale // k)
            n_c = int(is_c[members].sum())
            for part_size, heads in ((k - n_c, g_node[keys]), (n_c, c_node[keys])):
                if part_size == 0:
                    continue
                node = next_node
                next_node += 1
                supplies_list.append((node, part_size))
                add(np.full(len(keys), node), heads, part_size, -per_unit, -1, s_idx, keys)
                if not require_all:
                    add(np.array([node]), np.array([sink]), part_size, 0, -1, s_idx, UNPLACED)
        elif s_idx in patterns:
            marcs, locs_of = patterns[s_idx]
            n_pat = marcs.shape[1]
            keys = np.arange(n_pat, dtype=np.int64)
            specs.append(SetSpec(members, keys, marcs, dict(enumerate(locs_of.tolist())), "pattern"))
            key_pos.append({j: j for j in range(n_pat)})
            node = next_node
            next_node += 1
            supplies_list.append((node, k))
            pat_nodes = next_node + np.arange(n_pat)
            next_node += n_pat
            per_unit = value[marcs].sum(axis=0) * (scale // k)
            add(np.full(n_pat, node), pat_nodes, k, -per_unit, -1, s_idx, keys)
            if not require_all:
                add(np.array([node]), np.array([sink]), k, 0, -1, s_idx, UNPLACED)
            for i, p in enumerate(members):
                g = group_of_arc[marcs[i]]
                add(pat_nodes, c_node[g] if is_c[p] else g_node[g], 1, 0, -1)
        else:
            arcs = [arcs_by_youth[p] for p in members]
            locs = [set(location_ids[group_of_arc[a]].tolist()) for a in arcs]
            common_l = sorted(locs[0].intersection(*locs[1:]))
            keys = np.array(common_l, dtype=np.int64)
            specs.append(SetSpec(members, keys, branch_of={x: x for x in common_l}, structure="member"))
            key_pos.append({})
            node = next_node
            next_node += 1
            supplies_list.append((node, k))
            loc_nodes = next_node + np.arange(len(keys))
            next_node += len(keys)
            add(np.full(len(keys), node), loc_nodes, k, 0, -1, s_idx, keys)
            if not require_all:
                add(np.array([node]), np.array([sink]), k, 0, -1, s_idx, UNPLACED)
            for i, p in enumerate(members):
                a = arcs[i]
                la = location_ids[group_of_arc[a]]
                member_nodes = next_node + np.arange(len(keys))
                next_node += len(keys)
                add(loc_nodes, member_nodes, 1, 0, -1)
                pos = np.searchsorted(keys, la)
                inside = (
                    (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == la)
                    if len(keys)
                    else np.zeros(len(a), dtype=bool)
                )
                a_in, pos_in = a[inside], pos[inside]
                g_in = group_of_arc[a_in]
                heads = c_node[g_in] if is_c[p] else g_node[g_in]
                add(member_nodes[pos_in], heads, 1, -value[a_in] * scale, a_in)
    # profile-C nodes -> group, group -> sink
    add(c_node, g_node, np.maximum(c_room, 0), 0, -1)
    add(g_node, np.full(m, sink), free_places, 0, -1)
    sink = next_node
    tails = np.concatenate(t_parts)
    heads = np.concatenate(h_parts)
    heads = np.where(heads < 0, sink, heads)
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[singles] = 1
    for node, amount in supplies_list:
        supplies[node] = amount
    supplies[sink] = -int(supplies[:sink].sum())
    return Network(
        tails=tails,
        heads=heads,
        caps=np.concatenate(cap_parts).astype(np.int64),
        costs=np.concatenate(cost_parts).astype(np.int64),
        supplies=supplies,
        scale=scale,
        cand_of_arc=np.concatenate(cand_parts).astype(np.int64),
        entry_set=np.concatenate(eset_parts).astype(np.int64),
        entry_key=np.concatenate(ekey_parts).astype(np.int64),
        sets=specs,
        group_key_pos=key_pos,
    )


MAX_PATTERNS = 4_000  # per location set; beyond that the weaker per-member structure is used


def _location_patterns(
    members: list[int],
    arcs_by_youth: list[IntArray],
    group_of_arc: IntArray,
    is_c: BoolArray,
    free_places: IntArray,
    c_room: IntArray,
    location_ids: IntArray,
) -> tuple[IntArray, IntArray] | None:
    """Every way to put the whole set at one location (one group per member, within the groups'
    places and profile-C room): (k x P candidate arcs, location per pattern), or None if there
    are more than ``MAX_PATTERNS``."""
    per_loc: dict[int, list[list[int]]] = {}
    for i, p in enumerate(members):
        for a in arcs_by_youth[p].tolist():
            loc = int(location_ids[group_of_arc[a]])
            per_loc.setdefault(loc, [[] for _ in members])[i].append(a)
    cols: list[tuple[int, ...]] = []
    locs: list[int] = []
    for loc in sorted(per_loc):
        lists = per_loc[loc]
        if any(not lst for lst in lists):
            continue
        if math.prod(len(lst) for lst in lists) + len(cols) > MAX_PATTERNS:
            return None
        for combo in itertools.product(*lists):
            use: dict[int, int] = {}
            use_c: dict[int, int] = {}
            for i, a in enumerate(combo):
                g = int(group_of_arc[a])
                use[g] = use.get(g, 0) + 1
                if is_c[members[i]]:
                    use_c[g] = use_c.get(g, 0) + 1
            if all(n <= free_places[g] for g, n in use.items()) and all(n <= c_room[g] for g, n in use_c.items()):
                cols.append(combo)
                locs.append(loc)
    marcs = np.array(cols, dtype=np.int64).reshape(len(cols), len(members)).T
    return np.ascontiguousarray(marcs), np.array(locs, dtype=np.int64)


class Solver:
    """A ``SimpleMinCostFlow`` over the active arcs of a network, reused across B&B nodes: a node
    only changes the capacities of set entry arcs."""

    def __init__(self, net: Network, active: BoolArray | None = None) -> None:
        self.net = net
        self.active = np.flatnonzero(active) if active is not None else np.arange(len(net.tails))
        self.smcf = min_cost_flow.SimpleMinCostFlow()
        self.arcs = self.smcf.add_arcs_with_capacity_and_unit_cost(
            net.tails[self.active],
            net.heads[self.active],
            net.caps[self.active],
            net.costs[self.active],
        )
        self.smcf.set_nodes_supplies(np.arange(len(net.supplies)), net.supplies)
        entry = net.entry_set[self.active] >= 0
        self.entry_local = np.flatnonzero(entry)  # positions in self.active / self.arcs
        self.entry_set = net.entry_set[self.active][entry]
        self.entry_key = net.entry_key[self.active][entry]
        self.entry_cap = net.caps[self.active][entry]
        self.entry_arcs = np.asarray(self.arcs)[entry]
        self.solves = 0

    def entry_caps(self, constraints: dict[int, tuple[frozenset[int] | None, bool]]) -> IntArray:
        caps = self.entry_cap.copy()
        for s, (allowed, unplaced_ok) in constraints.items():
            sel = self.entry_set == s
            keys = self.entry_key[sel]
            ok = np.ones(len(keys), dtype=bool)
            if allowed is not None:
                ok = np.isin(keys, np.fromiter(allowed, dtype=np.int64, count=len(allowed)))
            ok |= keys == UNPLACED
            if not unplaced_ok:
                ok &= keys != UNPLACED
            caps[np.flatnonzero(sel)[~ok]] = 0
        return caps

    def solve(self, constraints: dict[int, tuple[frozenset[int] | None, bool]]) -> Flow:
        self.smcf.set_arc_capacities(self.entry_arcs, self.entry_caps(constraints))
        self.solves += 1
        status = self.smcf.solve()
        if status != self.smcf.OPTIMAL:
            return Flow(False, 0, np.zeros(0, dtype=np.int64))
        flows = np.zeros(len(self.net.tails), dtype=np.int64)
        flows[self.active] = self.smcf.flows(self.arcs)
        return Flow(True, -int(self.smcf.optimal_cost()), flows)


def set_loads(net: Network, flow: Flow) -> list[dict[int, int]]:
    """Per set: key -> units routed through it (UNPLACED for the sink)."""
    used = np.flatnonzero((net.entry_set >= 0) & (flow.flows > 0))
    loads: list[dict[int, int]] = [{} for _ in net.sets]
    for s, key, f in zip(
        net.entry_set[used].tolist(), net.entry_key[used].tolist(), flow.flows[used].tolist(), strict=True
    ):
        loads[s][key] = loads[s].get(key, 0) + f
    return loads


def split_sets(loads: list[dict[int, int]]) -> list[int]:
    return [s for s, ld in enumerate(loads) if len(ld) > 1]


def potentials(
    tails: IntArray, heads: IntArray, caps: IntArray, costs: IntArray, flows: IntArray, n_nodes: int, deadline: float
) -> IntArray | None:
    """Shortest-path distances from a virtual root over the residual graph (vectorised
    Bellman-Ford).  Optimal flow => no negative cycle => converges.  None past the deadline."""
    fwd = flows < caps
    bwd = flows > 0
    rt = np.concatenate([tails[fwd], heads[bwd]])
    rh = np.concatenate([heads[fwd], tails[bwd]])
    rc = np.concatenate([costs[fwd], -costs[bwd]])
    order = np.argsort(rh, kind="stable")
    rt, rh, rc = rt[order], rh[order], rc[order]
    heads_u, starts = np.unique(rh, return_index=True)
    dist = np.zeros(n_nodes, dtype=np.int64)
    for _ in range(n_nodes + 1):
        mins = np.minimum.reduceat(dist[rt] + rc, starts)
        better = mins < dist[heads_u]
        if not better.any():
            return dist
        dist[heads_u[better]] = mins[better]
        if time.perf_counter() > deadline:
            return None
    return None


Constraints = dict[int, tuple[frozenset[int] | None, bool]]
"""Per set: the keys it may use (None: all of them) and whether it may be left unplaced."""


@dataclass(order=True)
class _Node:
    neg_bound: int
    seq: int
    constraints: Constraints = field(compare=False)
    loads: list[dict[int, int]] = field(compare=False)


@dataclass(eq=False)
class Outcome:
    solution: IntArray | None  # candidate arc per youth
    value: int | None  # integer objective (units of 1/SCALE)
    bound: int  # proven upper bound, integer units
    optimal: bool
    infeasible: bool
    stats: dict[str, float]


def _heaviest(load: dict[int, int]) -> int:
    placed = [(f, key) for key, f in load.items() if key != UNPLACED]
    return max(placed)[1]


CORE_MIN = 300  # smallest core: reduced cost <= 0.03 objective units
CORE_START = 2_000  # first core: arcs with reduced cost <= 0.2 objective units (x SCALE 10,000)


class BranchAndBound:
    """One exact solve of a network (module docstring).  A class because every step (dive, search,
    core rounds) improves the same incumbent and counts into the same statistics.

    ``polish`` may improve a feasible solution (it must return a feasible one)."""

    def __init__(
        self,
        net: Network,
        youth_of_arc: IntArray,
        value: IntArray,
        n_youths: int,
        deadline: float,
        must_place: BoolArray,
        polish: Callable[[IntArray], IntArray] | None = None,
    ) -> None:
        self.net, self.scale = net, net.scale
        self.youth_of_arc, self.value, self.n_youths = youth_of_arc, value, n_youths
        self.deadline, self.polish = deadline, polish
        # per sibling set: may it stay unplaced (no member must be placed)?
        self.set_may_skip = [not bool(must_place[spec.members].any()) for spec in net.sets]
        self.best_sol: IntArray | None = None
        self.best_val = -1
        self.nodes = 0
        self.solvers: list[Solver] = []  # every network solved, for the flow_solves count
        self.stats: dict[str, float] = {}

    def solve(self) -> Outcome:
        t0 = time.perf_counter()
        root = self._solver().solve({})
        self.stats["root_flow_seconds"] = time.perf_counter() - t0
        if not root.ok:
            return Outcome(None, None, 0, False, True, self.stats)
        loads = set_loads(self.net, root)
        self.stats["split_sets"] = float(len(split_sets(loads)))
        if not self.stats["split_sets"]:
            sol = self._solution(root, loads)
            return Outcome(sol, self._value(sol), root.ub // self.scale, True, False, self.stats)
        net = self.net
        pot = potentials(net.tails, net.heads, net.caps, net.costs, root.flows, len(net.supplies), self.deadline)
        self.stats["potentials_seconds"] = time.perf_counter() - t0 - self.stats["root_flow_seconds"]
        if pot is None:  # no reduced costs in time: no cores, search the full network
            finished, open_bound = self._search(self.solvers[0], root)
        else:
            finished, open_bound = self._solve_cores(root, net.costs + pot[net.tails] - pot[net.heads])
        self.stats["nodes"] = float(self.nodes)
        self.stats["flow_solves"] = float(sum(sv.solves for sv in self.solvers))
        return self._outcome(finished, open_bound)

    def _solver(self, active: BoolArray | None = None) -> Solver:
        sv = Solver(self.net, active)
        self.solvers.append(sv)
        return sv

    def _value(self, sol: IntArray) -> int:
        return int(self.value[sol[sol >= 0]].sum())

    def _solution(self, flow: Flow, loads: list[dict[int, int]]) -> IntArray:
        """Candidate arc per youth of a flow in which no set is split."""
        net = self.net
        chosen = np.full(self.n_youths, -1, dtype=np.int64)
        direct = np.flatnonzero((flow.flows > 0) & (net.cand_of_arc >= 0))
        arcs = net.cand_of_arc[direct]
        chosen[self.youth_of_arc[arcs]] = arcs
        for s, spec in enumerate(net.sets):
            if spec.structure == "member" or not loads[s]:
                continue
            (key,) = loads[s]
            if key != UNPLACED:
                chosen[spec.members] = spec.member_arcs[:, net.group_key_pos[s][key]]
        return chosen

    def _consider(self, flow: Flow, loads: list[dict[int, int]]) -> None:
        sol = self._solution(flow, loads)
        if self.polish is not None:
            sol = self.polish(sol)
        val = self._value(sol)
        if val > self.best_val:
            self.best_sol, self.best_val = sol, val

    def _dive(self, flow: Flow, loads: list[dict[int, int]], cons: Constraints, sv: Solver) -> None:
        """Pin every split set to its heaviest key and re-solve; a set still split after that
        is forced placed there, then left out."""
        cons = dict(cons)
        tries: dict[int, int] = {}
        for _ in range(6):
            if time.perf_counter() > self.deadline:
                return
            spl = split_sets(loads)
            if not spl:
                self._consider(flow, loads)
                return
            for s in spl:
                _allowed, unplaced_ok = cons.get(s, (None, self.set_may_skip[s]))
                step = tries.get(s, 0)
                tries[s] = step + 1
                placed = [k for k in loads[s] if k != UNPLACED]
                if step == 0 and placed:
                    cons[s] = (frozenset({_heaviest(loads[s])}), unplaced_ok)
                elif step == 1 and placed and unplaced_ok:
                    cons[s] = (frozenset({_heaviest(loads[s])}), False)
                elif unplaced_ok:
                    cons[s] = (frozenset(), True)
                else:
                    return
            flow = sv.solve(cons)
            if not flow.ok:
                return
            loads = set_loads(self.net, flow)

    def _children(self, node: _Node) -> list[Constraints]:
        """Branch on the split set with the most units outside its heaviest key: by location
        (pattern sets), else by key, else placed vs unplaced."""
        loads = node.loads
        s = max(split_sets(loads), key=lambda i: (sum(loads[i].values()) - max(loads[i].values()), -i))
        allowed, unplaced_ok = node.constraints.get(s, (None, self.set_may_skip[s]))
        spec = self.net.sets[s]
        placed = {k: f for k, f in loads[s].items() if k != UNPLACED}
        by_branch: dict[int, int] = {}
        for k, f in placed.items():
            by_branch[spec.branch_of[k]] = by_branch.get(spec.branch_of[k], 0) + f
        current = frozenset(spec.keys.tolist()) if allowed is None else allowed
        pairs: list[tuple[frozenset[int] | None, bool]]
        if len(by_branch) >= 2:
            b = max((f, key) for key, f in by_branch.items())[1]
            inside = frozenset(k for k in current if spec.branch_of[k] == b)
            pairs = [(inside, unplaced_ok), (current - inside, unplaced_ok)]
        elif len(placed) >= 2:
            g = _heaviest(loads[s])
            pairs = [(frozenset({g}), unplaced_ok), (current - {g}, unplaced_ok)]
        else:
            pairs = [(allowed, False), (frozenset(), True)]
        return [{**node.constraints, s: pair} for pair in pairs]

    def _search(self, sv: Solver, first: Flow) -> tuple[bool, int]:
        """Best-first B&B on the solver's network.  Returns (finished, best open bound)."""
        scale = self.scale
        first_loads = set_loads(self.net, first)
        if not split_sets(first_loads):
            self._consider(first, first_loads)
            return True, first.ub
        self._dive(first, first_loads, {}, sv)
        heap: list[_Node] = [_Node(-first.ub, 0, {}, first_loads)]
        seq = 1
        while heap:
            node = heap[0]
            if -node.neg_bound // scale <= self.best_val:
                return True, self.best_val * scale
            if time.perf_counter() > self.deadline:
                return False, -node.neg_bound
            heapq.heappop(heap)
            self.nodes += 1
            for cons in self._children(node):
                flow = sv.solve(cons)
                if not flow.ok or flow.ub // scale <= self.best_val:
                    continue
                child_loads = set_loads(self.net, flow)
                if not split_sets(child_loads):
                    self._consider(flow, child_loads)
                    continue
                if self.nodes % 8 == 1:
                    self._dive(flow, child_loads, cons, sv)
                    if flow.ub // scale <= self.best_val:
                        continue
                heapq.heappush(heap, _Node(-flow.ub, seq, cons, child_loads))
                seq += 1
        return True, self.best_val * scale

    def _solve_cores(self, root: Flow, rc: IntArray) -> tuple[bool, int]:
        """B&B on core problems: arcs with reduced cost ``rc`` <= delta (plus every "unplaced" and
        structural arc), delta doubling until the incumbent proves optimality.  A solution using
        an arc of reduced cost rc is worth at most UB - rc, so once the incumbent is >= UB - delta,
        the core's optimum is the global optimum.  Returns (finished, best open bound)."""
        net, scale = self.net, self.scale
        always = (net.cand_of_arc < 0) & ((net.entry_set < 0) | (net.entry_key == UNPLACED))
        always &= net.costs == 0
        delta = CORE_START * scale
        # an incumbent first (a dive on the starting core): when it is already within delta of
        # the bound, the smallest core that still proves optimality is used instead
        sv = self._solver(always | (rc <= delta))
        first = sv.solve({})
        if first.ok:
            self._dive(first, set_loads(net, first), {}, sv)
        if self.best_sol is not None:
            delta = min(delta, max(root.ub - self.best_val * scale, CORE_MIN * scale))
        rounds = 0
        while True:
            rounds += 1
            self.stats["core_rounds"] = float(rounds)
            active = always | (rc <= delta)
            self.stats["core_arcs"] = float(active.sum())
            sv = self._solver(active)
            first = sv.solve({})
            finished, core_bound = self._search(sv, first) if first.ok else (True, -1)
            need = root.ub - self.best_val * scale if self.best_sol is not None else 2 * delta + 1
            if need <= delta or self.best_val == root.ub // scale:
                return True, self.best_val * scale
            if not finished or time.perf_counter() > self.deadline:
                # the core bound covers only core solutions; others are below UB - delta
                return False, root.ub if not finished else max(core_bound, root.ub - delta)
            delta = max(need, 2 * delta)

    def _outcome(self, finished: bool, open_bound: int) -> Outcome:
        best_sol, best_val, stats = self.best_sol, self.best_val, self.stats
        if best_sol is None:
            if finished:
                return Outcome(None, None, 0, False, True, stats)
            return Outcome(None, None, open_bound // self.scale, False, False, stats)
        if finished:
            return Outcome(best_sol, best_val, best_val, True, False, stats)
        return Outcome(best_sol, best_val, max(open_bound // self.scale, best_val), False, False, stats)
