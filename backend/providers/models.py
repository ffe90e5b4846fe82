"""Providers (zorgaanbieders), their locations and groups.

A group's availability (free places, admitting, reason, when reported) lives on the group row
itself with a ``version`` that increases with every report: the version is the ETag that
optimistic concurrency (If-Match) checks against.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, CheckConstraint, Column, DateTime
from sqlmodel import Field, SQLModel

AGB_PATTERN = re.compile(r"^\d{8}$")


class Provider(SQLModel, table=True):
    __tablename__ = "providers"

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    name: str = Field(max_length=200)
    agb_code: str = Field(unique=True, max_length=8)  # Vektis AGB code: 8 digits
    phone_24h: str | None = Field(default=None, max_length=30)


class ProviderCreate(SQLModel):
    region_id: int
    name: str = Field(min_length=2, max_length=200)
    agb_code: str
    phone_24h: str | None = None

    @field_validator("agb_code")
    @classmethod
    def _agb(cls, value: str) -> str:
        if not AGB_PATTERN.match(value):
            raise ValueError("AGB-code moet uit precies 8 cijfers bestaan")
        return value


class ProviderPublic(SQLModel):
    id: int
    region_id: int
    name: str
    agb_code: str
    phone_24h: str | None


class Location(SQLModel, table=True):
    __tablename__ = "locations"

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="providers.id", index=True)
    municipality_id: int = Field(foreign_key="municipalities.id", index=True)
    name: str = Field(max_length=200)
    postcode: str = Field(max_length=4)
    lat: float
    lon: float


class Group(SQLModel, table=True):
    __tablename__ = "groups"
    __table_args__ = (
        CheckConstraint("free_places >= 0 AND free_places <= capacity", name="ck_groups_free_places"),
        CheckConstraint("held_places >= 0 AND held_places <= free_places", name="ck_groups_held_places"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="providers.id", index=True)
    location_id: int = Field(foreign_key="locations.id", index=True)
    # Copied from the location so that listing and searching need no join.
    municipality_id: int = Field(foreign_key="municipalities.id", index=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    lat: float
    lon: float

    name: str = Field(max_length=200)
    care_form: str = Field(index=True, max_length=20)
    capacity: int
    age_min: int
    age_max: int
    gender_policy: str = Field(default="gemengd", max_length=10)
    risk_profiles: str = Field(default="AB", max_length=3)  # accepted profiles, e.g. "ABC"
    expertise: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    weekly_roster_hours: float
    occupancy_norm: float
    intensity: str = Field(max_length=1)  # derived from roster hours, places and norm
    max_intensity: str = Field(max_length=1)  # the care form's maximum
    is_crisis: bool = Field(default=False, index=True)
    availability_funded: bool = False
    day_tariff: float = 0.0

    # Availability, as last reported.
    free_places: int = 0
    # Places claimed but not yet occupied: active crisis holds and open placement proposals.
    # The database refuses held_places > free_places (CHECK constraint), and every claim is an
    # atomic conditional UPDATE, so no two people can ever take the same bed.
    held_places: int = 0
    admitting: bool = True
    not_admitting_reason: str | None = Field(default=None, max_length=200)
    expected_free_date: date | None = None
    waiting_list: int | None = None
    reported_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    reported_by: str | None = Field(default=None, max_length=120)
    version: int = 1


class GroupPublic(SQLModel):
    id: int
    provider_id: int
    location_id: int
    municipality_id: int
    region_id: int
    name: str
    care_form: str
    capacity: int
    age_min: int
    age_max: int
    gender_policy: str
    risk_profiles: str
    expertise: list[str]
    weekly_roster_hours: float
    occupancy_norm: float
    intensity: str
    max_intensity: str
    is_crisis: bool
    availability_funded: bool
    day_tariff: float
    lat: float
    lon: float
    free_places: int
    held_places: int
    net_free_places: int  # free places minus active holds and open proposals
    admitting: bool
    reason: str | None
    expected_free_date: date | None
    waiting_list: int | None
    reported_at: datetime | None
    stale: bool
    version: int
    provider_name: str | None = None
    municipality_name: str | None = None


def group_public(group: Group, *, stale: bool, extra: dict[str, Any] | None = None) -> GroupPublic:
    data = group.model_dump()
    # SQLite hands back naive datetimes; everything stored is UTC.
    if data["reported_at"] is not None and data["reported_at"].tzinfo is None:
        data["reported_at"] = data["reported_at"].replace(tzinfo=UTC)
    data["reason"] = data.pop("not_admitting_reason")
    data.pop("reported_by", None)
    data["stale"] = stale
    data["net_free_places"] = max(0, group.free_places - group.held_places)
    data.update(extra or {})
    return GroupPublic.model_validate(data)
