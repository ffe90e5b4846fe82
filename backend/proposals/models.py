"""Placement proposals (plaatsingsvoorstellen): a place offered to a provider for one youth.

An open proposal holds one place of its group (``groups.held_places``) until the provider
accepts (the place stays held for the expected arrival, see ``backend/placements``), declines
or lets it expire (the place is free again).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import model_validator
from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel

from backend.validation import InputModel

PROPOSAL_STATUS_LABELS = {
    "open": "Openstaand",
    "accepted": "Geaccepteerd",
    "declined": "Afgewezen",
    "expired": "Verlopen",
    "withdrawn": "Ingetrokken",
}

# The default list, so that decline reasons can be counted in reports; "anders" needs a short
# text. A region keeps its own list in its settings (``backend.regions.settings``): codes stay,
# a reason can be retired and new ones added.
DECLINE_REASONS = {
    "geen_plek_meer": "Geen plek meer vrij",
    "past_niet_bij_groep": "Past niet bij de groep (zorginhoud)",
    "groepsdynamiek": "Groepsdynamiek laat het nu niet toe",
    "veiligheid": "Veiligheid van de jongere of de groep",
    "personeel": "Te weinig personeel",
    "anders": "Anders (toelichting verplicht)",
}


class Proposal(SQLModel, table=True):
    __tablename__ = "proposals"

    id: int | None = Field(default=None, primary_key=True)
    referral_id: int = Field(foreign_key="referrals.id", index=True)
    group_id: int = Field(foreign_key="groups.id", index=True)
    provider_id: int = Field(foreign_key="providers.id", index=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    run_id: int | None = Field(default=None, foreign_key="matching_runs.id", index=True)
    score: float | None = None
    components: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    distance_km: float | None = None
    status: str = Field(default="open", max_length=12, index=True)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=120)
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    answered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    answered_by: str | None = Field(default=None, max_length=120)
    decline_reason: str | None = Field(default=None, max_length=40)
    decline_text: str | None = Field(default=None, max_length=500)


class ProposalCreate(InputModel):
    """A coordinator proposes one option from the ranking."""

    group_id: int


class DeclineRequest(InputModel):
    reason: str = Field(max_length=40)
    text: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _known_reason(self) -> DeclineRequest:
        # Which codes may be chosen is the region's list, checked when the proposal is known.
        if self.text is not None:
            self.text = self.text.strip() or None
        if self.reason == "anders" and not self.text:
            raise ValueError("geef een korte toelichting bij de reden 'anders'")
        return self


class NeedProfile(SQLModel):
    """What a provider sees of the youth: the need profile, never the reference."""

    age: int
    gender: str
    required_intensity: str
    risk_profile: str
    needs: list[str]
    need_labels: list[str]
    urgency: int
    secure_authorisation: bool
    home_municipality: str | None
    siblings_in_proposal: int


class ProposalPublic(SQLModel):
    id: int
    group_id: int
    group_name: str | None
    provider_id: int
    care_form: str | None
    group_intensity: str | None
    status: str
    status_label: str
    score: float | None
    components: dict[str, Any]
    distance_km: float | None
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    decline_reason: str | None
    decline_label: str | None
    decline_text: str | None
    run_id: int | None
    profile: NeedProfile
    # What the provider needs to decide and to ask about it: who proposed (the coordinator's
    # name), the region's coordination point to contact, and who answered.
    proposed_by: str | None = None
    coordinator_contact: str | None = None
    answered_by: str | None = None
    # Only for coordinators: which referral this proposal is for.
    referral_id: int | None = None
    reference: str | None = None
    # Once accepted: the placement, its expected arrival and the stay reference to admit under.
    placement_id: int | None = None
    placement_status: str | None = None
    expected_arrival: date | None = None
    stay_reference: str | None = None
