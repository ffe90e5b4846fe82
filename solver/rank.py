"""Vectorised ranking of groups for one referral.

``prepare_groups`` turns the groups into column arrays once (expertise as multi-word uint64
bitmasks, coordinates as unit vectors, rule inputs as small integer codes).  ``rank`` then
evaluates every hard rule and every score component for all groups with a handful of numpy
operations: on 10,000 groups that takes a fraction of a millisecond.

Each rule produces one bit in a failure mask; the first failing rule is the lowest set bit, read
from a lookup table, so exclusion counts come from a single ``bincount``.  The formulas are those
documented in ``solver.scoring``; tests compare this module with the scalar reference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from solver.schema import (
    CARE_FORM_INDEX,
    GENDER_POLICIES,
    INTENSITY_INDEX,
    RISK_PROFILES,
    SECURE_CARE_FORM,
    Group,
    Weights,
    Youth,
)
from solver.scoring import EARTH_RADIUS_KM, RULE_INDEX, RULE_NAMES

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

N_RULES = len(RULE_NAMES)
FEASIBLE_CODE = N_RULES  # "first failing rule" code of a feasible group
_BIT = {name: np.uint16(1 << i) for i, name in enumerate(RULE_NAMES)}


def _first_fail_lut() -> npt.NDArray[np.int8]:
    lut = np.full(1 << N_RULES, FEASIBLE_CODE, dtype=np.int8)
    for mask in range(1, 1 << N_RULES):
        lut[mask] = (mask & -mask).bit_length() - 1
    return lut


_FIRST_FAIL = _first_fail_lut()
# allowed gender policies per gender, as a bitmask over the policy codes of GENDER_POLICIES
_GENDER_OK = {"m": np.uint8(0b011), "v": np.uint8(0b101), "x": np.uint8(0b001)}


class TagVocabulary:
    """Maps need/expertise tags to bit positions; grows as needed across words of 64 bits."""

    def __init__(self, tags: Sequence[str]) -> None:
        self.index: dict[str, int] = {}
        for tag in sorted(set(tags)):
            self.index[tag] = len(self.index)
        self.words = max(1, (len(self.index) + 63) // 64)

    def encode(self, tags: frozenset[str]) -> tuple[npt.NDArray[np.uint64], int]:
        """Bitmask of the known tags and the number of tags unknown to the vocabulary."""
        words = np.zeros(self.words, dtype=np.uint64)
        unknown = 0
        for tag in tags:
            pos = self.index.get(tag)
            if pos is None:
                unknown += 1
            else:
                words[pos >> 6] |= np.uint64(1) << np.uint64(pos & 63)
        return words, unknown


@dataclass(frozen=True, eq=False)
class GroupTable:
    """Column arrays of the groups; build once with ``prepare_groups``, reuse for every youth."""

    groups: tuple[Group, ...]
    ids: IntArray
    provider_ids: IntArray
    location_ids: IntArray
    care_form: npt.NDArray[np.int8]
    intensity: npt.NDArray[np.int8]
    max_intensity: npt.NDArray[np.int8]
    age_min: npt.NDArray[np.int16]
    age_max: npt.NDArray[np.int16]
    gender_policy: npt.NDArray[np.int8]
    risk_mask: npt.NDArray[np.uint8]
    expertise: npt.NDArray[np.uint64]  # shape (n, words)
    free_places: IntArray
    profile_c_present: IntArray
    xyz: FloatArray  # unit vectors, shape (n, 3)
    lat: FloatArray
    lon: FloatArray
    has_expected_date: BoolArray
    care_bit: npt.NDArray[np.uint16]
    gender_bit: npt.NDArray[np.uint8]
    is_secure: BoolArray
    intensity_over_max: BoolArray
    no_free_bit: npt.NDArray[np.uint16]
    vocabulary: TagVocabulary
    index_of: dict[int, int]

    def __len__(self) -> int:
        return len(self.groups)


def _unit_vectors(lat: FloatArray, lon: FloatArray) -> FloatArray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def prepare_groups(groups: Sequence[Group]) -> GroupTable:
    groups_t = tuple(groups)
    vocab = TagVocabulary([tag for g in groups_t for tag in g.expertise])
    n = len(groups_t)
    expertise = np.zeros((n, vocab.words), dtype=np.uint64)
    for i, g in enumerate(groups_t):
        expertise[i], _ = vocab.encode(g.expertise)
    lat = np.array([g.lat for g in groups_t], dtype=np.float64)
    lon = np.array([g.lon for g in groups_t], dtype=np.float64)
    risk_bit = {p: 1 << i for i, p in enumerate(RISK_PROFILES)}
    care_form = np.array([CARE_FORM_INDEX[g.care_form] for g in groups_t], dtype=np.int8)
    intensity = np.array([INTENSITY_INDEX[g.intensity] for g in groups_t], dtype=np.int8)
    max_intensity = np.array([INTENSITY_INDEX[g.max_intensity] for g in groups_t], dtype=np.int8)
    gender_policy = np.array(
        [GENDER_POLICIES.index(g.gender_policy) for g in groups_t], dtype=np.int8
    )
    free_places = np.array([g.free_places for g in groups_t], dtype=np.int64)
    return GroupTable(
        groups=groups_t,
        ids=np.array([g.id for g in groups_t], dtype=np.int64),
        provider_ids=np.array([g.provider_id for g in groups_t], dtype=np.int64),
        location_ids=np.array([g.location_id for g in groups_t], dtype=np.int64),
        care_form=care_form,
        intensity=intensity,
        max_intensity=max_intensity,
        age_min=np.array([g.age_min for g in groups_t], dtype=np.int16),
        age_max=np.array([g.age_max for g in groups_t], dtype=np.int16),
        gender_policy=gender_policy,
        risk_mask=np.array(
            [sum(risk_bit[p] for p in g.risk_profiles) for g in groups_t], dtype=np.uint8
        ),
        expertise=expertise,
        free_places=free_places,
        profile_c_present=np.array([g.profile_c_present for g in groups_t], dtype=np.int64),
        xyz=_unit_vectors(lat, lon).reshape(n, 3),
        lat=lat,
        lon=lon,
        has_expected_date=np.array(
            [g.expected_free_date is not None for g in groups_t], dtype=np.bool_
        ),
        care_bit=(np.uint16(1) << care_form.astype(np.uint16)).astype(np.uint16),
        gender_bit=(np.uint8(1) << gender_policy.astype(np.uint8)).astype(np.uint8),
        is_secure=care_form == CARE_FORM_INDEX[SECURE_CARE_FORM],
        intensity_over_max=intensity > max_intensity,
        no_free_bit=(free_places <= 0).astype(np.uint16) << np.uint16(RULE_INDEX["free_places"]),
        vocabulary=vocab,
        index_of={g.id: i for i, g in enumerate(groups_t)},
    )


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Rules of one youth against every group, scores for the groups that may matter.

    ``fail_mask`` has one bit per rule (bit i = ``RULE_NAMES[i]``) for every group.  Distance and
    the score components are computed only for the "candidate" rows ``idx``: the groups that pass
    every rule before ``max_distance`` (so at most the distance or the free places fail).  For other
    rows the ``max_distance`` bit is not evaluated, which cannot change their first failing rule.
    """

    fail_mask: npt.NDArray[np.uint16]
    idx: IntArray
    distance_km: FloatArray
    need: FloatArray
    intensity: FloatArray
    distance: FloatArray
    care_form: FloatArray
    score: FloatArray

    def first_fail(self) -> npt.NDArray[np.int8]:
        return _FIRST_FAIL[self.fail_mask]

    def feasible_rows(self) -> IntArray:
        """Positions (into ``idx`` and the component arrays) of the feasible candidates."""
        return np.flatnonzero(self.fail_mask[self.idx] == 0)


