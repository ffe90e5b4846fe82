"""Small builders shared by the solver tests."""

from __future__ import annotations

import dataclasses
import itertools
import random
from typing import Any

from solver import Group, Instance, Weights, Youth
from solver.scoring import distance_km, explain, placement_value

ENSCHEDE = (52.218, 6.891)


def group(**kw: Any) -> Group:
    base: dict[str, Any] = dict(
        id=1,
        provider_id=1,
        location_id=1,
        care_form="woongroep",
        intensity="C",
        max_intensity="L",
        age_min=0,
        age_max=23,
        gender_policy="gemengd",
        risk_profiles=frozenset({"A", "B", "C"}),
        expertise=frozenset({"trauma"}),
        free_places=1,
        lat=ENSCHEDE[0],
        lon=ENSCHEDE[1],
        profile_c_present=0,
    )
    base.update(kw)
    return Group(**base)


def youth(**kw: Any) -> Youth:
    base: dict[str, Any] = dict(
        id=1,
        age=14,
        gender="m",
        lat=ENSCHEDE[0],
        lon=ENSCHEDE[1],
        acceptable_care_forms=("woongroep",),
        required_intensity="C",
        risk_profile="A",
        needs=frozenset({"trauma"}),
    )
    base.update(kw)
    return Youth(**base)


def random_small_instance(seed: int, n_youths: int = 5, n_groups: int = 4) -> Instance:
    """Dense little instances: most pairs feasible, tight capacity, siblings and profile C."""
    rnd = random.Random(seed)
    groups = [
        group(
            id=g + 1,
            provider_id=g + 1,
            location_id=rnd.randint(1, 2),
            care_form=rnd.choice(["woongroep", "gezinshuis"]),
            intensity=rnd.choice("BCDE"),
            age_min=rnd.choice([0, 8]),
            gender_policy=rnd.choice(["gemengd", "gemengd", "jongens"]),
            expertise=frozenset(rnd.sample(["trauma", "autisme", "adhd", "lvb"], 2)),
            free_places=rnd.choice([0, 1, 1, 2, 3]),
            lat=52.0 + rnd.random() * 0.5,
            lon=6.5 + rnd.random() * 0.5,
            profile_c_present=rnd.choice([0, 0, 1]),
        )
        for g in range(n_groups)
    ]
    youths = []
    for y in range(n_youths):
        sib = None
        together = "group"
        if seed % 3 == 0 and y < 2:
            sib, together = "s1", "group"
        elif seed % 3 == 1 and y < 2:
            sib, together = "s1", "location"
        youths.append(
            youth(
                id=y + 1,
                age=rnd.randint(6, 17),
                gender=rnd.choice("mvm"),
                lat=52.0 + rnd.random() * 0.5,
                lon=6.5 + rnd.random() * 0.5,
                acceptable_care_forms=tuple(rnd.sample(["woongroep", "gezinshuis"], 2)),
                required_intensity=rnd.choice("ABC"),
                risk_profile=rnd.choice("ABCC"),
                needs=frozenset(rnd.sample(["trauma", "autisme", "adhd", "lvb"], 2)),
                urgency=rnd.randint(1, 5),
                waiting_days=float(rnd.randint(0, 300)),
                sibling_set=sib,
                together=together,
            )
        )
    return Instance(groups=tuple(groups), youths=tuple(youths), weights=Weights(profile_c_limit=1))


def brute_force(instance: Instance) -> float:
    """Best objective by enumerating every assignment (None or a group per youth)."""
    w = instance.weights
    ys, gs = instance.youths, instance.groups
    value: dict[tuple[int, int], float] = {}
    for y in ys:
        for g in gs:
            e = explain(y, g, w, instance.road_km)
            if e.feasible:
                value[y.id, g.id] = placement_value(y, e.score, w)
    sets = instance.sibling_sets()
    best = 0.0
    for combo in itertools.product([None, *gs], repeat=len(ys)):
        total = 0.0
        load: dict[int, int] = {}
        c_load: dict[int, int] = {}
        ok = True
        for y, g in zip(ys, combo, strict=True):
            if g is None:
                continue
            v = value.get((y.id, g.id))
            if v is None:
                ok = False
                break
            total += v
            load[g.id] = load.get(g.id, 0) + 1
            if y.risk_profile == "C":
                c_load[g.id] = c_load.get(g.id, 0) + 1
        if not ok:
            continue
        if any(load[g.id] > g.free_places for g in gs if g.id in load):
            continue
        if any(c_load[g.id] + g.profile_c_present > w.profile_c_limit for g in gs if g.id in c_load):
            continue
        where = {y.id: g for y, g in zip(ys, combo, strict=True)}
        for members in sets.values():
            placed = [where[m.id] for m in members]
            if all(p is None for p in placed):
                continue
            if any(p is None for p in placed):
                ok = False
            elif members[0].together == "location":
                ok = ok and len({p.location_id for p in placed if p is not None}) == 1
            else:
                ok = ok and len({p.id for p in placed if p is not None}) == 1
        if ok and total > best:
            best = total
    return best


__all__ = [
    "brute_force",
    "distance_km",
    "group",
    "random_sibling_instance",
    "random_small_instance",
    "youth",
]


def random_sibling_instance(seed: int, n_youths: int = 6, n_groups: int = 4) -> Instance:
    """Two sibling sets (sizes 2-3, random 'together' modes, profile-C members allowed) among
    ``n_youths``; small groups on two or three locations, so sets compete for places."""
    rnd = random.Random(seed)
    base = random_small_instance(seed, n_youths, n_groups)
    groups = tuple(
        dataclasses.replace(g, location_id=rnd.randint(1, 3), free_places=rnd.choice([0, 1, 2, 2, 3]))
        for g in base.groups
    )
    sizes = [rnd.choice([2, 3]), 2]
    youths = list(base.youths)
    pos = 0
    for s, size in enumerate(sizes):
        mode = rnd.choice(["group", "location"])
        for _ in range(size):
            if pos >= len(youths):
                break
            youths[pos] = dataclasses.replace(youths[pos], sibling_set=f"s{s}", together=mode)
            pos += 1
    return Instance(groups=groups, youths=tuple(youths), weights=Weights(profile_c_limit=rnd.choice([1, 2])))


def specialist_example() -> tuple[list[Group], list[Any]]:
    """Three groups and three referrals where a day-by-day policy lets a flexible youth take the
    one place a later specialist needs (tests/solver/test_replay.py, test_hindsight.py).
    Group 1: woongroep near Enschede, 2: woongroep 30 km north, 3: the only gezinshuis, next to 2.
    Youth 1 (day 20, 33 days) and youth 2 (day 31, 33 days) take either care form; youth 3
    (day 34, 12 days) only a gezinshuis."""
    from solver.replay import Arrival

    groups = [
        group(id=1, lat=52.265, lon=6.925),
        group(id=2, lat=52.482, lon=6.887),
        group(id=3, care_form="gezinshuis", lat=52.5, lon=6.92),
    ]
    both = ("gezinshuis", "woongroep")
    arrivals = [
        Arrival(youth(id=1, age=13, acceptable_care_forms=both, urgency=4), day=20.0, stay_days=33.0),
        Arrival(youth(id=2, age=17, acceptable_care_forms=both), day=31.0, stay_days=33.0),
        Arrival(youth(id=3, acceptable_care_forms=("gezinshuis",), urgency=4), day=34.0, stay_days=12.0),
    ]
    return groups, arrivals
