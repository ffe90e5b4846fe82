"""The append-only event table: the source of truth for the live feed.

``seq`` is gapless: it comes from a single counter row that every writer increments inside its
own transaction. The row lock serialises writers, so sequence numbers are committed in order and
a rolled-back transaction gives its number back. A reader that has seen ``seq = n`` has
therefore seen every event up to ``n``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime
from sqlmodel import Field, SQLModel


class Event(SQLModel, table=True):
    __tablename__ = "events"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    type: str = Field(max_length=60, index=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    region_id: int | None = Field(default=None, index=True)
    provider_id: int | None = Field(default=None, index=True)
    group_id: int | None = Field(default=None, index=True)
    actor: str | None = Field(default=None, max_length=120)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event row written with a plain statement, as handed to this process's live hubs
    after its transaction committed: the fields of ``Event`` without the cost of an ORM
    object (which the busiest writes would pay for every report)."""

    seq: int
    type: str
    at: datetime
    region_id: int | None
    provider_id: int | None
    group_id: int | None
    actor: str | None
    payload: dict[str, Any]


class EventCounter(SQLModel, table=True):
    __tablename__ = "event_counter"

    id: int = Field(default=1, primary_key=True)
    last_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
