"""Providers (zorgaanbieders), their locations and groups.

A group's availability (free places, admitting, reason, when reported) lives on the group row
itself with a ``version`` that increases with every report: the version is the ETag that
optimistic concurrency (If-Match) checks against.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, DateTime, Index, UniqueConstraint, and_, false, or_
from sqlmodel import Field, SQLModel

AGB_PATTERN = re.compile(r"^\d{8}$")


class Provider(SQLModel, table=True):
    __tablename__ = "providers"

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    name: str = Field(max_length=200)
    agb_code: str = Field(unique=True, max_length=8)  # Vektis AGB code: 8 digits
    phone_24h: str | None = Field(default=None, max_length=30)
    contact_email: str | None = Field(default=None, max_length=200)
    # Nothing in the register is deleted: a provider that stops gets an end date (inclusive).
    active_from: date | None = None
    active_to: date | None = None


class ProviderPublic(SQLModel):
    id: int
    region_id: int
    name: str
    agb_code: str
    phone_24h: str | None
    contact_email: str | None = None
    active_from: date | None = None
    active_to: date | None = None


class Location(SQLModel, table=True):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("provider_id", "code", name="uq_locations_provider_code"),)

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="providers.id", index=True)
    code: str = Field(max_length=40)  # the provider's own code: the stable key of the register
    municipality_id: int = Field(foreign_key="municipalities.id", index=True)
    name: str = Field(max_length=200)
    postcode: str = Field(max_length=4)
    lat: float
    lon: float


class LocationPublic(SQLModel):
    id: int
    provider_id: int
    municipality_id: int
    code: str
    name: str
    postcode: str
    lat: float
    lon: float


class Group(SQLModel, table=True):
    __tablename__ = "groups"
    __table_args__ = (
        CheckConstraint("free_places >= 0 AND free_places <= capacity", name="ck_groups_free_places"),
        CheckConstraint("held_places >= 0 AND held_places <= free_places", name="ck_groups_held_places"),
        UniqueConstraint("provider_id", "code", name="uq_groups_provider_code"),
        # The crisis search's first filter: care form, then a box around the youth.
        Index("ix_groups_care_form_lat_lon", "care_form", "lat", "lon"),
    )

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="providers.id", index=True)
    location_id: int = Field(foreign_key="locations.id", index=True)
    # Copied from the location so that listing and searching need no join.
    municipality_id: int = Field(foreign_key="municipalities.id", index=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    lat: float
    lon: float

    code: str = Field(max_length=40)  # the provider's own code: the stable key of the register
    name: str = Field(max_length=200)
    care_form: str = Field(index=True, max_length=20)
    # Family homes are outside the A–S model: their own level (licht, middel, zwaar).
    level: str | None = Field(default=None, max_length=10)
    # The contracted places valid today (the dated versions are in contract_terms).
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
    # Active period (inclusive); a group that stops gets an end date and keeps its history.
    active_from: date | None = None
    active_to: date | None = None

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
    # Free places follow the occupancy feed (the provider's choice per group): free_places is
    # then derived, max(held_places, capacity - feed_present), written only by
    # backend/availability/service.py. ``feed_present`` is the youths present according to the
    # feed when the group last followed it (only kept current while ``places_from_feed``).
    places_from_feed: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    feed_present: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class GroupPublic(SQLModel):
    id: int
    provider_id: int
    location_id: int
    municipality_id: int
    region_id: int
    code: str
    name: str
    care_form: str
    level: str | None
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
    active_from: date | None
    active_to: date | None
    # Free places derived from the occupancy feed; ``feed_present`` counts only when true. When
    # held_places > capacity - feed_present the group is over-booked (open 0, held places
    # beyond what the feed leaves free).
    places_from_feed: bool = False
    feed_present: int = 0
    provider_name: str | None = None
    municipality_name: str | None = None


def active_on(day: date | Any, table: Any = None) -> Any:
    """The SQL condition for a group that is in the register on ``day`` (its active period is
    inclusive; an open end is no limit). ``day`` may be a date or a bind parameter; ``table`` the
    groups table for Core statements."""
    columns = (table if table is not None else Group.__table__).c  # type: ignore[attr-defined]
    return and_(
        or_(columns.active_from.is_(None), columns.active_from <= day),
        or_(columns.active_to.is_(None), columns.active_to >= day),
    )


def is_stale(reported_at: datetime | None, *, stale_after_hours: float, now: datetime | None = None) -> bool:
    """The one staleness rule: never reported, or reported longer ago than the region allows."""
    if reported_at is None:
        return True
    if reported_at.tzinfo is None:  # SQLite hands back naive datetimes; everything stored is UTC
        reported_at = reported_at.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) - reported_at > timedelta(hours=stale_after_hours)


def json_datetime(moment: datetime) -> str:
    """A stored (UTC) moment as pydantic writes it in JSON: UTC as "Z"."""
    if moment.tzinfo is None or moment.utcoffset() == timedelta(0):
        return moment.replace(tzinfo=None).isoformat() + "Z"
    return moment.isoformat()


# The one table of GroupPublic's fields that are not plain columns: how each is computed from a
# groups row, in Python (from a mapping of the row) and in SQL (``{row}`` is the row's alias,
# ``:stale`` and ``:reported_at_json`` are bound by the statement). Every other field is the
# column of the same name. ``group_public_json`` and the PostgreSQL report statement are both
# generated from it, so a new field is added in one place (tests pin that both agree).
_FLOAT_FIELDS = frozenset({"weekly_roster_hours", "occupancy_norm", "day_tariff", "lat", "lon"})
PUBLIC_FIELDS: dict[str, tuple[Any, str]] = {
    "net_free_places": (
        lambda row, stale: max(0, row["free_places"] - row["held_places"]),
        "GREATEST(0,{row}.free_places-{row}.held_places)",
    ),
    "reason": (lambda row, stale: row["not_admitting_reason"], "{row}.not_admitting_reason"),
    **{
        name: (
            lambda row, stale, name=name: None if row[name] is None else row[name].isoformat(),
            f"{{row}}.{name}",
        )
        for name in ("expected_free_date", "active_from", "active_to")
    },
    "expertise": (lambda row, stale: list(row["expertise"]), "{row}.expertise"),
    "reported_at": (
        lambda row, stale: None if row["reported_at"] is None else json_datetime(row["reported_at"]),
        "CAST(:reported_at_json AS text)",
    ),
    "stale": (lambda row, stale: stale, "CAST(:stale AS boolean)"),
    "provider_name": (lambda row, stale: None, "CAST(NULL AS text)"),
    "municipality_name": (lambda row, stale: None, "CAST(NULL AS text)"),
    # PostgreSQL writes a whole float8 as "220", Python as "220.0": keep the type.
    **{
        name: (
            lambda row, stale, name=name: float(row[name]),
            f"regexp_replace({{row}}.{name}::text,'^(-?[0-9]+)$','\\1.0')::json",
        )
        for name in _FLOAT_FIELDS
    },
}


def group_public_json(row: Any, *, stale_after_hours: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A group as the API and the live feed show it (GroupPublic in JSON form, keys in its
    order), from a groups row: a mapping of its columns or a ``Group``."""
    if isinstance(row, Group):
        row = {name: getattr(row, name) for name in Group.model_fields}
    stale = is_stale(row["reported_at"], stale_after_hours=stale_after_hours)
    data = {
        name: PUBLIC_FIELDS[name][0](row, stale) if name in PUBLIC_FIELDS else row[name]
        for name in GroupPublic.model_fields
    }
    data.update(extra or {})
    return data


def group_public_sql(row: str) -> str:
    """The same JSON built by PostgreSQL from a groups row called ``row``."""
    columns = [
        f"{PUBLIC_FIELDS[name][1].format(row=row)} AS {name}" if name in PUBLIC_FIELDS else f"{row}.{name}"
        for name in GroupPublic.model_fields
    ]
    return f"(SELECT row_to_json(p) FROM (SELECT {','.join(columns)}) AS p)"
