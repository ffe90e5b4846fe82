"""The contract register's own tables: dated contract terms per group and the region's tariff
table. Providers, locations and groups themselves live in ``backend.providers``.

Contract terms are versions owned by the region: each is valid from a date to a date (both
inclusive; no end date means "until further notice"), and approved versions of one group never
overlap. A provider's request for more or fewer places is a term with status ``requested`` that
waits for the region's decision. Nothing is deleted: a new version ends the one before it.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import field_validator
from sqlalchemy import CheckConstraint, Column, DateTime
from sqlmodel import Field, SQLModel

from backend.domain import as_utc
from backend.validation import Code, InputModel

TERM_APPROVED = "approved"
TERM_REQUESTED = "requested"
TERM_REJECTED = "rejected"
TERM_STATUSES = (TERM_APPROVED, TERM_REQUESTED, TERM_REJECTED)

# Family homes are outside the A–S model: one tariff for the whole house by its level (seed 000).
FAMILY_HOME_LEVELS = ("licht", "middel", "zwaar")


class ContractTerm(SQLModel, table=True):
    __tablename__ = "contract_terms"
    __table_args__ = (
        CheckConstraint("contracted_places >= 1", name="ck_contract_terms_places"),
        CheckConstraint(
            "availability_share IS NULL OR (availability_share >= 0 AND availability_share <= 1)",
            name="ck_contract_terms_share",
        ),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="ck_contract_terms_period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    group_id: int = Field(foreign_key="groups.id", index=True)
    valid_from: date
    valid_to: date | None = None
    contracted_places: int
    # A group-specific day tariff (every crisis group has its own); None: the region's tariff
    # table by care form and funded intensity (or family-home level).
    day_tariff: float | None = None
    availability_funded: bool = False
    # None: the region's default availability share.
    availability_share: float | None = None
    status: str = Field(default=TERM_APPROVED, max_length=10, index=True)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=120)
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    decided_by: str | None = Field(default=None, max_length=120)
    note: str | None = Field(default=None, max_length=500)


class Tariff(SQLModel, table=True):
    """A day tariff of the region per care form and intensity letter (A–S), family-home level,
    or ``""`` for the whole care form (foster care's daily rate, crisis foster care's P×Q)."""

    __tablename__ = "tariffs"
    __table_args__ = (
        CheckConstraint("day_tariff >= 0", name="ck_tariffs_day_tariff"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="ck_tariffs_period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    care_form: str = Field(max_length=20)
    intensity: str = Field(default="", max_length=10)
    day_tariff: float
    valid_from: date
    valid_to: date | None = None


class ContractTermPublic(SQLModel):
    id: int
    region_id: int
    group_id: int
    valid_from: date
    valid_to: date | None
    contracted_places: int
    day_tariff: float | None
    availability_funded: bool
    availability_share: float | None
    status: str
    created_at: datetime
    created_by: str
    decided_at: datetime | None
    decided_by: str | None
    note: str | None

    @field_validator("created_at", "decided_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # SQLite hands back naive datetimes; everything stored is UTC, and the API says so.
        return as_utc(value)


class TariffPublic(SQLModel):
    id: int
    region_id: int
    care_form: str
    intensity: str
    day_tariff: float
    valid_from: date
    valid_to: date | None


class ContractTermCreate(InputModel):
    """A new version of a group's contract, set by the region."""

    valid_from: date
    valid_to: date | None = None
    contracted_places: int = Field(ge=1, le=500)
    day_tariff: float | None = Field(default=None, ge=0)
    availability_funded: bool
    availability_share: float | None = Field(default=None, ge=0, le=1)
    note: str | None = Field(default=None, max_length=500)

    @field_validator("availability_share", "day_tariff", mode="before")
    @classmethod
    def _plain_number(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError("moet een getal zijn, met een punt als decimaalteken (bijvoorbeeld 0.75)")
        return value


class PlacesRequest(InputModel):
    """A provider's request for more or fewer contracted places from a date; the region decides."""

    valid_from: date
    contracted_places: int = Field(ge=1, le=500)
    note: str | None = Field(default=None, max_length=500)


class TermDecision(InputModel):
    approve: bool
    note: str | None = Field(default=None, max_length=500)


class GroupProfileUpdate(InputModel):
    """What a provider's planner keeps current of its own group (the region owns the rest)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    age_min: int | None = Field(default=None, ge=0, le=27)
    age_max: int | None = Field(default=None, ge=0, le=27)
    gender_policy: str | None = Field(default=None, max_length=10)
    risk_profiles: str | None = Field(default=None, min_length=1, max_length=3)
    expertise: list[Code] | None = Field(default=None, max_length=30)
    weekly_roster_hours: float | None = Field(default=None, gt=0, le=10000)


class GroupContractUpdate(InputModel):
    """What only the region changes of a group besides its contract terms."""

    care_form: str | None = Field(default=None, max_length=20)
    level: str | None = Field(default=None, max_length=10)
    active_from: date | None = None
    active_to: date | None = None


class LocationUpdate(InputModel):
    """What a provider's planner keeps current of its own location; a new postcode moves the
    location (and its groups) to that postcode's centre and municipality."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    postcode: str | None = Field(default=None, min_length=4, max_length=4)


class ProviderUpdate(InputModel):
    """The region's part of a provider's register entry."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    phone_24h: str | None = Field(default=None, max_length=30)
    contact_email: str | None = Field(default=None, max_length=200)
    active_from: date | None = None
    active_to: date | None = None
