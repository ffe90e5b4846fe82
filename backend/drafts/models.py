"""Drafts (concepten): a half-finished form kept on the server, per person and form.

A draft lets a form survive a reload, a second device and a dropped connection. It belongs to
one person (never shared), is small (``MAX_BYTES``), expires (``KEEP_DAYS`` after its last
save) and is scanned for a BSN like every other input. Which forms may keep a draft is a fixed
list (``FORMS``), and it says whether a form holds youth data: then every read and change of the
draft is audited.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.validation import InputModel

# form name -> (Dutch label, holds youth data). A key is the name, optionally ":<id>" for the
# object the form is about (``verwijzing-wijzigen:12`` edits referral 12).
FORMS: dict[str, tuple[str, bool]] = {
    "verwijzing-nieuw": ("Nieuwe verwijzing", True),
    "verwijzing-wijzigen": ("Verwijzing wijzigen", True),
    "verwijzing-intrekken": ("Verwijzing intrekken", True),
    "batchrun-beoordeling": ("Beoordeling van een batchrun", True),
    # The crisis search holds an age, gender and place of a youth: youth data, audited.
    "crisis-zoeken": ("Crisisplek zoeken", True),
    "groepsprofiel": ("Groepsprofiel bewerken", False),
    "plaatsen-aanvraag": ("Plaatsen aanvragen", False),
    "contractversie": ("Nieuwe contractversie", False),
    # Account forms never hold a password: a new person sets it with a one-time code.
    "gebruiker-nieuw": ("Nieuwe gebruiker", False),
    "sleutel-nieuw": ("Nieuwe API-sleutel", False),
}
# Forms whose ":<id>" is a referral: the audit row names that youth record.
REFERRAL_FORMS = ("verwijzing-wijzigen", "verwijzing-intrekken")

FORM_KEY = re.compile(r"^(?P<form>[a-z][a-z-]{1,39})(?::(?P<object>\d{1,12}))?$")
MAX_BYTES = 16_000  # the stored JSON; a form's worth of fields, not a file
MAX_PER_PERSON = 30  # beyond this the least recently saved draft gives way
KEEP_DAYS = 7


class Draft(SQLModel, table=True):
    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("user_id", "form_key", name="uq_drafts_user_form"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    form_key: str = Field(max_length=60)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    size: int
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    version: int = 1


class DraftSave(InputModel):
    """The form's fields as the web app reads them (any JSON object; texts are scanned for a BSN)."""

    data: dict[str, Any]


class DraftPublic(SQLModel):
    form_key: str
    form_label: str
    data: dict[str, Any]
    updated_at: datetime
    expires_at: datetime
    version: int