def distances_km(
    youth: Youth,
    table: GroupTable,
    road_km: Mapping[int, float] | None = None,
    idx: IntArray | None = None,
) -> FloatArray:
    """Great-circle km to the groups ``idx`` (all when None); ``road_km`` (group id -> km)
    entries override."""
    v = _unit_vectors(np.array([youth.lat]), np.array([youth.lon]))[0]
    xyz = table.xyz if idx is None else table.xyz[idx]
    # chord c between unit vectors: c² = 2 - 2·cos(θ); great-circle distance = 2R·asin(c/2)
    half_chord2 = np.clip(0.5 - 0.5 * (xyz @ v), 0.0, 1.0)
    dist: FloatArray = (2.0 * EARTH_RADIUS_KM) * np.arcsin(np.sqrt(half_chord2))
    if road_km:
        if idx is None:
            for gid, km in road_km.items():
                pos = table.index_of.get(gid)
                if pos is not None:
                    dist[pos] = km
        else:
            ids = table.ids[idx]
            for pos in range(len(idx)):
                road = road_km.get(int(ids[pos]))
                if road is not None:
                    dist[pos] = road
    return dist


_FREE_BIT = _BIT["free_places"]
_DIST_BIT = _BIT["max_distance"]


def evaluate(
    youth: Youth,
    table: GroupTable,
    weights: Weights,
    road_km: Mapping[int, float] | None = None,
) -> Evaluation:
    """Evaluate the rules for every group and the score for the candidate groups."""
    acc_mask = 0
    pref_val = np.zeros(len(CARE_FORM_INDEX), dtype=np.float64)
    for pos, form in enumerate(youth.acceptable_care_forms):
        acc_mask |= 1 << CARE_FORM_INDEX[form]
        pref_val[CARE_FORM_INDEX[form]] = 1.0 / (1.0 + pos)
    need_int = INTENSITY_INDEX[youth.required_intensity]
    risk_bit = np.uint8(1 << RISK_PROFILES.index(youth.risk_profile))
    u16 = np.uint16

    # boolean -> bit by shifting whole arrays (masked assignment is ~10x slower)
    fail = ((table.care_bit & u16(acc_mask)) == 0).astype(u16) << u16(RULE_INDEX["care_form"])
    if youth.excluded_provider_ids or youth.excluded_group_ids:
        bad = np.isin(table.provider_ids, list(youth.excluded_provider_ids)) | np.isin(
            table.ids, list(youth.excluded_group_ids)
        )
        fail |= bad.astype(u16) << u16(RULE_INDEX["excluded"])
    if not youth.secure_authorisation:
        fail |= table.is_secure.astype(u16) << u16(RULE_INDEX["secure_care"])
    bad = (table.intensity < need_int) | table.intensity_over_max
    if need_int > 0:
        bad |= table.max_intensity < need_int
    fail |= bad.astype(u16) << u16(RULE_INDEX["intensity"])
    fail |= ((table.age_min > youth.age) | (table.age_max < youth.age)).astype(u16) << u16(
        RULE_INDEX["age"]
    )
    fail |= ((table.gender_bit & _GENDER_OK[youth.gender]) == 0).astype(u16) << u16(
        RULE_INDEX["gender"]
    )
    fail |= ((table.risk_mask & risk_bit) == 0).astype(u16) << u16(RULE_INDEX["risk_profile"])
    if youth.risk_profile == "C":
        fail |= (table.profile_c_present >= weights.profile_c_limit).astype(u16) << u16(
            RULE_INDEX["profile_c_limit"]
        )
    fail |= table.no_free_bit

    idx = np.flatnonzero((fail & ~_FREE_BIT) == 0)
    dist = distances_km(youth, table, road_km, idx)
    if youth.max_distance_km is not None:
        fail[idx[dist > youth.max_distance_km]] |= _DIST_BIT

    need_words, _unknown = table.vocabulary.encode(youth.needs)
    if not youth.needs:
        need = np.ones(len(idx))
    else:
        covered = np.bitwise_count(table.expertise[idx] & need_words).sum(axis=1)
        need = covered / float(len(youth.needs))
    steps = np.maximum(table.intensity[idx].astype(np.int64) - need_int, 0)
    intensity = np.maximum(0.0, 1.0 - weights.intensity_step_penalty * steps)
    distance = np.exp(-dist / weights.distance_scale_km)
    care_form = pref_val[table.care_form[idx]]
    score = (
        weights.need * need
        + weights.intensity * intensity
        + weights.distance * distance
        + weights.care_form_preference * care_form
    )
    return Evaluation(fail, idx, dist, need, intensity, distance, care_form, score)


