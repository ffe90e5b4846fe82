"""Validated input and output types of the matching solver.

All input types are frozen dataclasses that check their fields on construction and raise
``ValueError`` for data that cannot be matched at all (an unknown care form, an intensity letter
outside A–S, a negative number of places).  Inconsistent but well-formed data, such as a group
whose intensity exceeds its care form's maximum, is *not* rejected here: that is a hard rule the
ranking reports, so that a coordinator sees why the group never shows up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from solver import vocabulary

# Derived from ``solver.vocabulary``, the single definition shared with the backend.
CARE_FORMS: tuple[str, ...] = tuple(vocabulary.CARE_FORMS)
CARE_FORM_INDEX: dict[str, int] = {name: i for i, name in enumerate(CARE_FORMS)}
INTENSITIES = vocabulary.INTENSITIES
INTENSITY_INDEX: dict[str, int] = {letter: i for i, letter in enumerate(INTENSITIES)}
#: Default ceiling per care form: used by generators and as a sensible default for
#: ``Group.max_intensity``; a region can configure its own and pass it per group.
CARE_FORM_MAX_INTENSITY: dict[str, str] = {code: form.max_intensity for code, form in vocabulary.CARE_FORMS.items()}
GENDER_POLICIES = vocabulary.GENDER_POLICIES
RISK_PROFILES = vocabulary.RISK_PROFILES
SECURE_CARE_FORM = vocabulary.SECURE_CARE_FORM
GENDERS: tuple[str, ...] = ("m", "v", "x")


def _check_letter(name: str, value: str) -> None:
    if value not in INTENSITY_INDEX:
        raise ValueError(f"{name} must be one letter A–S, got {value!r}")


def _check_coordinate(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError("lat/lon must be finite")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"lat/lon out of range: {lat}, {lon}")


@dataclass(frozen=True, slots=True)
class Group:
    """One group (a living group, family home, foster family...) with its current availability."""

    id: int
    provider_id: int
    location_id: int
    care_form: str
    intensity: str
    max_intensity: str
    age_min: int
    age_max: int
    gender_policy: str
    risk_profiles: frozenset[str]
    expertise: frozenset[str]
    free_places: int
    lat: float
    lon: float
    profile_c_present: int = 0
    expected_free_date: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "risk_profiles", frozenset(self.risk_profiles))
        object.__setattr__(self, "expertise", frozenset(self.expertise))
        if self.care_form not in CARE_FORM_INDEX:
            raise ValueError(f"unknown care form {self.care_form!r}")
        _check_letter("intensity", self.intensity)
        _check_letter("max_intensity", self.max_intensity)
        if not 0 <= self.age_min <= self.age_max:
            raise ValueError("need 0 <= age_min <= age_max")
        if self.gender_policy not in GENDER_POLICIES:
            raise ValueError(f"gender_policy must be one of {GENDER_POLICIES}")
        if not self.risk_profiles <= set(RISK_PROFILES):
            raise ValueError(f"risk_profiles must be a subset of {RISK_PROFILES}")
        if self.free_places < 0 or self.profile_c_present < 0:
            raise ValueError("free_places and profile_c_present must be >= 0")
        _check_coordinate(self.lat, self.lon)


@dataclass(frozen=True, slots=True)
class Youth:
    """A referral.  Carries no name or citizen number: ``id`` is a pseudonymous reference."""

    id: int
    age: int
    gender: str
    lat: float
    lon: float
    acceptable_care_forms: tuple[str, ...]
    required_intensity: str
    risk_profile: str = "A"
    needs: frozenset[str] = frozenset()
    urgency: int = 3
    secure_authorisation: bool = False
    max_distance_km: float | None = None
    sibling_set: str | None = None
    together: str = "group"
    excluded_provider_ids: frozenset[int] = frozenset()
    excluded_group_ids: frozenset[int] = frozenset()
    waiting_days: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "acceptable_care_forms", tuple(self.acceptable_care_forms))
        object.__setattr__(self, "needs", frozenset(self.needs))
        object.__setattr__(self, "excluded_provider_ids", frozenset(self.excluded_provider_ids))
        object.__setattr__(self, "excluded_group_ids", frozenset(self.excluded_group_ids))
        if not 0 <= self.age <= 30:
            raise ValueError("age must be within 0..30")
        if self.gender not in GENDERS:
            raise ValueError(f"gender must be one of {GENDERS}")
        _check_coordinate(self.lat, self.lon)
        if not self.acceptable_care_forms:
            raise ValueError("acceptable_care_forms must not be empty")
        for form in self.acceptable_care_forms:
            if form not in CARE_FORM_INDEX:
                raise ValueError(f"unknown care form {form!r}")
        if len(set(self.acceptable_care_forms)) != len(self.acceptable_care_forms):
            raise ValueError("acceptable_care_forms contains duplicates")
        _check_letter("required_intensity", self.required_intensity)
        if self.risk_profile not in RISK_PROFILES:
            raise ValueError(f"risk_profile must be one of {RISK_PROFILES}")
        if not 1 <= self.urgency <= 5:
            raise ValueError("urgency must be within 1..5 (5 = most urgent)")
        if self.max_distance_km is not None and not self.max_distance_km >= 0:
            raise ValueError("max_distance_km must be >= 0 or None")
        if self.together not in ("group", "location"):
            raise ValueError("together must be 'group' or 'location'")
        if not (math.isfinite(self.waiting_days) and self.waiting_days >= 0):
            raise ValueError("waiting_days must be a finite number >= 0")


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights of the score components and batch parameters.

    Defaults: the four match components sum to 1.0, so a match score lies in [0, 1].
    ``need`` weighs heaviest because content fit is the point of the service ("the right place
    in one go"); ``intensity`` and ``distance`` encode "as light as possible" and "close to the
    youth's network"; the care-form preference breaks near-ties in favour of the first choice.

    Batch objective (see ``solver.assign``): placing youth *i* in group *j* is worth
    ``placement_bonus + priority * priority_i + score_ij``; leaving *i* unplaced is worth 0.
    ``placement_bonus`` (2.0) is larger than any possible score difference (at most 1.0), so the
    optimiser never leaves a youth out just to give another youth a better-fitting place.
    """

    need: float = 0.40
    intensity: float = 0.25
    distance: float = 0.20
    care_form_preference: float = 0.15
    priority: float = 0.5
    placement_bonus: float = 2.0
    distance_scale_km: float = 25.0
    intensity_step_penalty: float = 0.15
    profile_c_limit: int = 2
    waiting_days_full: float = 365.0

    def __post_init__(self) -> None:
        for name in (
            "need",
            "intensity",
            "distance",
            "care_form_preference",
            "priority",
            "placement_bonus",
            "intensity_step_penalty",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"weight {name} must be a finite number >= 0")
        if not self.distance_scale_km > 0 or not self.waiting_days_full > 0:
            raise ValueError("distance_scale_km and waiting_days_full must be > 0")
        if self.profile_c_limit < 0:
            raise ValueError("profile_c_limit must be >= 0")

    @property
    def max_score(self) -> float:
        """Largest possible match score (sum of the component weights)."""
        return self.need + self.intensity + self.distance + self.care_form_preference


