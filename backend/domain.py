"""Vocabulary of the field: care forms, intensities, risk profiles and need tags.

The codes and labels are defined once, in ``solver.vocabulary`` (the solver may not import the
backend); this module re-exports them under the backend's names and adds what only the backend
uses (funding, intensity bands, occupancy norms).
"""

from __future__ import annotations

from datetime import UTC, datetime

from solver.vocabulary import CARE_FORMS, GENDER_POLICIES, NEED_TAGS, RISK_PROFILES
from solver.vocabulary import INTENSITIES as INTENSITY_LETTERS

__all__ = ["CARE_FORMS", "GENDER_POLICIES", "INTENSITY_LETTERS", "NEED_TAGS", "RISK_PROFILES"]

# Care forms whose contracted places are paid partly when empty (availability funding).
AVAILABILITY_FUNDED_CARE_FORMS = frozenset({"crisis", "driemilieu", "jeugdzorgplus"})

# Default stay-intensity bands: hours per child per day, lower bound inclusive (DOMAIN.md).
# A region may configure its own table; this is only the fallback.
DEFAULT_INTENSITY_BANDS: list[tuple[str, float]] = list(
    zip(INTENSITY_LETTERS, (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 18, 20, 22, 24), strict=True)
)

ORDINARY_OCCUPANCY_NORM = 0.95
CRISIS_OCCUPANCY_NORM = 1.0


def hours_per_child_per_day(*, weekly_roster_hours: float, places: int, occupancy_norm: float) -> float:
    """Net rostered hours per child per day: hours / (places × norm) / 7 (seed 000)."""
    if places <= 0 or occupancy_norm <= 0:
        raise ValueError("places and occupancy norm must be positive")
    return weekly_roster_hours / (places * occupancy_norm) / 7


def intensity_letter(hours: float, bands: list[tuple[str, float]] | None = None) -> str:
    """The band a number of hours per child per day falls in (lower bound inclusive)."""
    table = sorted(bands or DEFAULT_INTENSITY_BANDS, key=lambda band: band[1])
    letter = table[0][0]
    for candidate, lower in table:
        # Rounded to two decimals so that 4.999999 from float division lands where people expect.
        if round(hours, 6) >= lower:
            letter = candidate
    return letter


def intensity_index(letter: str) -> int:
    return INTENSITY_LETTERS.index(letter)


def care_form_max_intensity(care_form: str) -> str:
    return CARE_FORMS[care_form][2]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