@dataclass(frozen=True, slots=True)
class RankedOption:
    group_id: int
    score: float
    components: dict[str, float]
    distance_km: float
    free_places: int
    expected_free_date: date | None = None


@dataclass(frozen=True, slots=True)
class Ranking:
    """Ranked feasible groups plus why the others were excluded.

    ``excluded`` counts each excluded group once, under its first failing rule in the order of
    ``solver.scoring.RULES``; ``sum(excluded.values()) + feasible_count == total_groups``.
    """

    youth_id: int
    options: tuple[RankedOption, ...]
    excluded: dict[str, int]
    feasible_count: int
    total_groups: int
    expected_free_soon: tuple[RankedOption, ...]


def _top(keys: tuple[FloatArray, ...], rows: IntArray, limit: int) -> IntArray:
    """Rows sorted by the keys (last key primary), the first ``limit`` kept."""
    order = np.lexsort(tuple(k[rows] for k in keys))
    return rows[order[:limit]]


def _options(ev: Evaluation, table: GroupTable, rows: IntArray) -> tuple[RankedOption, ...]:
    out = []
    for r in rows:
        i = int(ev.idx[r])
        out.append(
            RankedOption(
                group_id=int(table.ids[i]),
                score=float(ev.score[r]),
                components={
                    "need": float(ev.need[r]),
                    "intensity": float(ev.intensity[r]),
                    "distance": float(ev.distance[r]),
                    "care_form": float(ev.care_form[r]),
                },
                distance_km=float(ev.distance_km[r]),
                free_places=int(table.free_places[i]),
                expected_free_date=table.groups[i].expected_free_date,
            )
        )
    return tuple(out)


