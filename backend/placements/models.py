"""Placements (plaatsingen): one youth in one group, from an accepted proposal to discharge.

A placement follows the youth through four moments:

- ``accepted``: the provider accepted a proposal and expects the youth on a date. The place
  the proposal held stays held (``groups.held_places``) until the youth arrives, so derived
  free places and every search see it as taken.
- ``arrived``: start of care. The held place becomes an occupied one and an admission is
  recorded in the occupancy feed under the placement's stay reference (the provider's own
  system may name it on arrival; else plekwijzer's is used and sent back).
- ``discharged``: end of care, with a date and a destination from a fixed list.
- ``no_show`` / ``cancelled``: the youth did not come or the arrival was called off; the held
  place is released and the youth waits again, with the reason kept.

A transfer between groups ends one placement (discharged, destination "andere residentiële
jeugdhulp") and starts the next (arrived at once) in one transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from backend.validation import InputModel

PLACEMENT_STATUS_LABELS = {
    "accepted": "Aankomst verwacht",
    "arrived": "Aangekomen",
    "discharged": "Uitgestroomd",
    "no_show": "Niet verschenen",
    "cancelled": "Gaat niet door",
}
OPEN_STATUSES = ("accepted", "arrived")

# Where a youth went after the placement (a fixed list, so that outflow can be counted).
DESTINATIONS = {
    "home": "Thuis",
    "foster_care": "Pleegzorg",
    "residential": "Andere residentiële jeugdhulp",
    "independent": "Zelfstandig wonen",
    "other_region": "Andere regio",
    "other": "Anders",
    # Only for a discharge the provider's own feed reported without saying where to.
    "unknown": "Anders/onbekend",
}
CHOSEN_DESTINATIONS = tuple(code for code in DESTINATIONS if code != "unknown")

NOT_ARRIVING = {"no_show": "Niet verschenen", "cancelled": "Gaat niet door"}

# How far ahead an expected arrival may be planned: an intake date beyond this is a typing error.
MAX_ARRIVAL_DAYS = 90


class Placement(SQLModel, table=True):
    __tablename__ = "placements"

    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="referrals.id", index=True)
    group_id: int = Field(foreign_key="groups.id", index=True)
    provider_id: int = Field(foreign_key="providers.id", index=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    proposal_id: int | None = Field(default=None, foreign_key="proposals.id", index=True)
    hold_id: int | None = Field(default=None, foreign_key="holds.id")
    # The placement this one continues (a transfer between groups).
    transferred_from: int | None = Field(default=None, foreign_key="placements.id")
    status: str = Field(default="accepted", max_length=12, index=True)
    expected_arrival: date
    # Pseudonymous, never a name or BSN: what the provider's system calls this stay.
    stay_reference: str = Field(max_length=64)
    arrived_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    discharged_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    destination: str | None = Field(default=None, max_length=20)
    # Why an expected arrival did not happen (no_show / cancelled).
    end_reason: str | None = Field(default=None, max_length=500)
    ended_by: str | None = Field(default=None, max_length=120)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=120)
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = 1


# --- API schemas ---------------------------------------------------------------------------


class _StayReference(InputModel):
    # The provider's own code for the stay (its system's id); scanned for a BSN like any text.
    stay_reference: str | None = Field(
        default=None, min_length=1, max_length=64, schema_extra={"pattern": r"^[A-Za-z0-9_.:\-]+$"}
    )


class AcceptRequest(InputModel):
    """Accepting a proposal: when the youth is expected (default today)."""

    expected_arrival: date | None = None


class ArrivalRequest(_StayReference):
    """The youth arrived: start of care. ``arrived_at`` defaults to now."""

    arrived_at: datetime | None = None


class NotArrivingRequest(InputModel):
    kind: Literal["no_show", "cancelled"] = "no_show"
    reason: str = Field(min_length=3, max_length=500)


class DischargeRequest(InputModel):
    destination: Literal["home", "foster_care", "residential", "independent", "other_region", "other"]
    discharged_at: datetime | None = None


class TransferRequest(_StayReference):
    """Move the youth to another group of the same provider: a discharge and an admission."""

    group_id: int
    at: datetime | None = None


class PlacementPublic(SQLModel):
    id: int
    referral_id: int | None  # coordinators only: providers never see which referral
    reference: str | None
    group_id: int
    group_name: str | None
    provider_id: int
    region_id: int
    proposal_id: int | None
    hold_id: int | None
    transferred_from: int | None
    status: str
    status_label: str
    expected_arrival: date
    stay_reference: str
    arrived_at: datetime | None
    discharged_at: datetime | None
    destination: str | None
    destination_label: str | None
    end_reason: str | None
    risk_profile: str
    created_at: datetime
    updated_at: datetime
    version: int
