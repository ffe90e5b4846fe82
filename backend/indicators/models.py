"""Indicators are read from referrals, proposals, placements, holds, the occupancy feed and the
groups. Their own tables only keep the rows of closed months (``monthly.py``): a calendar of
months, a version per region, section and month (raised by database triggers, migration
``0015_indicators_fast``, when a row behind that month changes) and the kept rows. Here too:
the filters and the Dutch names of the figures, shared by the API, the exports and the tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel


class IndicatorCalendar(SQLModel, table=True):
    """Every month 1990-01 .. 2100-12 ('YYYY-MM'): the triggers raise versions of a range."""

    __tablename__ = "indicator_calendar"
    month: str = Field(primary_key=True, max_length=7)


class IndicatorVersion(SQLModel, table=True):
    """How often rows behind a closed month of a section changed (absent: never)."""

    __tablename__ = "indicator_versions"
    region_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    section: str = Field(primary_key=True, max_length=12)
    month: str = Field(primary_key=True, max_length=7)
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
