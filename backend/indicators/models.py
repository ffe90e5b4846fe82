"""Indicators have no tables of their own: they are read from referrals, proposals,
placements, holds, the occupancy feed and the groups. Here: the filters and the Dutch names
of the figures, shared by the API, the exports and the tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Filters:
    """What the figures are narrowed to (None: everything). Care form, intensity and
    municipality are the youth's for waiting times and the group's everywhere else."""

    care_form: str | None = None
    intensity: str | None = None
    municipality_id: int | None = None
    provider_id: int | None = None


# The sections of the answer with their Dutch titles (screen, CSV and workbook).
SECTIONS = {
    "waiting": "Wachttijden",
    "proposals": "Plaatsingsvoorstellen",
    "placements": "Plaatsingen",
    "scaling": "Op- en afschaling",
    "occupancy": "Bezetting",
    "crisis": "Crisis",
    "freshness": "Actualiteit van de meldingen",
}
PROPOSAL_LABELS = {
    "sent": "Verstuurd",
    "open": "Openstaand",
    "accepted": "Geaccepteerd",
    "declined": "Afgewezen",
    "expired": "Verlopen",
    "withdrawn": "Ingetrokken",
}
HOLD_LABELS = {
    "holds": "Vastgehouden plaatsen",
    "active": "Nog vastgehouden",
    "confirmed": "Bevestigd (geplaatst)",
    "released": "Vrijgegeven",
    "expired": "Verlopen",
    "rejected": "Afgewezen door aanbieder",
}
