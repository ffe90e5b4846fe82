"""Occupancy feed: admission and discharge events, the stays they form, and daily censuses.

``occupancy_events`` is append-only: a correction is a new event of kind ``cancel`` that names
the event it withdraws, never an edit. ``occupancy_stays`` is a projection of the events (one
row per admission, closed by its discharge) kept in the same transaction, so that validation
("is this youth present?", "is the group full?") and the year-end report read stays instead of
pairing events again. ``occupancy_census`` holds head counts for providers that cannot send
events; every census is a new row and the newest one for a group and date counts.

Dates: a moment belongs to the calendar day in Dutch local time (Europe/Amsterdam), stored in
``day`` at write time. A night (*etmaal*) counts for the date on which it starts: a stay admitted
on day d and discharged on day e occupies the nights d .. e-1; a stay admitted and discharged
on the same day counts no night.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal

from pydantic import ModelWrapValidatorHandler, PrivateAttr, field_validator, model_validator
from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from backend.occupancy.ndjson import parse_lines
from backend.validation import InputModel

ADMISSION = "admission"
DISCHARGE = "discharge"
CANCEL = "cancel"
EVENT_KINDS = (ADMISSION, DISCHARGE, CANCEL)
# Events in one batch: a year of history of a provider's groups fits in a few requests.
MAX_BATCH_EVENTS = 50_000


def valid_region_code(value: str) -> str:
    """A youth-care region code JZ01–JZ43 (CBS, 2025)."""
    code = value.strip().upper()
    if len(code) != 4 or not code.startswith("JZ") or not code[2:].isdigit() or not 1 <= int(code[2:]) <= 43:
        raise ValueError(f"'{value}' is geen jeugdregiocode (JZ01 tot en met JZ43)")
    return code


class OccupancyEvent(SQLModel, table=True):
    __tablename__ = "occupancy_events"
    __table_args__ = (UniqueConstraint("provider_id", "event_id", name="uq_occupancy_events_provider_event"),)

    id: int | None = Field(default=None, primary_key=True)
    # The sender's own id: the same id from the same provider is a duplicate and ignored.
    event_id: str = Field(max_length=100)
    provider_id: int = Field(index=True)
    group_id: int = Field(foreign_key="groups.id", index=True)
    kind: str = Field(max_length=10)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    day: date  # calendar day of ``at`` in Dutch local time
    origin_region_code: str | None = Field(default=None, max_length=4)
    stay_reference: str | None = Field(default=None, max_length=64)  # pseudonymous, never a name or BSN
    cancels_event_id: str | None = Field(default=None, max_length=100)
    source: str = Field(max_length=40)  # "api", "crisis", "matching", "demo", ...
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    received_by: str = Field(max_length=120)


class OccupancyStay(SQLModel, table=True):
    __tablename__ = "occupancy_stays"
    __table_args__ = (
        Index("ix_occupancy_stays_group_ref", "group_id", "stay_reference"),
        Index("ix_occupancy_stays_group_days", "group_id", "admit_day", "discharge_day"),
        # A youth has at most one open stay anywhere (backend/placements): the last line of
        # defence when two arrivals for one referral race.
        Index(
            "uq_occupancy_stays_open_referral",
            "referral_id",
            unique=True,
            sqlite_where=text("discharged_at IS NULL AND referral_id IS NOT NULL"),
            postgresql_where=text("discharged_at IS NULL AND referral_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="groups.id")
    stay_reference: str = Field(max_length=64)
    origin_region_code: str = Field(max_length=4)
    admitted_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    admit_day: date
    discharged_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    discharge_day: date | None = None
    admission_event: int = Field(foreign_key="occupancy_events.id")
    discharge_event: int | None = Field(default=None, foreign_key="occupancy_events.id")
    # The referral a placement in plekwijzer admitted (None for youths placed outside it).
    referral_id: int | None = Field(default=None, foreign_key="referrals.id")
    # A, B or C where known (from the referral on arrival, or the provider's feed): the
    # profile-C limit of a group counts the youths present now from here.
    risk_profile: str | None = Field(default=None, max_length=1)


class OccupancyCensus(SQLModel, table=True):
    __tablename__ = "occupancy_census"
    __table_args__ = (Index("ix_occupancy_census_group_day", "group_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="groups.id")
    day: date
    present: int
    # Youths present per region of origin; those not split out count for the group's own region.
    by_region: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    received_by: str = Field(max_length=120)


# --- API schemas ---------------------------------------------------------------------------


class OccupancyEventIn(InputModel):
    """One event from a provider system or from a placement made in plekwijzer."""

    # Ids made by the provider's system, never typed by a person, and fields that cannot hold
    # nine digits (a kind from a list, a checked region code): not scanned for a BSN.
    not_free_text: ClassVar[frozenset[str]] = frozenset({"event_id", "cancels_event_id", "kind", "origin_region_code"})

    event_id: str = Field(min_length=1, max_length=100)
    kind: Literal["admission", "discharge", "cancel"]
    group_id: int
    at: datetime
    origin_region_code: str | None = Field(default=None, max_length=10)
    stay_reference: str | None = Field(default=None, min_length=1, max_length=64)
    cancels_event_id: str | None = Field(default=None, min_length=1, max_length=100)
    # An admission may say the youth's risk profile (counts toward a group's profile-C limit);
    # a discharge may say where the youth went (see backend/placements/models.py DESTINATIONS).
    risk_profile: Literal["A", "B", "C"] | None = None
    destination: Literal["home", "foster_care", "residential", "independent", "other_region", "other"] | None = None

    @field_validator("origin_region_code")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return None if value is None else valid_region_code(value)


class OccupancyBatch(InputModel):
    """The events as a JSON object, or as NDJSON (one event per line) when the request is sent
    as ``application/x-ndjson``: the framework hands over any body that is not JSON as bytes."""

    events: list[OccupancyEventIn] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)
    _lines: list[int] | None = PrivateAttr(default=None)  # NDJSON: the line of each event

    @model_validator(mode="wrap")
    @classmethod
    def _ndjson(cls, data: Any, handler: ModelWrapValidatorHandler[OccupancyBatch]) -> OccupancyBatch:
        if not isinstance(data, bytes | bytearray):
            return handler(data)
        events, lines = parse_lines(bytes(data), OccupancyEventIn, max_items=MAX_BATCH_EVENTS)
        batch = handler({"events": events})
        batch._lines = lines
        return batch


class EventResult(SQLModel):
    index: int
    event_id: str
    status: Literal["accepted", "duplicate", "refused"]
    http_status: int = 200
    code: str | None = None
    reason: str | None = None
    line: int | None = None  # the event's line in an NDJSON request


class BatchResult(SQLModel):
    accepted: int
    duplicates: int
    refused: int
    results: list[EventResult]


class CensusIn(InputModel):
    group_id: int
    date: date
    present: int = Field(ge=0, le=1000)
    by_region: dict[str, int] = Field(default_factory=dict)

    @field_validator("by_region")
    @classmethod
    def _codes(cls, value: dict[str, int]) -> dict[str, int]:
        cleaned: dict[str, int] = {}
        for code, count in value.items():
            if count < 0:
                raise ValueError("aantallen per regio mogen niet negatief zijn")
            key = valid_region_code(code)
            cleaned[key] = cleaned.get(key, 0) + count
        return cleaned


class CensusBatch(InputModel):
    counts: list[CensusIn] = Field(min_length=1, max_length=5000)


class CensusResult(SQLModel):
    index: int
    group_id: int
    date: date
    status: Literal["accepted", "refused"]
    http_status: int = 200
    code: str | None = None
    reason: str | None = None


class CensusBatchResult(SQLModel):
    accepted: int
    refused: int
    results: list[CensusResult]


class ResolveDiscrepancy(InputModel):
    """``take_feed``: report the free places the feed leaves; ``follow_feed``: the group's free
    places follow the feed from now on."""

    action: Literal["take_feed", "follow_feed"]


class PresentStay(SQLModel):
    """A youth present in a group now, by the pseudonymous stay reference only."""

    stay_reference: str
    admitted_at: datetime
    origin_region_code: str
    admission_event_id: str  # the sender's id of the admission: what a correction cancels

    @field_validator("admitted_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _utc(value)  # type: ignore[return-value]


class GroupOccupancy(SQLModel):
    group_id: int
    group_name: str
    capacity: int
    present: int
    present_by_region: dict[str, int]
    source: Literal["events", "census", "none"]
    census_date: date | None = None


class Discrepancy(SQLModel):
    group_id: int
    group_name: str
    provider_id: int
    capacity: int
    reported_free_places: int
    reported_at: datetime | None
    feed_present: int
    feed_free_places: int
    difference: int  # reported free minus what the feed leaves free
    source: str
    # Places held (crisis, proposals, expected arrivals): "take the feed over" reports at least these.
    held_places: int = 0

    @field_validator("reported_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _utc(value)


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC, and the API says so.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def event_public(event: OccupancyEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "event_id": event.event_id,
        "kind": event.kind,
        "group_id": event.group_id,
        "at": _utc(event.at),
        "day": event.day,
        "origin_region_code": event.origin_region_code,
        "stay_reference": event.stay_reference,
        "cancels_event_id": event.cancels_event_id,
        "source": event.source,
        "received_at": _utc(event.received_at),
    }
