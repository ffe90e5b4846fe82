"""Stay intensity (*verblijfsintensiteit*): the what-if calculator and re-assessments.

A group whose places or roster hours change so that its hours per child per day fall in
another band is not moved at once: the new situation is assessed first (seed 000), so a
re-assessment row is opened and an event appended; an admin or coordinator decides it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import field_validator
from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from backend.validation import InputModel


class IntensityReassessment(SQLModel, table=True):
    __tablename__ = "intensity_reassessments"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="groups.id", index=True)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=120)
    capacity_before: int
    capacity_after: int
    roster_hours_before: float
    roster_hours_after: float
    hours_per_child_per_day: float
    intensity_before: str = Field(max_length=1)
    intensity_after: str = Field(max_length=1)
    status: str = Field(default="open", max_length=12, index=True)  # open | approved | rejected
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    decided_by: str | None = Field(default=None, max_length=120)
    note: str | None = Field(default=None, max_length=500)
    # From this date the approved intensity is funded (and moves the tariff with it); by default
    # the day of the decision.
    valid_from: date | None = None


class IntensityQuestion(InputModel):
    """A what-if question: which intensity would this staffing buy?"""

    weekly_roster_hours: float = Field(gt=0, le=10_000)
    places: int = Field(ge=1, le=500)
    care_form: str | None = Field(default=None, max_length=20)
    is_crisis: bool | None = None  # defaults to care_form == "crisis"
    occupancy_norm: float | None = Field(default=None, gt=0, le=1)
    # The region code whose band table applies (default: the caller's).
    region: str | None = Field(default=None, max_length=10)


class IntensityAnswer(SQLModel):
    hours_per_child_per_day: float  # rounded to 2 decimals
    hours_per_child_per_day_rounded: float  # 1 decimal, as in the seed ("4,1")
    occupancy_norm: float
    children_at_norm: float  # places × norm, e.g. 7.6
    intensity: str
    band_lower: float
    band_upper: float | None
    care_form: str | None
    max_intensity: str | None
    within_maximum: bool
    funded_intensity: str  # the letter capped at the care form's maximum
    explanation: str


class StaffingUpdate(InputModel):
    capacity: int | None = Field(default=None, ge=1, le=500)
    weekly_roster_hours: float | None = Field(default=None, gt=0, le=10_000)


class ReassessmentDecision(InputModel):
    approve: bool
    note: str | None = Field(default=None, max_length=500)


class ReassessmentPublic(SQLModel):
    id: int
    group_id: int
    created_at: datetime
    capacity_before: int
    capacity_after: int
    roster_hours_before: float
    roster_hours_after: float
    hours_per_child_per_day: float
    intensity_before: str
    intensity_after: str
    status: str
    decided_at: datetime | None
    note: str | None

    @field_validator("created_at", "decided_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # SQLite hands back naive datetimes; everything stored is UTC, and the API says so.
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class GroupIntensity(SQLModel):
    group_id: int
    group_name: str
    care_form: str
    capacity: int
    weekly_roster_hours: float
    occupancy_norm: float
    hours_per_child_per_day: float
    calculated_intensity: str
    funded_intensity: str  # the group's intensity as assessed
    max_intensity: str
    reassessment_required: bool
    open_reassessment: ReassessmentPublic | None
