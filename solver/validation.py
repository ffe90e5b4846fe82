"""Solver-independent check of a batch solution.

Recomputes, from the instance alone and with the scalar reference rules of ``solver.scoring``:
every hard rule of every assignment, group capacities, the coordinator's pins and forbidden
pairs, the profile-C limit, sibling sets, that each youth appears at most once and only known
ids are used, and the objective (same formula as ``solver.assign``).  It shares no code with the
vectorised ranking or the flow model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from solver.schema import INTENSITY_INDEX, Assignment, Instance, Result
from solver.scoring import (
    components,
    distance_km,
    failed_rules,
    placement_value,
    total_score,
)
from solver.vocabulary import OWN_NORM_CARE_FORMS


@dataclass(frozen=True, slots=True)
class ValidationReport:
    ok: bool
    violations: tuple[str, ...]
    objective: float
    placed: int
    mean_distance_km: float
    mean_intensity_steps: float


def validate(
    instance: Instance,
    solution: Result | Iterable[Assignment] | Iterable[tuple[int, int]],
    score_tolerance: float = 1e-6,
) -> ValidationReport:
    """Check a solution (a ``Result``, ``Assignment``s or (youth_id, group_id) pairs)."""
    pairs: list[tuple[int, int, float | None]] = []
    if isinstance(solution, Result):
        pairs = [(a.youth_id, a.group_id, a.score) for a in solution.assignments]
    else:
        for item in solution:
            if isinstance(item, Assignment):
                pairs.append((item.youth_id, item.group_id, item.score))
            else:
                pairs.append((int(item[0]), int(item[1]), None))
    w = instance.weights
    youths = {y.id: y for y in instance.youths}
    groups = {g.id: g for g in instance.groups}
    violations: list[str] = []
    placed_in: dict[int, int] = {}
    load: Counter[int] = Counter()
    c_load: Counter[int] = Counter()
    objective = 0.0
    dist_sum = 0.0
    steps_sum = 0
    for yid, gid, claimed in pairs:
        youth = youths.get(yid)
        group = groups.get(gid)
        if youth is None or group is None:
            violations.append(f"unknown id in assignment ({yid}, {gid})")
            continue
        if yid in placed_in:
            violations.append(f"youth {yid} assigned more than once")
            continue
        placed_in[yid] = gid
        load[gid] += 1
        if youth.risk_profile == "C":
            c_load[gid] += 1
        dist = distance_km(youth, group, instance.road_km)
        for rule in failed_rules(youth, group, w, dist):
            violations.append(f"youth {yid} in group {gid} breaks rule {rule}")
        score = total_score(components(youth, group, w, dist), w)
        if claimed is not None and abs(claimed - score) > score_tolerance:
            violations.append(f"youth {yid}: claimed score {claimed} != recomputed {score}")
        objective += placement_value(youth, score, w)
        dist_sum += dist
        if group.care_form not in OWN_NORM_CARE_FORMS:
            steps_sum += INTENSITY_INDEX[group.intensity] - INTENSITY_INDEX[youth.required_intensity]

    for gid, count in load.items():
        group = groups[gid]
        if count > group.free_places:
            violations.append(f"group {gid}: {count} placed, {group.free_places} free")
        if c_load[gid] and c_load[gid] + group.profile_c_present > w.profile_c_limit:
            violations.append(
                f"group {gid}: {c_load[gid]} + {group.profile_c_present} profile-C youths "
                f"exceeds limit {w.profile_c_limit}"
            )

    # The coordinator's review: a pinned youth in its group, no forbidden pair used.
    for yid, gid in sorted(instance.pins.items()):
        if placed_in.get(yid) != gid:
            violations.append(f"youth {yid} pinned to group {gid} but placed in {placed_in.get(yid)}")
    for yid, gid in sorted(instance.forbidden):
        if placed_in.get(yid) == gid:
            violations.append(f"youth {yid} placed in forbidden group {gid}")

    for key, members in instance.sibling_sets().items():
        where = [placed_in.get(y.id) for y in members]
        if all(g is None for g in where):
            continue
        if any(g is None for g in where):
            violations.append(f"sibling set {key} partly placed")
            continue
        if members[0].together == "location":
            locs = {groups[g].location_id for g in where if g is not None}
            if len(locs) > 1:
                violations.append(f"sibling set {key} split over locations {sorted(locs)}")
        elif len(set(where)) > 1:
            used = sorted({g for g in where if g is not None})
            violations.append(f"sibling set {key} split over groups {used}")

    n = len(placed_in)
    return ValidationReport(
        ok=not violations,
        violations=tuple(violations),
        objective=objective,
        placed=n,
        mean_distance_km=dist_sum / n if n else 0.0,
        mean_intensity_steps=steps_sum / n if n else 0.0,
    )
