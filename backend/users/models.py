"""People (users with a role) and provider systems (API keys)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import Boolean, Column, DateTime, false
from sqlmodel import Field, SQLModel

from backend.validation import InputModel


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
    # Second factor (TOTP): the shared secret once enrolment is confirmed, and the last
    # 30-second time step whose code was accepted (a code is never accepted twice, RFC 6238).
    # The secret is stored encrypted (``backend/users/totp_secrets.py``).
    mfa_secret: str | None = Field(default=None, max_length=400)
    mfa_enabled_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    mfa_last_step: int | None = Field(default=None)


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


class LoginThrottle(SQLModel, table=True):
    """Login attempts counted per key in a fixed window: a client address, an account, or the
    pair of both (the key is a hash, so no username or address is stored in the clear).

    One row per key, changed by one atomic ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``
    that reserves an attempt before the password is checked: concurrent guesses on
    PostgreSQL queue on the row instead of all reading the same count (the former
    count-then-insert let 30 parallel guesses through)."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=80)
    failures: int = 0
    window_start: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))


class MfaChallenge(SQLModel, table=True):
    """The step between a correct password and a session, for a role that needs a second
    factor: short-lived, single-use, a few code attempts. Only a SHA-256 of its token is kept
    (the token is long and random, like an API key). For a user without a second factor yet
    it carries the TOTP secret being enrolled until the first code confirms it."""

    __tablename__ = "mfa_challenges"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    step: str = Field(max_length=10)  # "verify" | "enrol" | "reenrol" (a new app while logged in)
    pending_secret: str | None = Field(default=None, max_length=400)  # encrypted, as mfa_secret
    attempts: int = 0
    client: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class RecoveryCode(SQLModel, table=True):
    """A one-time recovery code for when the phone is not at hand. Shown once at enrolment;
    only a SHA-256 is stored (the codes are 80 random bits, so a fast hash is safe)."""

    __tablename__ = "mfa_recovery_codes"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    code_hash: str = Field(unique=True, index=True, max_length=64)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


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


def _as_utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


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
    # The person logs in with a second factor (the web app offers moving to a new app).
    mfa_enabled: bool = False


class RefreshRequest(InputModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class LiveTicketPublic(SQLModel):
    ticket: str
    expires_in: int


class UserCreate(InputModel):
    username: str = Field(min_length=1, max_length=80)
    role: Role
    region: str | None = Field(default=None, max_length=20, description="regiocode, bijvoorbeeld JZ14")
    # The provider's id (named ``provider``: ``provider_id`` in a body is a field the server owns).
    provider: int | None = None
    manages_provider: bool = False


class UserUpdate(InputModel):
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

    # SQLite hands back naive datetimes; everything stored is UTC, and the API says so.
    _utc = field_validator("created_at")(_as_utc)


class PasswordResetPublic(SQLModel):
    """The code, shown once to the administrator, who hands it to the person."""

    code: str
    expires_at: datetime


class UserCreated(UserPublic):
    reset: PasswordResetPublic


class PasswordSet(InputModel):
    code: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class ApiKeyCreate(InputModel):
    provider: int | None = Field(default=None, description="aanbieder-id; leeg: de eigen aanbieder")
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

    _utc = field_validator("created_at", "expires_at", "last_used_at", "revoked_at")(_as_utc)


class ApiKeyCreated(ApiKeyPublic):
    key: str


class MfaEnrolment(SQLModel):
    """What an authenticator app needs: the secret as text and as a QR code (an SVG data URI,
    made on the server: no external service sees the secret)."""

    secret: str
    otpauth_uri: str
    qr_svg: str


class MfaChallengeOut(SQLModel):
    """The answer to a correct password when a second step is needed: no access token yet."""

    # "verify": enter a code; "enrol": set up the authenticator app first; "reenrol": a new
    # app while logged in (POST /auth/mfa/re-enrol/confirm)
    mfa_required: str
    mfa_token: str
    expires_in: int
    enrolment: MfaEnrolment | None = None


class MfaCodeIn(InputModel):
    mfa_token: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=1, max_length=40)


class MfaReenrolStart(InputModel):
    """Moving to a new authenticator app: prove the current factor with a code from the
    current app, or with the password (the old phone is gone)."""

    code: str | None = Field(default=None, max_length=40)
    password: str | None = Field(default=None, max_length=200)


class MfaReenrolConfirm(InputModel):
    mfa_token: str = Field(min_length=1, max_length=200)
    code: str = Field(min_length=1, max_length=40)


class MfaToken(Token):
    """A session after the second step; after enrolment also the recovery codes, shown once."""

    recovery_codes: list[str] = Field(default_factory=list)
