"""Audit log: who read or changed what, when, and why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, Column, DateTime
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
    purpose: str | None = Field(default=None, max_length=200)  # why: the reason given or implied
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AuditEntryPublic(SQLModel):
    id: int
    at: datetime
    actor: str
    actor_role: str
    action: str
    object_type: str
    object_id: str
    purpose: str | None
    detail: dict[str, Any]

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # SQLite hands back naive datetimes; everything stored is UTC, and the API says so.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
