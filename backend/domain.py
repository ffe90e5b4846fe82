"""Vocabulary of the field: care forms, intensities, risk profiles and need tags.

Codes are English-free Dutch identifiers taken from the procurement documents (DOMAIN.md); the
labels are what the user interface shows.
"""

from __future__ import annotations

from datetime import UTC, datetime

INTENSITY_LETTERS = "ABCDEFGHIJKLMNOPQRS"

# code -> (Dutch label, segment, maximum stay intensity of the care form)
# M–S are reserved for small-scale three-milieu facilities and jeugdzorgplus; kamertraining is
# capped at C (seed 000). The seeds give no other caps, so the rest stop at L.
CARE_FORMS: dict[str, tuple[str, str, str]] = {
    "pleegzorg": ("Pleegzorg", "wonen", "L"),
    "gezinshuis": ("Gezinshuis", "wonen", "L"),
    "woongroep": ("Woongroep", "wonen", "L"),
    "khw": ("Kleinschalige hoogspecialistische woonvoorziening", "wonen", "L"),
    "behandelgroep": ("Behandelgroep", "verblijf", "L"),
    "driemilieu": ("Driemilieuvoorziening", "verblijf", "S"),
    "jeugdzorgplus": ("Jeugdzorgplus", "verblijf", "S"),
    "kamertraining": ("Kamertraining", "wonen", "C"),
    "ggz_verblijf": ("Jeugd GGZ-verblijfsklasse", "verblijf", "L"),
    "ouder_kind": ("Ouder-kindhuis", "wonen", "L"),
    "deeltijd": ("Deeltijdverblijf / logeren", "verblijf", "L"),
    "crisis": ("Crisisverblijf", "crisis", "L"),
}

# Care forms whose contracted places are paid partly when empty (availability funding).
AVAILABILITY_FUNDED_CARE_FORMS = frozenset({"crisis", "driemilieu", "jeugdzorgplus"})

GENDER_POLICIES = ("gemengd", "jongens", "meisjes")
RISK_PROFILES = ("A", "B", "C")

# The managed list of need tags; the same list describes groups' expertise.
NEED_TAGS: dict[str, str] = {
    "lvb": "LVB (licht verstandelijke beperking)",
    "trauma": "Trauma",
    "autisme": "Autisme",
    "jeugd_ggz": "Jeugd-GGZ",
    "verslaving": "Verslaving",
    "shg": "Seksueel grensoverschrijdend gedrag",
    "hechting": "Hechtingsproblematiek",
    "agressie": "Agressieregulatie",
    "eetstoornis": "Eetstoornis",
    "zelfstandigheid": "Zelfstandigheidstraining",
    "jonge_moeder": "Jonge moeder met kind",
    "loverboy": "Loverboyproblematiek",
}

# Default stay-intensity bands: hours per child per day, lower bound inclusive (DOMAIN.md).
# A region may configure its own table; this is only the fallback.
DEFAULT_INTENSITY_BANDS: list[tuple[str, float]] = [
    ("A", 0), ("B", 1), ("C", 2), ("D", 3), ("E", 4), ("F", 5), ("G", 6), ("H", 7), ("I", 8),
    ("J", 9), ("K", 10), ("L", 11), ("M", 12), ("N", 14), ("O", 16), ("P", 18), ("Q", 20),
    ("R", 22), ("S", 24),
]

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