RoadTable = Mapping[tuple[int, int], float]


@dataclass(frozen=True, slots=True)
class Instance:
    """A batch: groups, referrals, weights and an optional road-distance table in km.

    ``pins`` (youth id -> group id) and ``forbidden`` ((youth id, group id) pairs) are a
    coordinator's decisions while reviewing a run: a pinned youth is placed in that group or the
    instance is infeasible; a forbidden pair is never used.
    """

    groups: tuple[Group, ...]
    youths: tuple[Youth, ...]
    weights: Weights = field(default_factory=Weights)
    road_km: RoadTable | None = None
    pins: Mapping[int, int] = field(default_factory=dict)
    forbidden: frozenset[tuple[int, int]] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "youths", tuple(self.youths))
        object.__setattr__(self, "pins", dict(self.pins))
        object.__setattr__(self, "forbidden", frozenset(self.forbidden))
        group_ids = {g.id for g in self.groups}
        youth_ids = {y.id for y in self.youths}
        if len(group_ids) != len(self.groups):
            raise ValueError("duplicate group id")
        if len(youth_ids) != len(self.youths):
            raise ValueError("duplicate youth id")
        for yid, gid in [*self.pins.items(), *self.forbidden]:
            if yid not in youth_ids or gid not in group_ids:
                raise ValueError(f"pin or forbidden pair ({yid}, {gid}) names an unknown youth or group")
        both = sorted(pair for pair in self.pins.items() if pair in self.forbidden)
        if both:
            raise ValueError(f"pair {both[0]} is both pinned and forbidden")
        modes: dict[str, str] = {}
        for youth in self.youths:
            if youth.sibling_set is None:
                continue
            mode = modes.setdefault(youth.sibling_set, youth.together)
            if mode != youth.together:
                raise ValueError(f"sibling set {youth.sibling_set!r} mixes 'together' modes")

    def sibling_sets(self) -> dict[str, list[Youth]]:
        """Sibling sets with at least two members (a set of one is no constraint)."""
        sets: dict[str, list[Youth]] = {}
        for youth in self.youths:
            if youth.sibling_set is not None:
                sets.setdefault(youth.sibling_set, []).append(youth)
        return {key: members for key, members in sets.items() if len(members) > 1}


@dataclass(frozen=True, slots=True)
class Assignment:
    youth_id: int
    group_id: int
    score: float


@dataclass(frozen=True, slots=True)
class Unplaced:
    youth_id: int
    reasons: tuple[str, ...]


Status = Literal["optimal", "feasible", "infeasible", "timeout_no_solution", "no_solution"]


@dataclass(frozen=True, slots=True)
class Result:
    """Outcome of a batch run.  Infeasibility is a status, never an exception.

    ``objective`` and ``bound`` are in the units of the batch objective (see ``Weights``);
    ``bound`` is a proven upper bound on the optimum over the candidate arcs, ``optimal`` is true
    when ``objective`` equals the optimum (up to the integer scaling of the costs).
    """

    status: Status
    objective: float
    optimal: bool
    bound: float | None
    solve_seconds: float
    assignments: tuple[Assignment, ...]
    unplaced: tuple[Unplaced, ...]
    stats: Mapping[str, float] = field(default_factory=dict)

    def group_of(self) -> dict[int, int]:
        return {a.youth_id: a.group_id for a in self.assignments}
