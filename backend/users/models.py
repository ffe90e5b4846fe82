"""People (users with a role) and provider systems (API keys)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict
from sqlalchemy import Boolean, Column, DateTime, false
from sqlmodel import Field, SQLModel


class Role(StrEnum):
    admin = "admin"
    coordinator = "coordinator"
    provider = "provider"
    crisis = "crisis"
    viewer = "viewer"


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=80)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=20)
    provider_id: int | None = Field(default=None, foreign_key="providers.id", index=True)
    region_id: int | None = Field(default=None, foreign_key="regions.id")
    active: bool = True
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # A provider user who manages its own provider's planners and API keys (a provider
    # administrator). A flag, not a role: many routes check ``Role.provider`` and must keep
    # treating this user as its provider.
    manages_provider: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))


class ApiKey(SQLModel, table=True):
    """A provider system's key. Only a SHA-256 of the secret is stored: keys are long random
    strings, so a fast hash is safe here and keeps every API call cheap (argon2 is for the
    low-entropy passwords of people)."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="providers.id", index=True)
    prefix: str = Field(unique=True, index=True, max_length=16)
    key_hash: str = Field(max_length=64)
    name: str = Field(default="", max_length=120)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked: bool = False
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    # Written at most once a minute per key and process (not on every request).
    last_used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class LoginFailure(SQLModel, table=True):
    """Failed logins per username and client address, for brute-force protection."""

    __tablename__ = "login_failures"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, max_length=80)
    client: str = Field(max_length=64)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))


class AuthSession(SQLModel, table=True):
    """One login: the family of refresh tokens handed out since. Ending it (logout, reuse of a
    used refresh token, deactivation, role change, password reset) refuses its access tokens
    in every API process within a second (``backend/revocations.py``)."""

    __tablename__ = "auth_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ended_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True)
    )
    ended_reason: str | None = Field(default=None, max_length=40)


class RefreshToken(SQLModel, table=True):
    """A refresh token, stored as its SHA-256 only (a long random string, like an API key).
    Used once: using it again means it was copied, and ends its whole session."""

    __tablename__ = "refresh_tokens"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="auth_sessions.id", index=True)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class PasswordReset(SQLModel, table=True):
    """A one-time code an administrator hands a person to set a new password (hash only)."""

    __tablename__ = "password_resets"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    code_hash: str = Field(unique=True, index=True, max_length=64)
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class LiveTicket(SQLModel, table=True):
    """A short-lived one-time ticket that opens the live feed's websocket (a browser cannot
    send a header there, and a token in the URL would end up in access logs). In the database,
    so that a ticket from one API process opens a websocket on another."""

    __tablename__ = "live_tickets"

    id: int | None = Field(default=None, primary_key=True)
    ticket_hash: str = Field(unique=True, index=True, max_length=64)
    kind: str = Field(max_length=10)  # "user" | "api_key"
    subject_id: int
    session_id: int | None = None
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    role: str
    provider_id: int | None = None
    expires_in: int
    # Exchange it at POST /api/v1/auth/refresh for a new pair before ``expires_in`` runs out.
    refresh_token: str | None = None
    refresh_expires_in: int | None = None
    manages_provider: bool = False


class RefreshRequest(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    refresh_token: str = Field(min_length=1, max_length=200)


class LiveTicketPublic(SQLModel):
    ticket: str
    expires_in: int


class UserCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    username: str = Field(min_length=1, max_length=80)
    role: Role
    region: str | None = Field(default=None, max_length=20, description="regiocode, bijvoorbeeld JZ14")
    provider_id: int | None = None
    manages_provider: bool = False


class UserUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    role: Role | None = None
    manages_provider: bool | None = None


class UserPublic(SQLModel):
    id: int
    username: str
    role: str
    provider_id: int | None
    region_id: int | None
    region_code: str | None = None
    manages_provider: bool
    active: bool
    created_at: datetime


class PasswordResetPublic(SQLModel):
    """The code, shown once to the administrator, who hands it to the person."""

    code: str
    expires_at: datetime


class UserCreated(UserPublic):
    reset: PasswordResetPublic


class PasswordSet(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    code: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class ApiKeyCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    provider_id: int | None = None
    name: str = Field(min_length=1, max_length=120)
    expires_at: datetime | None = None


class ApiKeyPublic(SQLModel):
    id: int
    provider_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str
