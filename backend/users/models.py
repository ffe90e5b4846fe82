"""People (users with a role) and provider systems (API keys)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime
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


class LoginFailure(SQLModel, table=True):
    """Failed logins per username and client address, for brute-force protection."""

    __tablename__ = "login_failures"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, max_length=80)
    client: str = Field(max_length=64)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    role: str
    provider_id: int | None = None
    expires_in: int
