"""Vectorised ranking of groups for one referral.

``prepare_groups`` turns the groups into column arrays once (expertise as multi-word uint64
bitmasks, coordinates as unit vectors, rule inputs as small integer codes).

``rank`` (the hot path, about 0.1-0.2 ms at 10,000 groups) uses an extra copy of the rule columns
permuted by care form (``FormColumns``): a referral accepts one to three care forms, so only those
contiguous slices are evaluated, and every other group is counted under ``care_form`` (or
``excluded``/``secure_care``) without looking at it.  Within a slice the remaining rules are
applied in ``RULES`` order as boolean ANDs on precomputed columns (per-age, per-gender and
per-risk-profile "admits" columns, and an "effective intensity"); the drop in the survivor count at
each rule is the number of groups whose FIRST failing rule it is.  Distances and scores are
computed only for the survivors, the top ``limit`` is cut with ``np.argpartition`` before sorting,
and the result objects are built only for those.

``evaluate`` is the general form used by the batch candidate builder: one bit per rule for every
group, the first failing rule read from a lookup table.  The formulas are those documented in
``solver.scoring``; tests compare both paths with the scalar reference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from solver.geo import great_circle_km_from_dot, unit_vectors
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
from solver.scoring import RULE_INDEX, RULE_NAMES
from solver.vocabulary import OWN_NORM_CARE_FORMS

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# By care-form index: outside the A–S model, so no intensity rule and a full intensity fit.
_OWN_NORM = np.array([form in OWN_NORM_CARE_FORMS for form in CARE_FORM_INDEX], dtype=np.bool_)
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
    #: columns permuted by care form for ``rank`` (built by ``prepare_groups``; rebuilt lazily
    #: when a table is constructed by hand)
    by_form: FormColumns | None = None

    def __len__(self) -> int:
        return len(self.groups)


@dataclass(frozen=True, eq=False)
class FormColumns:
    """The rule inputs of ``rank``, permuted so that each care form is one contiguous slice.

    A referral accepts one to three care forms, so ``rank`` evaluates the remaining rules only on
    those slices (views, no gathers) and counts everything outside them as ``care_form`` (or
    ``secure_care``/``excluded``) in O(1).  Each rule is one precomputed boolean column or one
    comparison:

    * intensity passes iff ``need <= eff_intensity`` where ``eff_intensity`` is the group's
      intensity, or -1 when it exceeds the group's own maximum (then ``need <= max`` follows from
      ``need <= intensity <= max``);
    * gender and risk profile are precomputed "accepts" columns per youth gender / profile.
    """

    order: IntArray  # sorted position -> table row
    start: IntArray  # care form f occupies sorted positions start[f]:start[f + 1]
    eff_intensity: npt.NDArray[np.int8]
    age_ok: BoolArray  # shape (31, n): age_ok[a] = the group admits age a (Youth.age is 0..30)
    gender_ok: dict[str, BoolArray]
    risk_ok: dict[str, BoolArray]
    profile_c_present: IntArray
    has_free: BoolArray
    soon: BoolArray  # no free place but an expected free date
    x: FloatArray  # unit-vector coordinates, permuted like the other columns
    y: FloatArray
    z: FloatArray


def _form_columns(
    care_form: npt.NDArray[np.int8],
    intensity: npt.NDArray[np.int8],
    max_intensity: npt.NDArray[np.int8],
    age_min: npt.NDArray[np.int16],
    age_max: npt.NDArray[np.int16],
    gender_policy: npt.NDArray[np.int8],
    risk_mask: npt.NDArray[np.uint8],
    profile_c_present: IntArray,
    free_places: IntArray,
    has_expected_date: BoolArray,
    xyz: FloatArray,
) -> FormColumns:
    order = np.argsort(care_form, kind="stable").astype(np.int64)
    start = np.searchsorted(care_form[order], np.arange(len(CARE_FORM_INDEX) + 1)).astype(np.int64)
    eff = np.where(intensity > max_intensity, -1, intensity).astype(np.int8)
    policy = gender_policy[order]
    risk = risk_mask[order]
    return FormColumns(
        order=order,
        start=start,
        eff_intensity=eff[order],
        age_ok=(age_min[order][None, :] <= np.arange(31)[:, None])
        & (age_max[order][None, :] >= np.arange(31)[:, None]),
        gender_ok={g: (np.uint8(1) << policy.astype(np.uint8)) & _GENDER_OK[g] != 0 for g in _GENDER_OK},
        risk_ok={p: (risk & np.uint8(1 << i)) != 0 for i, p in enumerate(RISK_PROFILES)},
        profile_c_present=profile_c_present[order],
        has_free=free_places[order] > 0,
        soon=(free_places[order] <= 0) & has_expected_date[order],
        x=np.ascontiguousarray(xyz[order, 0]),
        y=np.ascontiguousarray(xyz[order, 1]),
        z=np.ascontiguousarray(xyz[order, 2]),
    )


def _by_form(table: GroupTable) -> FormColumns:
    if table.by_form is not None:
        return table.by_form
    cols = _form_columns(
        table.care_form,
        table.intensity,
        table.max_intensity,
        table.age_min,
        table.age_max,
        table.gender_policy,
        table.risk_mask,
        table.profile_c_present,
        table.free_places,
        table.has_expected_date,
        table.xyz,
    )
    object.__setattr__(table, "by_form", cols)
    return cols


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
    gender_policy = np.array([GENDER_POLICIES.index(g.gender_policy) for g in groups_t], dtype=np.int8)
    free_places = np.array([g.free_places for g in groups_t], dtype=np.int64)
    age_min = np.array([g.age_min for g in groups_t], dtype=np.int16)
    age_max = np.array([g.age_max for g in groups_t], dtype=np.int16)
    risk_mask = np.array([sum(risk_bit[p] for p in g.risk_profiles) for g in groups_t], dtype=np.uint8)
    profile_c_present = np.array([g.profile_c_present for g in groups_t], dtype=np.int64)
    has_expected_date = np.array([g.expected_free_date is not None for g in groups_t], dtype=np.bool_)
    xyz = unit_vectors(lat, lon).reshape(n, 3)
    return GroupTable(
        groups=groups_t,
        ids=np.array([g.id for g in groups_t], dtype=np.int64),
        provider_ids=np.array([g.provider_id for g in groups_t], dtype=np.int64),
        location_ids=np.array([g.location_id for g in groups_t], dtype=np.int64),
        care_form=care_form,
        intensity=intensity,
        max_intensity=max_intensity,
        age_min=age_min,
        age_max=age_max,
        gender_policy=gender_policy,
        risk_mask=risk_mask,
        expertise=expertise,
        free_places=free_places,
        profile_c_present=profile_c_present,
        xyz=xyz,
        lat=lat,
        lon=lon,
        has_expected_date=has_expected_date,
        care_bit=(np.uint16(1) << care_form.astype(np.uint16)).astype(np.uint16),
        gender_bit=(np.uint8(1) << gender_policy.astype(np.uint8)).astype(np.uint8),
        is_secure=care_form == CARE_FORM_INDEX[SECURE_CARE_FORM],
        intensity_over_max=intensity > max_intensity,
        no_free_bit=(free_places <= 0).astype(np.uint16) << np.uint16(RULE_INDEX["free_places"]),
        vocabulary=vocab,
        index_of={g.id: i for i, g in enumerate(groups_t)},
        by_form=_form_columns(
            care_form,
            intensity,
            max_intensity,
            age_min,
            age_max,
            gender_policy,
            risk_mask,
            profile_c_present,
            free_places,
            has_expected_date,
            xyz,
        ),
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
    v = unit_vectors(np.array([youth.lat]), np.array([youth.lon]))[0]
    xyz = table.xyz if idx is None else table.xyz[idx]
    dist = great_circle_km_from_dot(xyz @ v)
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
    bad &= ~_OWN_NORM[table.care_form]
    fail |= bad.astype(u16) << u16(RULE_INDEX["intensity"])
    fail |= ((table.age_min > youth.age) | (table.age_max < youth.age)).astype(u16) << u16(RULE_INDEX["age"])
    fail |= ((table.gender_bit & _GENDER_OK[youth.gender]) == 0).astype(u16) << u16(RULE_INDEX["gender"])
    fail |= ((table.risk_mask & risk_bit) == 0).astype(u16) << u16(RULE_INDEX["risk_profile"])
    if youth.risk_profile == "C":
        fail |= (table.profile_c_present >= weights.profile_c_limit).astype(u16) << u16(RULE_INDEX["profile_c_limit"])
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
    steps[_OWN_NORM[table.care_form[idx]]] = 0
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


def _order(score: FloatArray, dist: FloatArray, gid: IntArray, rows: IntArray, limit: int) -> IntArray:
    """``rows`` by score (best first), then distance, then group id; the first ``limit``.

    ``np.argpartition`` first cuts the rows to those that can reach the top ``limit`` (ties at the
    cut stay in), so only a handful are sorted."""
    if limit <= 0 or len(rows) == 0:
        return rows[:0]
    if len(rows) > limit:
        s = score[rows]
        cut = s[np.argpartition(s, len(rows) - limit)[len(rows) - limit]]
        rows = rows[s >= cut]
    order = np.lexsort((gid[rows], dist[rows], -score[rows]))
    return rows[order[:limit]]


def _ranked_options(
    table: GroupTable,
    rows: IntArray,
    score: FloatArray,
    comps: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    dist: FloatArray,
    at: IntArray,
) -> tuple[RankedOption, ...]:
    if len(at) == 0:
        return ()
    t_rows = rows[at]
    need, inten, distance, care = (c[at].tolist() for c in comps)
    groups = table.groups
    return tuple(
        _option(
            gid,
            sc,
            {"need": a, "intensity": b, "distance": c, "care_form": d},
            km,
            free,
            groups[r].expected_free_date,
        )
        for gid, sc, a, b, c, d, km, free, r in zip(
            table.ids[t_rows].tolist(),
            score[at].tolist(),
            need,
            inten,
            distance,
            care,
            dist[at].tolist(),
            table.free_places[t_rows].tolist(),
            t_rows.tolist(),
            strict=True,
        )
    )


def _option(
    group_id: int,
    score: float,
    components: dict[str, float],
    distance_km: float,
    free_places: int,
    expected_free_date: date | None,
) -> RankedOption:
    """``RankedOption(...)`` without the frozen-dataclass ``__init__`` (which costs about 2 µs
    per object): the slot descriptors are written directly.  Same fields, same values."""
    obj = _NEW_OPTION(RankedOption)
    _SET_GROUP_ID(obj, group_id)
    _SET_SCORE(obj, score)
    _SET_COMPONENTS(obj, components)
    _SET_DISTANCE(obj, distance_km)
    _SET_FREE(obj, free_places)
    _SET_DATE(obj, expected_free_date)
    return obj


_NEW_OPTION = object.__new__
_SET_GROUP_ID = RankedOption.__dict__["group_id"].__set__
_SET_SCORE = RankedOption.__dict__["score"].__set__
_SET_COMPONENTS = RankedOption.__dict__["components"].__set__
_SET_DISTANCE = RankedOption.__dict__["distance_km"].__set__
_SET_FREE = RankedOption.__dict__["free_places"].__set__
_SET_DATE = RankedOption.__dict__["expected_free_date"].__set__

_DEFAULT_WEIGHTS = Weights()
_SECURE_FORM = CARE_FORM_INDEX[SECURE_CARE_FORM]
_R_EXCLUDED = RULE_INDEX["excluded"]
_R_CARE = RULE_INDEX["care_form"]
_R_SECURE = RULE_INDEX["secure_care"]
_R_INTENSITY = RULE_INDEX["intensity"]
_R_AGE = RULE_INDEX["age"]
_R_GENDER = RULE_INDEX["gender"]
_R_RISK = RULE_INDEX["risk_profile"]
_R_PROFILE_C = RULE_INDEX["profile_c_limit"]
_R_DISTANCE = RULE_INDEX["max_distance"]
_R_FREE = RULE_INDEX["free_places"]


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
    w = weights if weights is not None else _DEFAULT_WEIGHTS
    cols = _by_form(table)
    n = len(table)
    counts = [0] * N_RULES
    count = np.count_nonzero
    excl: BoolArray | None = None
    if youth.excluded_provider_ids or youth.excluded_group_ids:
        bad = np.isin(table.provider_ids, list(youth.excluded_provider_ids)) | np.isin(
            table.ids, list(youth.excluded_group_ids)
        )
        counts[_R_EXCLUDED] = int(count(bad))
        excl = bad[cols.order]
    need_int = INTENSITY_INDEX[youth.required_intensity]
    age_ok = cols.age_ok[youth.age]
    gender_ok = cols.gender_ok[youth.gender]
    risk_ok = cols.risk_ok[youth.risk_profile]
    c_limit = w.profile_c_limit if youth.risk_profile == "C" else None
    in_forms = 0
    parts: list[IntArray] = []
    prefs: list[float] = []
    sizes: list[int] = []
    # rules in RULES order, each applied to the survivors of the previous ones: the drop in the
    # survivor count is the number of groups whose FIRST failing rule it is
    for pos, form in enumerate(youth.acceptable_care_forms):
        f = CARE_FORM_INDEX[form]
        lo, hi = int(cols.start[f]), int(cols.start[f + 1])
        if hi == lo:
            continue
        alive = None if excl is None else ~excl[lo:hi]
        size = hi - lo if alive is None else int(count(alive))
        in_forms += size
        if f == _SECURE_FORM and not youth.secure_authorisation:
            counts[_R_SECURE] += size
            continue
        ok = np.ones(hi - lo, dtype=np.bool_) if _OWN_NORM[f] else cols.eff_intensity[lo:hi] >= need_int
        if alive is not None:
            ok &= alive
        left = int(count(ok))
        counts[_R_INTENSITY] += size - left
        ok &= age_ok[lo:hi]
        now = int(count(ok))
        counts[_R_AGE] += left - now
        ok &= gender_ok[lo:hi]
        left = int(count(ok))
        counts[_R_GENDER] += now - left
        ok &= risk_ok[lo:hi]
        now = int(count(ok))
        counts[_R_RISK] += left - now
        if c_limit is not None:
            ok &= cols.profile_c_present[lo:hi] < c_limit
            left = int(count(ok))
            counts[_R_PROFILE_C] += now - left
            now = left
        if now:
            parts.append(ok.nonzero()[0] + lo)
            prefs.append(1.0 / (1.0 + pos))
            sizes.append(now)
    counts[_R_CARE] = n - counts[_R_EXCLUDED] - in_forms

    spos = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    rows = cols.order[spos]
    la, lo_ = math.radians(youth.lat), math.radians(youth.lon)
    cos_la = math.cos(la)
    dot = (
        cols.x[spos] * (cos_la * math.cos(lo_)) + cols.y[spos] * (cos_la * math.sin(lo_)) + cols.z[spos] * math.sin(la)
    )
    dist = great_circle_km_from_dot(dot)
    if road_km:
        for at, gid in enumerate(table.ids[rows].tolist()):
            km = road_km.get(gid)
            if km is not None:
                dist[at] = km
    free = cols.has_free[spos]
    soon = cols.soon[spos]
    if youth.max_distance_km is not None:
        near = dist <= youth.max_distance_km
        counts[_R_DISTANCE] = len(rows) - int(count(near))
        free &= near
        soon &= near
        counts[_R_FREE] = int(count(near)) - int(count(free))
    else:
        counts[_R_FREE] = len(rows) - int(count(free))
    feasible = free.nonzero()[0]
    soon_at = soon.nonzero()[0]

    need_words, _unknown = table.vocabulary.encode(youth.needs)
    if not youth.needs:
        need = np.ones(len(rows))
    elif need_words.shape[0] == 1:
        need = np.bitwise_count(table.expertise[rows, 0] & need_words[0]) / float(len(youth.needs))
    else:
        covered = np.bitwise_count(table.expertise[rows] & need_words).sum(axis=1)
        need = covered / float(len(youth.needs))
    steps = table.intensity[rows].astype(np.int64) - need_int
    steps[_OWN_NORM[table.care_form[rows]]] = 0
    intensity = np.maximum(0.0, 1.0 - w.intensity_step_penalty * steps)
    distance = np.exp(dist * (-1.0 / w.distance_scale_km))
    care = np.repeat(np.array(prefs), sizes)
    score = w.need * need + w.intensity * intensity + w.distance * distance + w.care_form_preference * care
    comps = (need, intensity, distance, care)
    gid = table.ids[rows]
    return Ranking(
        youth_id=youth.id,
        options=_ranked_options(table, rows, score, comps, dist, _order(score, dist, gid, feasible, limit)),
        excluded=dict(zip(RULE_NAMES, counts, strict=True)),
        feasible_count=len(feasible),
        total_groups=n,
        expected_free_soon=_ranked_options(table, rows, score, comps, dist, _order(score, dist, gid, soon_at, limit)),
    )
