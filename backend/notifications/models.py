"""Notifications: the outbox (one row per delivery to one person, mailbox or webhook endpoint),
the provider systems' webhook endpoints, the provider's contacts, and each person's preferences.

A row of the outbox is written in the same transaction as the change it tells about
(``service.notify``), so a change never commits without its notifications and a rolled-back
change sends nothing. The dispatcher (``dispatcher.py``) delivers the rows at least once; each
row's ``key`` is the idempotency key the receiver sees (``webhook-id``, ``Message-ID``), unique,
so a periodic scan that finds the same situation again writes nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field as PydanticField
from pydantic import field_validator
from sqlalchemy import JSON, Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel

from backend.validation import InputModel

# Channels a notification goes by.
APP = "app"
EMAIL = "email"
WEBHOOK = "webhook"
CHANNELS = (APP, EMAIL, WEBHOOK)

# Outbox states. ``pending`` rows are due at ``due_at``; a ``sending`` row whose lease
# (``claimed_until``) has passed was claimed by a process that died and is claimed again.
PENDING = "pending"
SENDING = "sending"
DELIVERED = "delivered"
DEAD = "dead"


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    trigger: str = Field(max_length=40)
    channel: str = Field(max_length=10)
    status: str = Field(max_length=12)
    urgent: bool = False
    digest: bool = False
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    email: str | None = Field(default=None, max_length=200)
    endpoint_id: int | None = Field(default=None, foreign_key="webhook_endpoints.id", index=True)
    provider_id: int | None = Field(default=None, index=True)
    region_id: int | None = Field(default=None, index=True)
    group_id: int | None = Field(default=None)
    subject: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    read_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)


class WebhookEndpoint(SQLModel, table=True):
    """A provider system's receiver. The signing secret is stored encrypted (as TOTP secrets)
    and shown once, when the endpoint is made."""

    __tablename__ = "webhook_endpoints"

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="providers.id", index=True)
    url: str = Field(max_length=500)
    description: str = Field(default="", max_length=200)
    secret: str = Field(max_length=400)
    active: bool = True
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(max_length=200)


class ProviderContact(SQLModel, table=True):
    """A mailbox of the provider that hears of crisis holds (its 24-hour contact) and/or new
    proposals (its intake)."""

    __tablename__ = "provider_contacts"

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="providers.id", index=True)
    name: str = Field(max_length=120)
    email: str = Field(max_length=200)
    crisis: bool = False
    proposals: bool = False
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class NotificationPreference(SQLModel, table=True):
    """A person's choices: the channels per trigger, quiet hours (local time) and a daily digest
    instead of single e-mails. Without a row: in the app only."""

    __tablename__ = "notification_preferences"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    email: str | None = Field(default=None, max_length=200)
    channels: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    quiet_start: str | None = Field(default=None, max_length=5)
    quiet_end: str | None = Field(default=None, max_length=5)
    digest: bool = False
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class UsedLink(SQLModel, table=True):
    """A one-click link that has been used: each works once."""

    __tablename__ = "used_links"

    nonce: str = Field(primary_key=True, max_length=40)
    used_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


# --- API shapes ------------------------------------------------------------------------------------


class NotificationPublic(SQLModel):
    id: int
    # The idempotency key a receiver sees (webhook-id).
    key: str
    trigger: str
    channel: str
    status: str
    urgent: bool
    subject: str
    body: str
    payload: dict[str, Any]
    group_id: int | None
    provider_id: int | None
    region_id: int | None
    created_at: datetime
    due_at: datetime
    delivered_at: datetime | None
    read_at: datetime | None
    attempts: int
    last_error: str | None
    email: str | None = None
    endpoint_id: int | None = None


class Inbox(SQLModel):
    unread: int
    notifications: list[NotificationPublic]


_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class PreferenceUpdate(InputModel):
    email: str | None = PydanticField(default=None, max_length=200)
    # trigger -> channels ("app", "email"); a trigger left out: in the app only.
    channels: dict[str, list[str]] = PydanticField(default_factory=dict)
    quiet_start: str | None = PydanticField(default=None, max_length=5, pattern=_TIME)
    quiet_end: str | None = PydanticField(default=None, max_length=5, pattern=_TIME)
    digest: bool = False

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and value.strip() and "@" not in value:
            raise ValueError("Geef een geldig e-mailadres op.")
        return value.strip() or None if value is not None else None


class PreferencePublic(SQLModel):
    email: str | None
    channels: dict[str, list[str]]
    quiet_start: str | None
    quiet_end: str | None
    digest: bool
    triggers: dict[str, str]


class ContactCreate(InputModel):
    name: str = PydanticField(min_length=1, max_length=120)
    email: str = PydanticField(min_length=3, max_length=200)
    crisis: bool = False
    proposals: bool = False

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("Geef een geldig e-mailadres op.")
        return value.strip()


class ContactPublic(SQLModel):
    id: int
    provider_id: int
    name: str
    email: str
    crisis: bool
    proposals: bool


class EndpointCreate(InputModel):
    url: str = PydanticField(min_length=8, max_length=500)
    description: str = PydanticField(default="", max_length=200)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("Het adres begint met https:// (of http:// binnen het eigen netwerk).")
        return value


class EndpointPublic(SQLModel):
    id: int
    provider_id: int
    url: str
    description: str
    active: bool
    created_at: datetime


class EndpointCreated(EndpointPublic):
    # Shown once: the provider's system verifies the signatures with it.
    secret: str
