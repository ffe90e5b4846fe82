"""A realistic shortage year in a Twente-sized region, for measuring placement policies.

``shortage_year(seed)`` draws, reproducibly (same seed and arguments, same year):

* 150 groups (about 800 places) of every care form (``FORM_PROFILES``: how many groups, how many
  places each, the net hours per child per day that set the intensity letter, ages, risk
  profiles), located in the 14 Twente municipalities;
* the youths already present on day 0 (each place occupied with probability ``start_occupancy``)
  with the days they still stay;
* referrals arriving over ``horizon_days`` as a Poisson process per care form, with a rate that
  makes each form's offered load ``load`` times its places (load = arrival rate x mean stay), so
  that more youths wait than places come free for most of the year; plus a ``backlog`` of youths
  already waiting on day 0;
* for each referral its length of stay, log-normal per care form (``FORM_PROFILES``: the median
  and the spread; crisis a few weeks, treatment months, foster care years).

Home locations are drawn from the caller's points (e.g. the address-postcode centroids of the
Twente postcodes in ``../shared/data/4pp.csv``), or, without them, around the municipality centres
below, weighted by inhabitants.  Days are whole numbers (arrival day, stay, leaving day), so every
policy and the hindsight model see exactly the same times.

Stationary start: a place occupied on day 0 is left after ``U x L`` days, with U uniform on [0, 1)
and L drawn from the length-biased stay distribution (for a log-normal(mu, sigma) that is
log-normal(mu + sigma^2, sigma)): the residual stay of a renewal process in equilibrium.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from solver.replay import Arrival, Occupant
from solver.schema import CARE_FORM_MAX_INTENSITY, INTENSITIES, Group, Youth
from solver.vocabulary import NEED_TAGS, OWN_NORM_CARE_FORMS, SECURE_CARE_FORM

#: (name, lat, lon, inhabitants in thousands, rounded): the centres are those of DOMAIN.md.
TWENTE_CENTRES: tuple[tuple[str, float, float, int], ...] = (
    ("Almelo", 52.356, 6.659, 73),
    ("Borne", 52.309, 6.750, 24),
    ("Dinkelland", 52.374, 6.900, 26),
    ("Enschede", 52.218, 6.891, 160),
    ("Haaksbergen", 52.165, 6.741, 24),
    ("Hellendoorn", 52.391, 6.497, 36),
    ("Hengelo", 52.267, 6.793, 81),
    ("Hof van Twente", 52.234, 6.615, 35),
    ("Losser", 52.280, 7.002, 23),
    ("Oldenzaal", 52.309, 6.921, 32),
    ("Rijssen-Holten", 52.295, 6.472, 38),
    ("Tubbergen", 52.410, 6.756, 21),
    ("Twenterand", 52.443, 6.604, 34),
    ("Wierden", 52.343, 6.551, 25),
)


@dataclass(frozen=True, slots=True)
class FormProfile:
    """What a care form looks like in the generated region."""

    groups: int  # number of groups
    places: tuple[int, int]  # places per group, inclusive range
    hours: tuple[float, float]  # net hours per child per day of its groups (sets the letter)
    ages: tuple[int, int]  # ages its groups admit
    median_stay_days: float
    stay_sigma: float  # spread of the log-normal stay (log scale)
    risk_c: bool  # its groups may take risk profile C
    alternatives: tuple[str, ...]  # care forms a referral for this form may also accept
    expertise: tuple[str, ...] = ()  # tags every group of the form has


# Sizes: 150 groups and about 800 places; the Twente region had about 2,480 youths living away from
# home in 2018, most of them in foster care that this model counts as small "groups" (foster
# families). Stays: crisis ~3 weeks, treatment and mental-health stays months, living groups about
# a year, family homes and foster care years (DOMAIN.md: "wonen" is durable, "verblijf" short).
FORM_PROFILES: dict[str, FormProfile] = {
    "pleegzorg": FormProfile(30, (1, 3), (0.3, 0.9), (0, 17), 720.0, 0.7, False, ("gezinshuis",)),
    "gezinshuis": FormProfile(16, (4, 6), (1.0, 2.5), (0, 17), 540.0, 0.7, False, ("pleegzorg", "woongroep")),
    "woongroep": FormProfile(28, (6, 10), (3.0, 5.5), (12, 18), 300.0, 0.7, True, ("gezinshuis", "kamertraining")),
    "khw": FormProfile(6, (4, 6), (7.0, 10.5), (10, 20), 360.0, 0.6, True, ("behandelgroep",)),
    "behandelgroep": FormProfile(18, (6, 10), (5.0, 8.5), (10, 18), 150.0, 0.6, True, ("ggz_verblijf", "driemilieu")),
    "driemilieu": FormProfile(6, (6, 10), (9.0, 15.0), (12, 18), 240.0, 0.6, True, ("behandelgroep",)),
    "jeugdzorgplus": FormProfile(6, (6, 10), (12.0, 20.0), (12, 18), 120.0, 0.6, True, (), ("agressie",)),
    "kamertraining": FormProfile(10, (4, 8), (0.5, 2.5), (16, 23), 270.0, 0.6, False, ("woongroep",)),
    "ggz_verblijf": FormProfile(6, (6, 8), (6.0, 9.5), (12, 18), 110.0, 0.6, True, ("behandelgroep",), ("jeugd_ggz",)),
    "ouder_kind": FormProfile(4, (3, 5), (3.0, 5.0), (16, 23), 210.0, 0.5, False, (), ("jonge_moeder",)),
    "crisis": FormProfile(10, (3, 5), (6.0, 9.0), (0, 17), 21.0, 0.6, True, ("crisispleegzorg",)),
    "crisispleegzorg": FormProfile(10, (1, 2), (0.3, 0.9), (0, 17), 28.0, 0.6, False, ("crisis",)),
}


#: need tags in a fixed order, so that the same seed draws the same needs
NEED_TAGS_LIST: tuple[str, ...] = tuple(sorted(NEED_TAGS))


@dataclass(frozen=True, slots=True)
class ShortageYear:
    """One generated year: the input of ``solver.replay.replay`` and ``solver.hindsight``."""

    groups: tuple[Group, ...]
    capacity: dict[int, int]  # group id -> places
    occupants: tuple[Occupant, ...]
    arrivals: tuple[Arrival, ...]  # sorted by day, then youth id
    horizon_days: float

    @property
    def places(self) -> int:
        return sum(self.capacity.values())

    def stay_days(self) -> dict[int, float]:
        return {a.youth.id: a.stay_days for a in self.arrivals}


def hours_to_letter(hours: float) -> str:
    """The default A–S bands of DOMAIN.md: one letter per hour up to L (11–12), then two hours
    per letter (M 12–14 … R 22–24), S from 24."""
    index = int(hours) if hours < 12 else 12 + int((hours - 12) // 2)
    return INTENSITIES[min(max(index, 0), len(INTENSITIES) - 1)]


def _home_sampler(rng: np.random.Generator, points: Sequence[tuple[float, float]] | None) -> list[tuple[float, float]]:
    if points:
        return list(points)
    weights = np.array([c[3] for c in TWENTE_CENTRES], dtype=np.float64)
    picks = rng.choice(len(TWENTE_CENTRES), size=400, p=weights / weights.sum())
    # about 3 km around the centre: the spread of a municipality's postcode areas
    return [
        (TWENTE_CENTRES[i][1] + rng.normal(0.0, 0.027), TWENTE_CENTRES[i][2] + rng.normal(0.0, 0.04))
        for i in picks.tolist()
    ]


def _near(rng: np.random.Generator, point: tuple[float, float], km: float) -> tuple[float, float]:
    return (point[0] + rng.normal(0.0, km / 111.0), point[1] + rng.normal(0.0, km / 68.0))


def _stay(rng: np.random.Generator, profile: FormProfile, length_biased: bool = False) -> float:
    mu = math.log(profile.median_stay_days) + (profile.stay_sigma**2 if length_biased else 0.0)
    return float(rng.lognormal(mu, profile.stay_sigma))


def mean_stay_days(profile: FormProfile) -> float:
    return profile.median_stay_days * math.exp(profile.stay_sigma**2 / 2.0)


def _groups(rng: np.random.Generator, homes: list[tuple[float, float]]) -> list[Group]:
    tags = list(NEED_TAGS)
    groups: list[Group] = []
    n_providers = 30
    for form, profile in FORM_PROFILES.items():
        max_letter = CARE_FORM_MAX_INTENSITY[form]
        for _ in range(profile.groups):
            gid = len(groups) + 1
            # groups sit where people live: near a home point, so the big towns get more of them
            lat, lon = _near(rng, homes[int(rng.integers(len(homes)))], 1.0)
            hours = float(rng.uniform(*profile.hours))
            letter = hours_to_letter(hours)
            if INTENSITIES.index(letter) > INTENSITIES.index(max_letter):
                letter = max_letter
            expertise = set(profile.expertise) | {
                tags[i] for i in rng.choice(len(tags), size=int(rng.integers(2, 6)), replace=False).tolist()
            }
            policy = "gemengd"
            if form not in ("pleegzorg", "crisispleegzorg", "ouder_kind") and rng.random() < 0.2:
                policy = "jongens" if rng.random() < 0.5 else "meisjes"
            groups.append(
                Group(
                    id=gid,
                    provider_id=int(rng.integers(1, n_providers + 1)),
                    location_id=gid,
                    care_form=form,
                    intensity=letter,
                    max_intensity=max_letter,
                    age_min=profile.ages[0],
                    age_max=profile.ages[1],
                    gender_policy="meisjes" if form == "ouder_kind" else policy,
                    risk_profiles=frozenset({"A", "B", "C"} if profile.risk_c else {"A", "B"}),
                    expertise=frozenset(expertise),
                    free_places=int(rng.integers(profile.places[0], profile.places[1] + 1)),
                    lat=lat,
                    lon=lon,
                )
            )
    return groups


def _youth(
    rng: np.random.Generator,
    yid: int,
    form: str,
    homes: list[tuple[float, float]],
    form_letters: dict[str, list[int]],
) -> Youth:
    profile = FORM_PROFILES[form]
    forms = [form]
    for alt in profile.alternatives:
        if rng.random() < 0.35:
            forms.append(alt)
    # the need is one of the letters the form's groups have, usually a light one: the groups that
    # fit then run from exactly this letter to a few steps heavier ("as light as possible")
    letters = sorted(form_letters[form])
    required = INTENSITIES[letters[int(rng.integers(0, max(1, (len(letters) + 1) // 2)))]]
    risk = "A"
    draw = rng.random()
    if draw < 0.4:
        risk = "B"
    elif draw < 0.55 and profile.risk_c:
        risk = "C"
    # own-norm forms (foster care, family homes) carry no letter; the youth's need then follows the
    # first intensity-model alternative, or A
    if form in OWN_NORM_CARE_FORMS:
        required = "A"
        for alt in forms[1:]:
            if alt not in OWN_NORM_CARE_FORMS:
                required = INTENSITIES[min(form_letters[alt])]
                break
    if risk == "C":
        # a C youth can only go where C is taken: drop the alternatives that never take it
        forms = [f for f in forms if FORM_PROFILES[f].risk_c] or [form]
    age_lo = max(FORM_PROFILES[f].ages[0] for f in forms)
    age_hi = min(FORM_PROFILES[f].ages[1] for f in forms)
    if age_lo > age_hi:
        forms, age_lo, age_hi = [form], profile.ages[0], profile.ages[1]
    gender = "v" if form == "ouder_kind" else str(rng.choice(["m", "v", "x"], p=[0.49, 0.47, 0.04]))
    needs = frozenset(
        NEED_TAGS_LIST[i] for i in rng.choice(len(NEED_TAGS_LIST), size=int(rng.integers(0, 4)), replace=False).tolist()
    ) | frozenset(profile.expertise)
    urgency = 5 if form in ("crisis", "crisispleegzorg") else int(rng.integers(1, 5))
    home = _near(rng, homes[int(rng.integers(len(homes)))], 0.5)
    return Youth(
        id=yid,
        age=int(rng.integers(age_lo, age_hi + 1)),
        gender=gender,
        lat=home[0],
        lon=home[1],
        acceptable_care_forms=tuple(forms),
        required_intensity=required,
        risk_profile=risk,
        needs=needs,
        urgency=urgency,
        secure_authorisation=SECURE_CARE_FORM in forms,
    )


def shortage_year(
    seed: int = 0,
    *,
    horizon_days: int = 365,
    load: float = 1.15,
    start_occupancy: float = 0.95,
    backlog: int = 40,
    points: Sequence[tuple[float, float]] | None = None,
) -> ShortageYear:
    """Generate a shortage year (module docstring).  ``load`` > 1 means more demand than places."""
    if horizon_days <= 0 or load <= 0 or not 0.0 <= start_occupancy <= 1.0 or backlog < 0:
        raise ValueError("need horizon_days > 0, load > 0, 0 <= start_occupancy <= 1 and backlog >= 0")
    rng = np.random.default_rng(seed)
    homes = _home_sampler(rng, points)
    groups = _groups(rng, homes)
    capacity = {g.id: g.free_places for g in groups}
    form_letters: dict[str, list[int]] = {}
    form_places: dict[str, int] = {}
    for g in groups:
        form_letters.setdefault(g.care_form, []).append(INTENSITIES.index(g.intensity))
        form_places[g.care_form] = form_places.get(g.care_form, 0) + capacity[g.id]

    occupants: list[Occupant] = []
    for g in groups:
        for _ in range(capacity[g.id]):
            if rng.random() < start_occupancy:
                left = rng.random() * _stay(rng, FORM_PROFILES[g.care_form], length_biased=True)
                occupants.append(Occupant(group_id=g.id, leaves_day=float(max(1, math.ceil(left)))))

    # Poisson arrivals per care form: rate = load x places / mean stay (Little's law)
    forms = list(FORM_PROFILES)
    rates = np.array([load * form_places[f] / mean_stay_days(FORM_PROFILES[f]) for f in forms])
    draws: list[tuple[int, str]] = []
    backlog_forms = rng.choice(len(forms), size=backlog, p=rates / rates.sum()).tolist()
    draws.extend((0, forms[i]) for i in backlog_forms)
    for day in range(horizon_days):
        counts = rng.poisson(rates)
        for i in np.flatnonzero(counts).tolist():
            draws.extend((day, forms[i]) for _ in range(int(counts[i])))
    arrivals = [
        Arrival(
            youth=_youth(rng, yid + 1, form, homes, form_letters),
            day=float(day),
            stay_days=float(max(1, round(_stay(rng, FORM_PROFILES[form])))),
        )
        for yid, (day, form) in enumerate(draws)
    ]
    return ShortageYear(
        groups=tuple(groups),
        capacity=capacity,
        occupants=tuple(occupants),
        arrivals=tuple(arrivals),
        horizon_days=float(horizon_days),
    )
