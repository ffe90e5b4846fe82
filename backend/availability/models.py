"""Availability reports and the idempotency records that make retries safe."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import model_validator
from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.providers.models import GroupPublic
from backend.validation import InputModel


class AvailabilityUpdate(InputModel):
    """What a provider reports for one group. Unknown fields are refused, so that a client
    cannot set version, provider or timestamps (mass assignment)."""

    free_places: int = Field(ge=0, le=10_000)
    admitting: bool = True
    reason: str | None = Field(default=None, max_length=200)
    expected_free_date: date | None = None
    waiting_list: int | None = Field(default=None, ge=0, le=100_000)

    @model_validator(mode="after")
    def _reason_when_not_admitting(self) -> AvailabilityUpdate:
        if self.reason is not None:
            self.reason = self.reason.strip() or None
        if not self.admitting and not self.reason:
            raise ValueError(
                "Geef een reden op als de groep geen jeugdigen plaatst "
                "(bijvoorbeeld personeelstekort of groepsdynamiek)"
            )
        return self


class PlacesSource(InputModel):
    """Whether a group's free places follow the occupancy feed (derived: contracted places minus
    youths present, held places inside) or are reported by hand."""

    follow_feed: bool


class AvailabilityList(SQLModel):
    groups: list[GroupPublic]
    total_groups: int
    total_free_places: int
    stale_groups: int
    # The service-wide value, and the hours of every region in this list (a region may set its
    # own): the web app keeps the stale flags moving while a screen stays open.
    stale_after_hours: float
    stale_after_hours_by_region: dict[int, float] = {}
    generated_at: datetime


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a request with an Idempotency-Key, replayed on a retry."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("principal", "key", name="uq_idempotency_principal_key"),)

    id: int | None = Field(default=None, primary_key=True)
    principal: str = Field(max_length=120)
    key: str = Field(max_length=200)
    method: str = Field(max_length=10)
    path: str = Field(max_length=300)
    body_hash: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    headers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
