"""One settings object, read from the environment (prefix ``PLEKWIJZER_``).

Secrets have a development default so that the demo starts with one command; outside
development that default is refused (as is a secret shorter than 32 characters), so no
deployment can run with a secret that is printed in this file. Secrets are never printed: the
secret key and the database URL (which may hold a password) are left out of the settings'
repr, and a refused setting's error message does not repeat the value.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-secret-change-me-not-for-production"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PLEKWIJZER_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(default="sqlite:///./plekwijzer.db", repr=False)
    secret_key: str = Field(default=DEVELOPMENT_SECRET, repr=False)
    # Access tokens are short-lived (at most 15 minutes); the web app renews them silently with
    # a refresh token, which is used once and replaced (rotation).
    access_token_minutes: int = Field(default=15, ge=1, le=15)
    # A refresh token not used within this time ends the session (idle timeout) ...
    refresh_token_minutes: float = Field(default=60, gt=0)
    # ... and a session ends after this time whatever happens (log in again).
    session_max_hours: float = Field(default=12.0, gt=0)
    # The one-time ticket a browser opens the live feed's websocket with.
    live_ticket_seconds: int = Field(default=30, ge=1, le=300)
    # A password-reset code from an administrator is valid this long, once.
    password_reset_hours: float = Field(default=24.0, gt=0)
    # A report older than this is shown as stale ("verouderd").
    stale_after_hours: float = 24.0
    # Login limits, counted in a window of ``login_lockout_seconds`` (backend/users/throttle.py):
    # - one account from one client: after this many failures that pair is locked out;
    login_max_failures: int = 5
    login_lockout_seconds: int = 300
    # - one client, whatever the accounts: after this many failures the client is locked out;
    login_client_max_failures: int = 30
    # - one account, from every client together: after this many failures the account is only
    #   slowed (one attempt per ``login_account_slow_seconds``), never locked, so that someone
    #   guessing from many addresses cannot lock the real person out.
    login_account_max_failures: int = 20
    login_account_slow_seconds: int = 10
    # Addresses (or CIDR networks, comma-separated) of the reverse proxies whose
    # X-Forwarded-For is believed. Empty: none, the connection's own address is the client
    # (a client can write any X-Forwarded-For it likes).
    trusted_proxies: str = ""
    # Roles that log in with a second factor (TOTP), comma-separated. Empty turns it off
    # (only the demo does that, and says so).
    mfa_roles: str = "admin,coordinator,crisis"
    # How long the step between password and code lasts, and how many codes it accepts.
    mfa_challenge_seconds: int = 300
    mfa_max_attempts: int = 5
    # TOTP secrets are stored encrypted (Fernet: AES-128-CBC with HMAC-SHA256). Keys,
    # comma-separated (``plekwijzer users new-totp-key`` makes one): the first encrypts, every
    # one decrypts, so a key is replaced by putting the new one first and running
    # ``plekwijzer users rotate-totp-key``. Empty: a key derived from SECRET_KEY (HKDF), which
    # also always decrypts, so moving from it to an own key loses nothing; but changing
    # SECRET_KEY without an own key makes every enrolled authenticator app unreadable.
    totp_encryption_keys: str = Field(default="", repr=False)
    # argon2 computations at once per process (0: half the processor cores, at least one) and
    # how many more may wait for a turn; beyond that a login is refused with 503 and
    # Retry-After, so password hashing cannot take the processor from the other requests.
    password_hash_concurrency: int = 0
    password_hash_queue: int = 8
    # Live feed: a client further behind than this gets a fresh snapshot instead of a replay.
    live_max_replay: int = 1000
    # Default duration of a crisis hold; a region may override it.
    hold_minutes: int = 120
    # A placement proposal not answered within this time expires.
    proposal_expiry_hours: float = 24.0
    # Largest request body accepted, in bytes.
    max_body_bytes: int = 1_000_000
    # ... except for a batch of the occupancy feed (up to 50,000 events, about 200 bytes each
    # as JSON): a year of a provider's history in one request.
    max_feed_body_bytes: int = 32_000_000
    # Optional map tile server for the region map, in the {z}/{x}/{y} form, e.g. PDOK's BRT background
    # map https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png
    # (the Content-Security-Policy then allows images from its origin). None: no tiles; the map
    # shows municipality outlines computed from the postcode centroids and works offline.
    tile_server_url: str | None = None
    # A verified API key is remembered this long (seconds; 0: look it up on every request),
    # which saves a provider system's every request a database look-up. A key revoked in the
    # database therefore stops working within this time.
    api_key_cache_seconds: float = 10.0
    # PostgreSQL connections each API process keeps open. Requests beyond it get an extra
    # connection that is closed again when returned: under steady load that means a new
    # server process per few requests (measured: 20 a second at 300 PUTs/s with 10), so keep
    # it at the number of requests a process usually has in flight.
    db_pool_size: int = 20
    # Background work (expiring holds and proposals); tests switch it off to drive time.
    run_periodic_tasks: bool = True
    # Audit rows older than this many days are removed by the retention job (0: keep every
    # row). At least 365: the PostgreSQL trigger refuses anything shorter (docs/security.md).
    audit_retention_days: int = 0

    # Notifications (backend/notifications). E-mail over SMTP: without a host, e-mails wait in
    # the outbox until one is set. TLS: STARTTLS after connecting.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "plekwijzer@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_tls: bool = False
    # Delivery of e-mails and webhooks: tries per notification before the dead-letter list, the
    # wait after the first failure (doubled after each next one, at most the maximum), how long
    # a claimed notification is a process's before another may send it (a process that died),
    # rows per round, and how long a webhook receiver may take to answer.
    notify_max_attempts: int = Field(default=8, ge=1)
    notify_backoff_seconds: float = Field(default=30.0, gt=0)
    notify_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    notify_lease_seconds: float = Field(default=120.0, gt=0)
    notify_batch: int = Field(default=200, ge=1)
    # Webhooks sent at once by one process (each receiver's slowness holds up no other).
    notify_concurrency: int = Field(default=8, ge=1, le=64)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Every API process delivers (off: only ``plekwijzer notify-worker`` processes do).
    notify_dispatch_in_api: bool = True
    # The address people reach the web app on, for links in e-mails (the one-click link).
    public_url: str = "http://127.0.0.1:8000"

    # Strict-Transport-Security on every response. Without it HSTS is sent only on requests
    # that came over TLS, as uvicorn sees them: directly, or through a proxy whose
    # X-Forwarded-Proto it trusts (uvicorn's FORWARDED_ALLOW_IPS, 127.0.0.1 by default). Set it
    # when a TLS-terminating proxy that is not trusted that way stands in front (docker-compose).
    hsts: bool = False
    # The API documentation (/docs, /redoc, /openapi.json): "open" to everyone, "admin" only
    # for a logged-in administrator, "off" not served. "auto": open in development, admin
    # elsewhere.
    api_docs: Literal["auto", "open", "admin", "off"] = "auto"

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError(
                "PLEKWIJZER_SECRET_KEY must be set to a secret of your own outside development "
                "(the default is published in the source code); e.g. openssl rand -hex 32"
            )
        if self.environment != "development" and len(self.secret_key) < 32:
            raise ValueError("PLEKWIJZER_SECRET_KEY must be at least 32 characters outside development")
        if self.audit_retention_days != 0 and not 365 <= self.audit_retention_days <= 36500:
            raise ValueError("PLEKWIJZER_AUDIT_RETENTION_DAYS must be 0 (keep everything) or 365 to 36500 days")
        return self

    @model_validator(mode="after")
    def _check_totp_keys(self) -> Settings:
        import base64
        import binascii

        for key in self.totp_encryption_key_list:
            try:
                valid = len(base64.urlsafe_b64decode(key.encode())) == 32
            except (binascii.Error, ValueError):
                valid = False
            if not valid:
                # The value itself is not repeated: it is a secret.
                raise ValueError(
                    "PLEKWIJZER_TOTP_ENCRYPTION_KEYS: every key is 32 bytes in URL-safe base64 "
                    "(make one with: plekwijzer users new-totp-key)"
                )
        return self

    @property
    def totp_encryption_key_list(self) -> list[str]:
        return [k.strip() for k in self.totp_encryption_keys.split(",") if k.strip()]

    @model_validator(mode="after")
    def _check_trusted_proxies(self) -> Settings:
        try:
            _ = self.trusted_proxy_networks  # parsed here, so that a typo stops the start
        except ValueError as exc:
            raise ValueError(f"PLEKWIJZER_TRUSTED_PROXIES: {exc}") from exc
        return self

    @property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(part.strip(), strict=False) for part in self.trusted_proxies.split(",") if part.strip())

    @property
    def mfa_role_set(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.mfa_roles.split(",") if part.strip())

    @property
    def api_docs_mode(self) -> str:
        """One of open, admin or off: ``api_docs`` with auto resolved."""
        if self.api_docs == "auto":
            return "open" if self.environment == "development" else "admin"
        return self.api_docs

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
