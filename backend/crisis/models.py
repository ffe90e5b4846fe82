"""Crisis holds and the search/overview schemas.

A hold (*vastgehouden plaats*) claims one place of a group while the crisis team drives. The
claim itself lives in ``groups.held_places`` (one conditional UPDATE, backed by the CHECK
``held_places <= free_places``); this table is the record of who holds what, until when, and how
it ended. A confirmed hold is kept as the placement record (status ``confirmed``).

Which places count as crisis places: groups with care form ``crisis`` (crisis groups and crisis
foster families, *crisispleeggezinnen*). With the secure-care flag (a youth with a
(spoed)machtiging) ``jeugdzorgplus`` groups are searched too, because they take crisis
admissions under an emergency authorisation. Both are "crisis-capable": holds are allowed there
only.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import field_validator, model_validator
from sqlalchemy import CheckConstraint, Column, DateTime, Index
from sqlmodel import Field, SQLModel

from backend.domain import NEED_TAGS
from backend.validation import Code, InputModel

CRISIS_CARE_FORMS = ("crisis", "crisispleegzorg")
SECURE_CRISIS_CARE_FORMS = ("jeugdzorgplus",)
CRISIS_CAPABLE_CARE_FORMS = CRISIS_CARE_FORMS + SECURE_CRISIS_CARE_FORMS

HOLD_STATUSES = ("active", "confirmed", "released", "expired", "rejected")
HOLD_STATUS_LABELS = {
    "active": "vastgehouden",
    "confirmed": "geplaatst",
    "released": "vrijgegeven",
    "expired": "verlopen",
    "rejected": "afgewezen door aanbieder",
}

# Reasons a provider may give when it rejects a hold; "anders" needs a free text.
REJECT_REASONS = {
    "groep_vol": "De groep is inmiddels vol",
    "personeel": "Onvoldoende personeel om nu op te nemen",
    "veiligheid": "De veiligheid op de groep laat een opname nu niet toe",
    "past_niet": "De jeugdige past niet bij deze groep",
    "anders": "Andere reden",
}

GENDERS = ("jongen", "meisje", "anders")
MAX_HOLD_MINUTES = 24 * 60

_REFERENCE = re.compile(r"^[A-Za-z0-9-]{3,40}$")


def validate_reference(value: str) -> str:
    """A pseudonymous crisis reference: a short code, never a name or a BSN."""
    value = value.strip()
    if not _REFERENCE.match(value):
        raise ValueError("gebruik een korte code van 3 tot 40 letters, cijfers of streepjes (geen naam, geen spaties)")
    if re.fullmatch(r"\d{9}", value.replace("-", "")):
        raise ValueError("een nummer van 9 cijfers kan een BSN zijn; gebruik een eigen crisiscode")
    return value


class Hold(SQLModel, table=True):
    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'confirmed', 'released', 'expired', 'rejected')", name="ck_holds_status"),
        CheckConstraint("crisis_reference IS NOT NULL OR referral_id IS NOT NULL", name="ck_holds_subject"),
        # The expiry sweep looks for active holds past their time.
        Index("ix_holds_status_expires_at", "status", "expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="groups.id", index=True)
    # provider_id is copied from the group so that the provider filter needs no join;
    # region_id is the region the hold is made for (the holding crisis team's region, else the
    # group's): who may read the hold, and the youth's region of origin when it is confirmed.
    provider_id: int = Field(index=True)
    region_id: int = Field(index=True)
    status: str = Field(default="active", max_length=12)
    crisis_reference: str | None = Field(default=None, max_length=40)
    referral_id: int | None = Field(default=None, foreign_key="referrals.id", index=True)
    age: int | None = None
    gender: str | None = Field(default=None, max_length=10)
    origin_region_code: str | None = Field(default=None, max_length=8)
    note: str | None = Field(default=None, max_length=300)
    minutes: int
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=120)
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    ended_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    ended_by: str | None = Field(default=None, max_length=120)
    end_reason_code: str | None = Field(default=None, max_length=20)
    end_reason: str | None = Field(default=None, max_length=300)


# -- input ------------------------------------------------------------------------------------


class CrisisSearch(InputModel):
    """What the crisis worker knows at 3 a.m. Position: a postcode (4 digits) or lat/lon."""

    age: int = Field(ge=0, le=27)
    gender: Literal["jongen", "meisje", "anders"] | None = None
    postcode: str | None = Field(default=None, max_length=7)
    lat: float | None = Field(default=None, ge=50.0, le=54.0)
    lon: float | None = Field(default=None, ge=3.0, le=7.5)
    needs: list[Code] = Field(default_factory=list, max_length=12)
    secure_care: bool = False
    radius_km: float = Field(default=60.0, gt=0, le=400)
    region_code: str | None = Field(default=None, max_length=8)
    limit: int = Field(default=20, ge=1, le=100)

    @field_validator("needs")
    @classmethod
    def _known_needs(cls, value: list[str]) -> list[str]:
        unknown = [tag for tag in value if tag not in NEED_TAGS]
        if unknown:
            raise ValueError(f"onbekende zorgbehoefte: {', '.join(unknown)}")
        return value

    @model_validator(mode="after")
    def _position(self) -> CrisisSearch:
        if self.postcode is not None:
            self.postcode = self.postcode.strip()[:4]
        has_coords = self.lat is not None and self.lon is not None
        if (self.lat is None) != (self.lon is None):
            raise ValueError("geef zowel de breedtegraad als de lengtegraad op")
        if not self.postcode and not has_coords:
            raise ValueError("geef een postcode of de positie van de jeugdige op")
        return self


class HoldCreate(InputModel):
    group_id: int
    crisis_reference: str | None = Field(
        default=None, max_length=40, description="Korte pseudonieme crisiscode (geen naam, geen BSN)."
    )
    referral_id: int | None = None
    minutes: int | None = Field(default=None, ge=5, le=MAX_HOLD_MINUTES)
    age: int | None = Field(default=None, ge=0, le=27)
    gender: Literal["jongen", "meisje", "anders"] | None = None
    origin_region_code: str | None = Field(default=None, max_length=8)
    note: str | None = Field(default=None, max_length=300)

    @field_validator("crisis_reference")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        return None if value is None else validate_reference(value)

    @model_validator(mode="after")
    def _subject(self) -> HoldCreate:
        if self.crisis_reference is None and self.referral_id is None:
            raise ValueError("geef een crisiscode of een verwijzing op")
        return self


class HoldReject(InputModel):
    reason_code: Literal["groep_vol", "personeel", "veiligheid", "past_niet", "anders"]
    reason: str | None = Field(default=None, max_length=300)

    @model_validator(mode="after")
    def _free_text(self) -> HoldReject:
        if self.reason is not None:
            self.reason = self.reason.strip() or None
        if self.reason_code == "anders" and not self.reason:
            raise ValueError("geef bij 'anders' de reden in eigen woorden")
        return self


# -- output -----------------------------------------------------------------------------------


class CrisisPlace(SQLModel):
    group_id: int
    group_name: str
    kind: str  # "crisisgroep" | "crisispleeggezin" | "jeugdzorgplus"
    care_form: str
    provider_id: int
    provider_name: str
    phone_24h: str | None
    region_code: str
    region_name: str
    tier: int  # 0 own region, 1 neighbouring region, 2 further away
    tier_label: str
    distance_km: float
    free_places: int  # net of active holds and open proposals
    reported_free_places: int
    held_places: int
    age_min: int
    age_max: int
    gender_policy: str
    needs_met: list[str]
    needs_missing: list[str]
    reported_at: datetime | None
    minutes_since_report: int | None
    stale: bool
    lat: float
    lon: float


class CrisisSearchResult(SQLModel):
    results: list[CrisisPlace]
    position: dict[str, float]
    own_region: str | None
    neighbour_regions: list[str]
    searched_radius_km: float
    order: str


class HoldPublic(SQLModel):
    id: int
    group_id: int
    provider_id: int
    region_id: int
    status: str
    status_label: str
    crisis_reference: str | None
    referral_id: int | None
    age: int | None
    gender: str | None
    origin_region_code: str | None
    note: str | None
    minutes: int
    created_at: datetime
    expires_at: datetime
    created_by: str
    confirmed_at: datetime | None
    ended_at: datetime | None
    ended_by: str | None
    end_reason_code: str | None
    end_reason: str | None
    group_name: str | None = None
    net_free_places: int | None = None
    admission_recorded: bool | None = None
    provider_name: str | None = None
    phone_24h: str | None = None


class CrisisSearchCount(SQLModel, table=True):
    """One crisis search, counted for the steering indicators: when, for which region, how many
    free places it found and whether one was in the own region. Nothing of the youth is kept
    (no position, age or needs): it is a count, not a record of who was looked for."""

    __tablename__ = "crisis_searches"
    __table_args__ = (Index("ix_crisis_searches_region_searched_at", "region_id", "searched_at"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id")
    searched_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    places_found: int = Field(ge=0)
    own_region_found: bool
