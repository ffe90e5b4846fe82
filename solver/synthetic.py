"""Reproducible synthetic instances for tests, benchmarks and demos.

Coordinates come from a caller-supplied list of (lat, lon) points (e.g. Dutch postcode centroids)
or, without one, from uniform points in a box around the Netherlands.  Same seed, same instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np

from solver.schema import (
    CARE_FORM_MAX_INTENSITY,
    CARE_FORMS,
    INTENSITIES,
    INTENSITY_INDEX,
    Group,
    Instance,
    Weights,
    Youth,
)

NEED_TAGS: tuple[str, ...] = (
    "trauma",
    "autisme",
    "adhd",
    "hechting",
    "verslaving",
    "lvb",
    "agressie",
    "eetstoornis",
    "zelfbeschadiging",
    "loverboy",
    "schoolverzuim",
    "zwangerschap",
    "ptss",
    "psychose",
    "radicalisering",
    "gezinsproblematiek",
)
# rough mix of the Dutch residential market: about half foster care, then groups, then the rest
_FORM_WEIGHTS = np.array([0.30, 0.12, 0.16, 0.05, 0.08, 0.04, 0.03, 0.06, 0.05, 0.03, 0.04, 0.04])
# The care forms the weights are for, in this order; crisis foster care (added later) is not
# drawn, so the generated instances, and the benchmark figures on them, stay the same.
_FORMS = CARE_FORMS[: len(_FORM_WEIGHTS)]
NL_BOX = ((50.75, 53.45), (3.4, 7.2))


def random_points(rng: np.random.Generator, n: int) -> list[tuple[float, float]]:
    lat = rng.uniform(*NL_BOX[0], size=n)
    lon = rng.uniform(*NL_BOX[1], size=n)
    return list(zip(lat.tolist(), lon.tolist(), strict=True))


def _jitter(rng: np.random.Generator, point: tuple[float, float], km: float) -> tuple[float, float]:
    lat, lon = point
    dlat = rng.normal(0.0, km / 111.0)
    dlon = rng.normal(0.0, km / 68.0)
    return (float(np.clip(lat + dlat, -89.0, 89.0)), float(np.clip(lon + dlon, -179.0, 179.0)))


def make_groups(
    n: int,
    seed: int = 0,
    points: Sequence[tuple[float, float]] | None = None,
    mean_free: float = 1.0,
) -> list[Group]:
    rng = np.random.default_rng(seed)
    pts = list(points) if points else random_points(rng, max(50, n // 4))
    groups: list[Group] = []
    n_locations = max(1, n // 3)
    loc_points = [pts[int(rng.integers(len(pts)))] for _ in range(n_locations)]
    for gid in range(n):
        form = _FORMS[int(rng.choice(len(_FORMS), p=_FORM_WEIGHTS))]
        max_letter = CARE_FORM_MAX_INTENSITY[form]
        top = INTENSITY_INDEX[max_letter]
        intensity = INTENSITIES[int(rng.integers(0, min(top, 8) + 1))]
        loc = int(rng.integers(n_locations))
        age_min = int(rng.integers(0, 14))
        age_max = min(23, age_min + int(rng.integers(4, 12)))
        risks = {"A"} | {p for p in ("B", "C") if rng.random() < 0.5}
        expertise = frozenset(NEED_TAGS[i] for i in rng.choice(len(NEED_TAGS), size=rng.integers(1, 7), replace=False))
        free = int(rng.poisson(mean_free))
        expected = (
            date(2025, 1, 1) + timedelta(days=int(rng.integers(1, 60))) if free == 0 and rng.random() < 0.4 else None
        )
        lat, lon = _jitter(rng, loc_points[loc], 0.2)
        groups.append(
            Group(
                id=gid + 1,
                provider_id=int(rng.integers(1, max(2, n // 20) + 1)),
                location_id=loc + 1,
                care_form=form,
                intensity=intensity,
                max_intensity=max_letter,
                age_min=age_min,
                age_max=age_max,
                gender_policy=str(rng.choice(["gemengd"] * 6 + ["jongens", "meisjes"])),
                risk_profiles=frozenset(risks),
                expertise=expertise,
                free_places=free,
                lat=lat,
                lon=lon,
                profile_c_present=int(rng.integers(0, 3)),
                expected_free_date=expected,
            )
        )
    return groups


def make_youths(
    n: int,
    seed: int = 0,
    points: Sequence[tuple[float, float]] | None = None,
    sibling_fraction: float = 0.0,
    max_distance_km: float | None = None,
) -> list[Youth]:
    """Referrals; about ``sibling_fraction`` of them belong to sibling sets of 2–3."""
    rng = np.random.default_rng(seed + 1_000_003)
    pts = list(points) if points else random_points(rng, max(50, n))
    youths: list[Youth] = []
    in_sets = round(n * sibling_fraction)
    set_id = 0
    remaining_in_set = 0
    base: Youth | None = None
    for yid in range(n):
        if yid < in_sets and remaining_in_set == 0 and in_sets - yid >= 2:
            remaining_in_set = min(int(rng.integers(2, 4)), in_sets - yid)
            set_id += 1
            base = None
        k = int(rng.integers(1, 4))
        forms = tuple(_FORMS[int(i)] for i in rng.choice(len(_FORMS), size=k, replace=False, p=_FORM_WEIGHTS))
        required = INTENSITIES[int(rng.integers(0, 6))]
        profile = str(rng.choice(["A", "A", "B", "B", "C"]))
        needs = frozenset(NEED_TAGS[i] for i in rng.choice(len(NEED_TAGS), size=rng.integers(0, 4), replace=False))
        point = _jitter(rng, pts[int(rng.integers(len(pts)))], 2.0)
        sibling: str | None = None
        together = "group"
        if remaining_in_set > 0:
            sibling = f"s{set_id}"
            if base is None:
                together = "location" if rng.random() < 0.3 else "group"
                base = Youth(
                    id=yid + 1,
                    age=int(rng.integers(4, 17)),
                    gender="m",
                    lat=point[0],
                    lon=point[1],
                    acceptable_care_forms=("gezinshuis", "pleegzorg", "woongroep"),
                    required_intensity=INTENSITIES[int(rng.integers(0, 3))],
                    risk_profile="A",
                    sibling_set=sibling,
                    together=together,
                )
            else:
                together = base.together
                point = (base.lat, base.lon)
                forms = base.acceptable_care_forms
                required = base.required_intensity
                profile = str(rng.choice(["A", "B"]))
            remaining_in_set -= 1
        youths.append(
            Youth(
                id=yid + 1,
                age=int(base.age + rng.integers(-3, 4)) if sibling and base else int(rng.integers(4, 21)),
                gender=str(rng.choice(["m", "v", "v", "m", "x"], p=[0.3, 0.3, 0.18, 0.18, 0.04])),
                lat=point[0],
                lon=point[1],
                acceptable_care_forms=forms,
                required_intensity=required,
                risk_profile=profile,
                needs=needs,
                urgency=int(rng.integers(1, 6)),
                secure_authorisation="jeugdzorgplus" in forms and rng.random() < 0.8,
                max_distance_km=max_distance_km,
                sibling_set=sibling,
                together=together,
                waiting_days=float(rng.integers(0, 400)),
            )
        )
    return youths


def make_instance(
    n_youths: int,
    n_groups: int,
    seed: int = 0,
    points: Sequence[tuple[float, float]] | None = None,
    sibling_fraction: float = 0.0,
    mean_free: float = 1.0,
    weights: Weights | None = None,
    max_distance_km: float | None = None,
) -> Instance:
    return Instance(
        groups=tuple(make_groups(n_groups, seed, points, mean_free)),
        youths=tuple(make_youths(n_youths, seed, points, sibling_fraction, max_distance_km)),
        weights=weights or Weights(),
    )
