"""Score components and hard rules, in scalar form (the reference implementation).

``solver.rank`` evaluates the same rules and formulas vectorised over a group table; the tests
check both against each other.  Scalar code is also what ``explain`` and ``validation`` use, so a
bug in the fast path cannot hide itself.

Score components, each in [0, 1]
--------------------------------
Let youth *y* and group *g*.

* need fit       ``need = |needs(y) ∩ expertise(g)| / |needs(y)|``; 1 when *y* has no needs.
* intensity fit  ``intensity = max(0, 1 - p · (idx(g.intensity) - idx(y.required_intensity)))``
                 with ``p = Weights.intensity_step_penalty`` (0.15) and idx(A)=0 … idx(S)=18.
                 Only groups at least as heavy as needed are feasible, so the step count is >= 0:
                 an exact fit scores 1 and every letter heavier than necessary costs ``p``
                 ("as light as possible, as heavy as necessary").
* distance       ``distance = exp(-d / s)`` with *d* the great-circle distance in km
                 (``solver.geo.great_circle_km``), or the road distance when a table gives one,
                 and ``s = Weights.distance_scale_km`` (25 km: 25 km away scores 0.37).
* care form      ``care_form = 1 / (1 + k)`` where *k* is the 0-based position of the group's care
                 form in ``y.acceptable_care_forms`` (first choice 1, second 0.5, third 0.33 …).
* priority       (batch only) ``priority = 0.5 · (urgency - 1) / 4
                 + 0.5 · min(waiting_days, W) / W`` with ``W = Weights.waiting_days_full`` (365).

Match score = ``w_need·need + w_intensity·intensity + w_distance·distance
+ w_care_form·care_form`` (weights from ``Weights``; the defaults sum to 1).

Hard rules, in the fixed order used for the exclusion counts
------------------------------------------------------------
A group that fails several rules is counted once, under the first failing rule of this order.
``free_places`` is last, so "passes every rule except free places" is the same as "first failing
rule is free_places" (the "expected free soon" list).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from solver.geo import great_circle_km
from solver.schema import (
    INTENSITY_INDEX,
    SECURE_CARE_FORM,
    Group,
    Weights,
    Youth,
)
from solver.vocabulary import OWN_NORM_CARE_FORMS

#: (rule name, Dutch reason shown to coordinators), in evaluation order.
RULES: tuple[tuple[str, str], ...] = (
    ("excluded", "Aanbieder of groep is voor deze jongere uitgesloten"),
    ("care_form", "Zorgvorm past niet bij de verwijzing"),
    ("secure_care", "Jeugdzorgplus vraagt een machtiging gesloten jeugdhulp"),
    ("intensity", "Verblijfsintensiteit van de groep past niet bij wat nodig is"),
    ("age", "Leeftijd valt buiten de leeftijdsgrens van de groep"),
    ("gender", "Groep is niet bedoeld voor dit geslacht"),
    ("risk_profile", "Groep neemt dit risicoprofiel niet op"),
    ("profile_c_limit", "Groep heeft al het maximum aantal jongeren met profiel C"),
    ("max_distance", "Groep ligt verder weg dan de maximale afstand"),
    ("free_places", "Groep heeft geen vrije plek"),
)
RULE_NAMES: tuple[str, ...] = tuple(name for name, _ in RULES)
RULE_REASON: dict[str, str] = dict(RULES)
RULE_INDEX: dict[str, int] = {name: i for i, name in enumerate(RULE_NAMES)}

COMPONENTS: tuple[str, ...] = ("need", "intensity", "distance", "care_form")


def distance_km(youth: Youth, group: Group, road_km: Mapping[tuple[int, int], float] | None = None) -> float:
    """Road distance when the table has the pair, great-circle distance otherwise."""
    if road_km is not None:
        road = road_km.get((youth.id, group.id))
        if road is not None:
            return float(road)
    return great_circle_km(youth.lat, youth.lon, group.lat, group.lon)


def failed_rules(youth: Youth, group: Group, weights: Weights, dist_km: float) -> list[str]:
    """Names of EVERY hard rule the pair fails, in rule order."""
    fails: list[str] = []
    if group.provider_id in youth.excluded_provider_ids or group.id in youth.excluded_group_ids:
        fails.append("excluded")
    if group.care_form not in youth.acceptable_care_forms:
        fails.append("care_form")
    if group.care_form == SECURE_CARE_FORM and not youth.secure_authorisation:
        fails.append("secure_care")
    g_int = INTENSITY_INDEX[group.intensity]
    g_max = INTENSITY_INDEX[group.max_intensity]
    need = INTENSITY_INDEX[youth.required_intensity]
    if group.care_form not in OWN_NORM_CARE_FORMS and (g_int < need or need > g_max or g_int > g_max):
        fails.append("intensity")
    if not group.age_min <= youth.age <= group.age_max:
        fails.append("age")
    if not gender_allowed(group.gender_policy, youth.gender):
        fails.append("gender")
    if youth.risk_profile not in group.risk_profiles:
        fails.append("risk_profile")
    if youth.risk_profile == "C" and group.profile_c_present >= weights.profile_c_limit:
        fails.append("profile_c_limit")
    if youth.max_distance_km is not None and dist_km > youth.max_distance_km:
        fails.append("max_distance")
    if group.free_places <= 0:
        fails.append("free_places")
    return fails


def gender_allowed(policy: str, gender: str) -> bool:
    if policy == "gemengd":
        return True
    if policy == "jongens":
        return gender == "m"
    return policy == "meisjes" and gender == "v"


def need_fit(needs: frozenset[str], expertise: frozenset[str]) -> float:
    if not needs:
        return 1.0
    return len(needs & expertise) / len(needs)


def intensity_fit(group_intensity: str, required: str, step_penalty: float) -> float:
    steps = INTENSITY_INDEX[group_intensity] - INTENSITY_INDEX[required]
    return max(0.0, 1.0 - step_penalty * max(steps, 0))


def distance_fit(dist_km: float, scale_km: float) -> float:
    return math.exp(-dist_km / scale_km)


def care_form_fit(care_form: str, acceptable: tuple[str, ...]) -> float:
    if care_form not in acceptable:
        return 0.0
    return 1.0 / (1.0 + acceptable.index(care_form))


def priority(youth: Youth, weights: Weights) -> float:
    waited = min(youth.waiting_days, weights.waiting_days_full) / weights.waiting_days_full
    return 0.5 * (youth.urgency - 1) / 4.0 + 0.5 * waited


def components(youth: Youth, group: Group, weights: Weights, dist_km: float) -> dict[str, float]:
    return {
        "need": need_fit(youth.needs, group.expertise),
        "intensity": 1.0
        if group.care_form in OWN_NORM_CARE_FORMS
        else intensity_fit(group.intensity, youth.required_intensity, weights.intensity_step_penalty),
        "distance": distance_fit(dist_km, weights.distance_scale_km),
        "care_form": care_form_fit(group.care_form, youth.acceptable_care_forms),
    }


def total_score(comp: Mapping[str, float], weights: Weights) -> float:
    return (
        weights.need * comp["need"]
        + weights.intensity * comp["intensity"]
        + weights.distance * comp["distance"]
        + weights.care_form_preference * comp["care_form"]
    )


def placement_value(youth: Youth, score: float, weights: Weights) -> float:
    """Contribution of one placement to the batch objective (unplaced contributes 0)."""
    return weights.placement_bonus + weights.priority * priority(youth, weights) + score


@dataclass(frozen=True, slots=True)
class RuleFailure:
    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a group does or does not fit a youth: every component and every failed rule."""

    youth_id: int
    group_id: int
    feasible: bool
    failed: tuple[RuleFailure, ...]
    components: dict[str, float]
    score: float
    distance_km: float


def explain(
    youth: Youth,
    group: Group,
    weights: Weights | None = None,
    road_km: Mapping[tuple[int, int], float] | None = None,
) -> Explanation:
    """Explain one youth–group pair (scalar reference code, independent of the ranking)."""
    w = weights or Weights()
    dist = distance_km(youth, group, road_km)
    fails = failed_rules(youth, group, w, dist)
    comp = components(youth, group, w, dist)
    return Explanation(
        youth_id=youth.id,
        group_id=group.id,
        feasible=not fails,
        failed=tuple(RuleFailure(name, RULE_REASON[name]) for name in fails),
        components=comp,
        score=total_score(comp, w),
        distance_km=dist,
    )
