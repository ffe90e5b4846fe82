"""Indicators are read from referrals, proposals, placements, holds, the occupancy feed and the
groups. Their own tables only keep the rows of closed months (``monthly.py``): a version per
region, section and range of months (raised by database triggers, migration
``0016_indicators_fast``, when a row behind those months changes) and the kept rows. Here too:
the filters and the Dutch names of the figures, shared by the API, the exports and the tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel


class IndicatorVersion(SQLModel, table=True):
    """How often rows behind the months ``first_month`` .. ``last_month`` ('YYYY-MM', the last
    '9999-12' for "from then on") of a section changed. A month's version is the sum over the
    ranges that hold it (none: 0); it grows with every change."""

    __tablename__ = "indicator_versions"
    region_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    section: str = Field(primary_key=True, max_length=12)
    first_month: str = Field(primary_key=True, max_length=7)
    last_month: str = Field(primary_key=True, max_length=7)
    version: int


class IndicatorMonth(SQLModel, table=True):
    """A section's rows of one closed month (numpy arrays, ``np.savez``), valid while the
    version it was read at is still the month's version."""

    __tablename__ = "indicator_months"
    region_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    section: str = Field(primary_key=True, max_length=12)
    month: str = Field(primary_key=True, max_length=7)
    version: int
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


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
