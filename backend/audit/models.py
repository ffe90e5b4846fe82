"""Audit log (NEN 7513): who read or changed what, when, about which youth record, and why; and
the seals of its hash chain (``backend/audit/chain.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, Column, DateTime, Integer, Text
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    actor: str = Field(max_length=120)  # "user:12:alice" or "api-key:3"
    actor_role: str = Field(max_length=20)
    action: str = Field(max_length=60)  # e.g. availability.update, referral.read
    object_type: str = Field(max_length=40, index=True)
    object_id: str = Field(max_length=60, index=True)
    # Why: a code from the fixed list (backend/audit/purposes.py); free text in rows from before it.
    purpose: str | None = Field(default=None, max_length=200)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The youth records the row is about, as ",referral:12,hold:3," (searchable with LIKE).
    youth_records: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The region the row concerns (a region administrator reads only its region's rows); None
    # for rows of no one region (a service-wide administrator's reading of the log, rows from
    # before 0010). No foreign key: an audit row must outlive anything it names.
    region_id: int | None = Field(default=None, index=True)


class AuditSeal(SQLModel, table=True):
    """One seal per audit row, appended by the sealing job after the row committed:
    ``hash = sha256(hash of the previous seal + the row)``. Append-only (PostgreSQL trigger).
    ``at`` is the row's own time, kept so that verification can tell a row removed by
    retention from one removed by someone else."""

    __tablename__ = "audit_seals"

    audit_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    hash: str = Field(max_length=64)
    sealed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AuditEntryPublic(SQLModel):
    id: int
    at: datetime
    actor: str
    actor_text: str  # who, in words (the name, not "user:3:anna")
    actor_role: str
    action: str
    action_label: str  # what was done, in Dutch (the code stays for export and search)
    object_type: str
    object_id: str
    purpose: str | None
    purpose_label: str
    youth_records: list[str]
    detail: dict[str, Any]
    region_id: int | None = None

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # SQLite hands back naive datetimes; everything stored is UTC, and the API says so.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