def rank(
    youth: Youth,
    table: GroupTable,
    weights: Weights | None = None,
    limit: int = 10,
    road_km: Mapping[int, float] | None = None,
) -> Ranking:
    """Rank the feasible groups for ``youth``: best score first, ties by distance then group id.

    ``road_km`` maps group id -> road distance in km for this youth (optional).
    """
    w = weights or Weights()
    ev = evaluate(youth, table, w, road_km)
    counts = np.bincount(ev.first_fail(), minlength=N_RULES + 1)
    rows = ev.feasible_rows()
    if len(rows) > 4 * limit > 0:
        # keep only rows that can reach the top `limit` (ties at the cut stay in)
        cut = np.partition(ev.score[rows], len(rows) - limit)[len(rows) - limit]
        rows = rows[ev.score[rows] >= cut]
    gid = table.ids[ev.idx].astype(np.float64)
    keys = (gid, ev.distance_km, -ev.score)
    soon = np.flatnonzero(
        (ev.fail_mask[ev.idx] == _FREE_BIT) & table.has_expected_date[ev.idx]
    )
    return Ranking(
        youth_id=youth.id,
        options=_options(ev, table, _top(keys, rows, limit)),
        excluded={name: int(counts[RULE_INDEX[name]]) for name in RULE_NAMES},
        feasible_count=int(counts[FEASIBLE_CODE]),
        total_groups=len(table),
        expected_free_soon=_options(ev, table, _top(keys, soon, limit)),
    )
