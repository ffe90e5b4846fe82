"""The field's vocabulary, defined once: care forms, stay intensities, need tags, gender policies
and risk profiles.

It lives in the solver because the solver is a pure library that must not import the backend;
``solver.schema`` validates against it and ``backend.domain`` re-exports it, so the matcher, the
API and the forms cannot drift apart.  Codes are Dutch identifiers from the procurement documents
(DOMAIN.md); labels are what the user interface shows.
"""

from __future__ import annotations

from typing import NamedTuple


class CareForm(NamedTuple):
    label: str
    segment: str  # "wonen", "verblijf" or "crisis"
    #: default ceiling of the stay intensity; a region may configure its own per group
    max_intensity: str


# M–S are reserved for small-scale three-milieu facilities and jeugdzorgplus; kamertraining is
# capped at C (seed 000).  The seeds give no other caps, so the rest stop at L.
CARE_FORMS: dict[str, CareForm] = {
    "pleegzorg": CareForm("Pleegzorg", "wonen", "L"),
    "gezinshuis": CareForm("Gezinshuis", "wonen", "L"),
    "woongroep": CareForm("Woongroep", "wonen", "L"),
    "khw": CareForm("Kleinschalige hoogspecialistische woonvoorziening", "wonen", "L"),
    "behandelgroep": CareForm("Behandelgroep", "verblijf", "L"),
    "driemilieu": CareForm("Driemilieuvoorziening", "verblijf", "S"),
    "jeugdzorgplus": CareForm("Jeugdzorgplus", "verblijf", "S"),
    "kamertraining": CareForm("Kamertraining", "wonen", "C"),
    "ggz_verblijf": CareForm("Jeugd GGZ-verblijfsklasse", "verblijf", "L"),
    "ouder_kind": CareForm("Ouder-kindhuis", "wonen", "L"),
    "deeltijd": CareForm("Deeltijdverblijf / logeren", "verblijf", "L"),
    "crisis": CareForm("Crisisverblijf", "crisis", "L"),
    # Crisis foster care: its own care form, paid P×Q only, never availability-funded (seed 000).
    "crisispleegzorg": CareForm("Crisispleegzorg", "crisis", "L"),
}
#: Outside the A–S stay-intensity model ("eigen normering", seed 000): a family home is paid by
#: its level, foster care and crisis foster care by a daily rate. Matching applies no intensity
#: rule to them, and every such group fits the intensity a youth needs.
OWN_NORM_CARE_FORMS = frozenset({"pleegzorg", "gezinshuis", "crisispleegzorg"})
#: Secure care: only with a court authorisation (machtiging gesloten jeugdhulp).
SECURE_CARE_FORM = "jeugdzorgplus"

#: Stay intensities, lightest first.  The index of a letter is its "weight" in steps.
INTENSITIES = "ABCDEFGHIJKLMNOPQRS"

#: The managed list of need tags (code -> label); the same list describes groups' expertise.
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

GENDER_POLICIES: tuple[str, ...] = ("gemengd", "jongens", "meisjes")
RISK_PROFILES: tuple[str, ...] = ("A", "B", "C")
