"""Referrals (verwijzingen): a youth waiting for a place, without name or BSN.

A referral carries only what matching needs: a pseudonymous reference, birth year and month,
gender, a home area (4-digit postcode or municipality), the need profile and constraints. The
home coordinates are resolved once when the referral is written, so that ranking needs no
postcode lookup per request.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import field_validator, model_validator
from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.domain import CARE_FORMS, INTENSITY_LETTERS, NEED_TAGS
from backend.validation import Code, InputModel


class ReferralStatus(StrEnum):
    waiting = "waiting"
    proposed = "proposed"
    accepted = "accepted"  # a provider accepted; the youth is expected (backend/placements)
    placed = "placed"  # arrived: in care
    discharged = "discharged"  # the placement ended
    withdrawn = "withdrawn"


STATUS_LABELS = {
    "waiting": "Wachtend",
    "proposed": "Voorgesteld",
    "accepted": "Aankomst verwacht",
    "placed": "Geplaatst",
    "discharged": "Uitgestroomd",
    "withdrawn": "Ingetrokken",
}


class Referral(SQLModel, table=True):
    __tablename__ = "referrals"
    __table_args__ = (UniqueConstraint("region_id", "reference", name="uq_referrals_region_reference"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    reference: str = Field(max_length=40)  # pseudonymous: never a name or BSN
    birth_year: int
    birth_month: int
    gender: str = Field(max_length=1)  # m, v, x
    home_postcode: str | None = Field(default=None, max_length=4)
    home_municipality_id: int | None = Field(default=None, foreign_key="municipalities.id")
    home_lat: float
    home_lon: float
    origin_region_code: str = Field(max_length=8)
    care_forms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    required_intensity: str = Field(max_length=1)
    risk_profile: str = Field(default="A", max_length=1)
    needs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    urgency: int = 3
    secure_authorisation: bool = False
    max_distance_km: float | None = None
    sibling_set: str | None = Field(default=None, max_length=40, index=True)
    together: str = Field(default="group", max_length=10)
    excluded_provider_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Groups that declined this youth: kept out of the next ranking and batch run.
    excluded_group_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    waiting_since: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    status: str = Field(default="waiting", max_length=12, index=True)
    placed_group_id: int | None = Field(default=None, foreign_key="groups.id", index=True)
    placed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # When and where to the placement ended (backend/placements DESTINATIONS).
    discharged_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    discharge_destination: str | None = Field(default=None, max_length=20)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = 1


def _check_common(data: Any) -> None:
    """Domain checks shared by create and update, with Dutch messages."""
    forms = data.care_forms
    if forms is not None:
        unknown = [f for f in forms if f not in CARE_FORMS]
        if unknown:
            raise ValueError(f"onbekende zorgvorm: {', '.join(unknown)}")
        if len(set(forms)) != len(forms):
            raise ValueError("een zorgvorm staat dubbel in de voorkeursvolgorde")
    needs = data.needs
    if needs is not None:
        unknown = [t for t in needs if t not in NEED_TAGS]
        if unknown:
            raise ValueError(f"onbekende zorgbehoefte: {', '.join(unknown)} (kies uit {', '.join(NEED_TAGS)})")
    code = data.origin_region_code
    if code is not None:
        code = code.strip().upper()
        if not (len(code) == 4 and code.startswith("JZ") and code[2:].isdigit() and 1 <= int(code[2:]) <= 43):
            raise ValueError(f"'{data.origin_region_code}' is geen jeugdregiocode (JZ01 tot en met JZ43)")
    if data.required_intensity is not None and data.required_intensity not in INTENSITY_LETTERS:
        raise ValueError("benodigde verblijfsintensiteit moet een letter van A tot en met S zijn")


class ReferralCreate(InputModel):
    reference: str = Field(min_length=2, max_length=40, schema_extra={"pattern": r"^[A-Za-z0-9_.\-]+$"})
    birth_year: int = Field(ge=1995, le=2100)
    birth_month: int = Field(ge=1, le=12)
    gender: Literal["m", "v", "x"]
    home_postcode: str | None = Field(default=None, max_length=4, schema_extra={"pattern": r"^\d{4}$"})
    home_municipality: str | None = Field(default=None, max_length=120)
    origin_region_code: str | None = Field(default=None, max_length=8)
    care_forms: list[Code] = Field(min_length=1, max_length=12)
    required_intensity: str = Field(min_length=1, max_length=1)
    risk_profile: Literal["A", "B", "C"] = "A"
    needs: list[Code] = Field(default_factory=list, max_length=12)
    urgency: int = Field(default=3, ge=1, le=5)
    secure_authorisation: bool = False
    max_distance_km: float | None = Field(default=None, gt=0, le=500)
    sibling_set: str | None = Field(default=None, min_length=1, max_length=40)
    together: Literal["group", "location"] = "group"
    excluded_provider_ids: list[int] = Field(default_factory=list, max_length=200)
    waiting_since: datetime | None = None
    region_id: int | None = None

    @field_validator("reference")
    @classmethod
    def _not_a_bsn(cls, value: str) -> str:
        # A BSN is 9 digits (sometimes 8); a pseudonymous reference must not look like one.
        if value.isdigit() and len(value) in (8, 9):
            raise ValueError("de referentie lijkt op een BSN; gebruik een pseudoniem (bijv. TW-2025-0012)")
        return value

    @model_validator(mode="after")
    def _check(self) -> ReferralCreate:
        if not self.home_postcode and not self.home_municipality:
            raise ValueError("geef een postcode (4 cijfers) of een woongemeente op")
        _check_common(self)
        return self


class ReferralUpdate(InputModel):
    """Every field optional: only what is sent changes."""

    birth_year: int | None = Field(default=None, ge=1995, le=2100)
    birth_month: int | None = Field(default=None, ge=1, le=12)
    gender: Literal["m", "v", "x"] | None = None
    home_postcode: str | None = Field(default=None, max_length=4, schema_extra={"pattern": r"^\d{4}$"})
    home_municipality: str | None = Field(default=None, max_length=120)
    origin_region_code: str | None = Field(default=None, max_length=8)
    care_forms: list[Code] | None = Field(default=None, min_length=1, max_length=12)
    required_intensity: str | None = Field(default=None, min_length=1, max_length=1)
    risk_profile: Literal["A", "B", "C"] | None = None
    needs: list[Code] | None = Field(default=None, max_length=12)
    urgency: int | None = Field(default=None, ge=1, le=5)
    secure_authorisation: bool | None = None
    max_distance_km: float | None = Field(default=None, gt=0, le=500)
    sibling_set: str | None = Field(default=None, min_length=1, max_length=40)
    together: Literal["group", "location"] | None = None
    excluded_provider_ids: list[int] | None = Field(default=None, max_length=200)
    excluded_group_ids: list[int] | None = Field(default=None, max_length=500)
    waiting_since: datetime | None = None

    @model_validator(mode="after")
    def _check(self) -> ReferralUpdate:
        _check_common(self)
        return self


class ReferralPublic(SQLModel):
    id: int
    region_id: int
    reference: str
    birth_year: int
    birth_month: int
    age: int
    gender: str
    home_postcode: str | None
    home_municipality_id: int | None
    origin_region_code: str
    care_forms: list[str]
    required_intensity: str
    risk_profile: str
    needs: list[str]
    urgency: int
    secure_authorisation: bool
    max_distance_km: float | None
    sibling_set: str | None
    together: str
    excluded_provider_ids: list[int]
    excluded_group_ids: list[int]
    waiting_since: datetime
    waiting_days: float
    status: str
    status_label: str
    placed_group_id: int | None
    placed_at: datetime | None = None
    discharged_at: datetime | None = None
    discharge_destination: str | None = None
    discharge_destination_label: str | None = None
    created_at: datetime
    updated_at: datetime
    version: int
