"""A finalised post-calculation (*vastgestelde nacalculatie*): the figures and their inputs as
they were on the day a region administrator finalised the period. Later changes to the register
or the occupancy feed never change it; the report shows what would differ now."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.validation import InputModel


class FinalisedPostCalculation(SQLModel, table=True):
    __tablename__ = "post_calculations"
    __table_args__ = (UniqueConstraint("region_id", "period_start", "period_end", name="uq_post_calculations_period"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    period_start: date
    period_end: date
    finalised_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    finalised_by: str = Field(max_length=120)
    # The whole report as it was finalised, inputs per group included.
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class FinaliseRequest(InputModel):
    """Which period to finalise: a calendar year, or a start and end date (inclusive)."""

    region: str | None = Field(default=None, max_length=10)
    year: int | None = None
    start: date | None = None
    end: date | None = None
