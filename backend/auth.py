"""Authentication (who is calling) and the role checks every route uses.

People log in with the OAuth2 password flow and get a JWT; provider systems send an API key
in ``X-API-Key``. Both become a ``Principal``. No credential ever travels in a URL (URLs end up
in access logs): a browser opens the live feed's websocket with a one-time ticket
(``POST /api/v1/live/ticket``), other clients send the same headers as on every request.

Access tokens live at most 15 minutes and belong to a login session (``sid``); a session that
ends is refused at once in every API process (``backend/revocations.py``), and so is a revoked
API key (its verification is forgotten when the revocation event arrives).

Object-level rule used everywhere: a provider principal sees only its own provider's objects;
anything else answers 404 ("Niet gevonden"), so nobody learns that another provider's group
exists. A role that may not do something at all answers 403.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import TYPE_CHECKING, Annotated

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from backend.config import Settings
from backend.domain import as_utc, utcnow
from backend.errors import Forbidden, NotFound, ServiceBusy, Unauthorized
from backend.providers.models import Provider
from backend.revocations import Revocations
from backend.users.models import ApiKey, Role, User

if TYPE_CHECKING:
    from backend.db import Database

log = logging.getLogger(__name__)

_hasher = PasswordHasher()
JWT_ALGORITHM = "HS256"
API_KEY_PREFIX = "pw_"

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a person (user) or a provider system (API key)."""

    kind: str  # "user" | "api_key"
    id: int
    name: str
    role: str
    provider_id: int | None
    region_id: int | None = None
    # The login session of a person's token (ended sessions are refused); None for API keys.
    session_id: int | None = None
    # A provider user who manages its provider's planners and API keys.
    manages_provider: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}:{self.name}"

    def may_see_provider(self, provider_id: int) -> bool:
        return self.role != Role.provider or self.provider_id == provider_id

    @property
    def region_scope(self) -> int | None:
        """The one region this caller acts for: every role bound to a region (coordinator,
        crisis team, viewer, and an admin bound to a region: a region administrator) sees and
        changes that region's objects only. None for a caller bound to no region (a national
        admin) and for a provider (scoped by its provider instead). The crisis team searches and
        holds places beyond its own region (neighbours first) in the crisis service only; the
        holds it makes belong to its own region, so it never reads another region's youths."""
        return None if self.role == Role.provider else self.region_id

    def may_see_region(self, region_id: int | None) -> bool:
        return self.region_scope is None or self.region_scope == region_id


class HashSlots:
    """Turns for argon2 in this process: at most ``limit`` hashes at once (each takes a core
    for tens of milliseconds, by design) and at most ``queue`` callers waiting for a turn.
    Anyone beyond that is refused at once with 503 and Retry-After instead of waiting, so a
    burst of logins neither takes every core from the other requests nor fills the thread
    pool that they run on."""

    def __init__(self, limit: int = 0, queue: int = 8) -> None:
        self._lock = threading.Lock()
        self.configure(limit, queue)

    def configure(self, limit: int, queue: int) -> None:
        limit = limit or max(1, (os.cpu_count() or 2) // 2)
        with self._lock:
            if getattr(self, "limit", None) == limit and getattr(self, "queue", None) == queue:
                return
            self.limit = limit
            self.queue = max(0, queue)
            self._turns = threading.BoundedSemaphore(limit)
            self._admitted = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._lock:
            if self._admitted >= self.limit + self.queue:
                raise ServiceBusy(
                    "Het is even te druk om in te loggen. Probeer het over enkele seconden opnieuw.",
                    code="login_busy",
                    headers={"Retry-After": "2"},
                )
            self._admitted += 1
            turns = self._turns
        try:
            with turns:
                yield
        finally:
            with self._lock:
                self._admitted -= 1


hash_slots = HashSlots()


def hash_password(password: str) -> str:
    with hash_slots.turn():
        return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    with hash_slots.turn():
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, InvalidHashError):
            return False


def client_address(request: Request, settings: Settings) -> str:
    """The address of whoever is calling, for the login limits (and the audit trail).

    The connection's own address, unless it is a trusted proxy (``PLEKWIJZER_TRUSTED_PROXIES``):
    then the X-Forwarded-For entry that the outermost trusted proxy saw, read from the right
    (a proxy appends the address it was called from, so entries left of that are whatever the
    client wrote, and a rotating X-Forwarded-For from an untrusted client changes nothing)."""
    peer = request.client.host if request.client else ""
    networks = settings.trusted_proxy_networks
    if not networks or not _within(peer, networks):
        return peer or "onbekend"
    forwarded = [part.strip() for value in request.headers.getlist("x-forwarded-for") for part in value.split(",")]
    address = peer
    for entry in reversed(forwarded):
        try:
            parsed = ip_address(entry)
        except ValueError:
            break  # not an address: stop believing the chain here
        address = str(parsed)
        if not _within(address, networks):
            break
    return address


def _within(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


# A hash to verify against when the username does not exist, so that a wrong username takes
# as long as a wrong password and response times do not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def find_login_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def password_matches(user: User | None, password: str) -> bool:
    """The password check of a login, done outside any transaction (it takes tens of
    milliseconds on purpose). An unknown or deactivated user costs the same time."""
    if user is None:
        verify_password(password, _DUMMY_HASH)
        return False
    return verify_password(password, user.password_hash) and user.active


def authenticate_user(session: Session, username: str, password: str) -> User | None:
    user = find_login_user(session, username)
    return user if password_matches(user, password) else None


def create_access_token(user: User, settings: Settings, *, session_id: int) -> tuple[str, int]:
    """A short-lived token of one login session (``backend/users/sessions.start_session`` makes
    the session; a token without one is refused)."""
    lifetime = timedelta(minutes=settings.access_token_minutes)
    now = utcnow()
    claims = {
        "sub": str(user.id),
        "sid": session_id,
        "name": user.username,
        "role": user.role,
        "provider_id": user.provider_id,
        "region_id": user.region_id,
        "mp": bool(user.manages_provider),
        "iat": now,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=JWT_ALGORITHM), int(lifetime.total_seconds())


class VerifiedCache:
    """Principals that passed the full check, each kept until a deadline on ``clock`` (tests
    give it a clock of their own instead of waiting). Bounded simply: when full it is emptied,
    and the next requests fill it again."""

    def __init__(self, clock: Callable[[], float], max_entries: int = 4096) -> None:
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[Principal, float]] = {}

    def get(self, key: Hashable) -> Principal | None:
        cached = self._entries.get(key)
        if cached is not None and self.clock() < cached[1]:
            return cached[0]
        return None

    def put(self, key: Hashable, principal: Principal, until: float) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (principal, until)

    def clear(self) -> None:
        self._entries.clear()


# Verified tokens, so that a client sending the same token on every request is checked with a
# dictionary look-up and a clock comparison instead of a full decode (base64, JSON, HMAC: about
# a third of a millisecond). Only tokens that passed the full check are kept, keyed by the
# secret too; the expiry is compared on every use exactly as PyJWT does (expired when
# exp <= now, so the clock is wall-clock time), and an expired one goes through the full decode
# again to get its error.
verified_tokens = VerifiedCache(clock=time.time)


def principal_from_token(token: str, settings: Settings, revocations: Revocations) -> Principal:
    principal = verified_tokens.get((token, settings.secret_key))
    if principal is None:
        principal, expires = _decode_token(token, settings)
        verified_tokens.put((token, settings.secret_key), principal, expires)
    # After the cache, on every request: a dictionary look-up.
    if revocations.is_ended(principal.session_id):
        raise Unauthorized(
            "Uw sessie is beëindigd; log opnieuw in.", code="session_ended", headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


def _well_formed_ids(claims: dict[str, object]) -> bool:
    """``sub`` a user id in digits (within a database integer), the scope ids numbers or null."""
    subject = claims.get("sub")
    if not (isinstance(subject, str) and subject.isascii() and subject.isdigit() and len(subject) <= 18):
        return False
    return all(
        value is None or (isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63)
        for value in (claims.get("provider_id"), claims.get("region_id"))
    )


def _decode_token(token: str, settings: Settings) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized(
            "Uw sessie is verlopen; log opnieuw in.", code="token_expired", headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized(
            "Ongeldig toegangsbewijs; log opnieuw in.", code="token_invalid", headers={"WWW-Authenticate": "Bearer"}
        ) from exc
    role = claims.get("role", "")  # "" is no role, like a missing claim
    session_id = claims.get("sid")
    subject = str(claims["sub"])
    # Every token belongs to a login session, so that ending the session refuses it.
    if (
        role not in Role.__members__
        or not isinstance(session_id, int)
        or not subject.isdigit()
        or not _well_formed_ids(claims)
    ):
        raise Unauthorized("Ongeldig toegangsbewijs; log opnieuw in.", code="token_invalid")
    return Principal(
        kind="user",
        id=int(subject),
        name=str(claims.get("name", "")),
        role=role,
        provider_id=claims.get("provider_id"),
        region_id=claims.get("region_id"),
        session_id=session_id,
        manages_provider=bool(claims.get("mp", False)),
    ), float(claims["exp"])


# Verified API keys (by their hash), for the same reason: a provider system sends its key with
# every request, and each look-up costs a database query and a thread hop. Only keys that
# passed the check are kept, for ``api_key_cache_seconds``, so a revoked key is refused again
# after at most that long.
verified_keys = VerifiedCache(clock=time.monotonic)


def new_api_key() -> tuple[str, str, str]:
    """A new key: (full key shown once, lookup prefix, stored hash)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    full = f"{API_KEY_PREFIX}{prefix}.{secret}"
    return full, prefix, _key_hash(full)


def _key_hash(full_key: str) -> str:
    return hashlib.sha256(full_key.encode()).hexdigest()


def principal_from_api_key(session: Session, key: str) -> Principal:
    return _check_api_key(session, key)[0]


def _check_api_key(session: Session, key: str) -> tuple[Principal, datetime | None]:
    """The key's principal and its expiry; 401 for an unknown, revoked or expired key."""
    invalid = Unauthorized("Ongeldige API-sleutel.", code="api_key_invalid")
    if not key.startswith(API_KEY_PREFIX) or "." not in key:
        raise invalid
    prefix = key[len(API_KEY_PREFIX) :].split(".", 1)[0]
    record = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if record is None or record.revoked or not hmac.compare_digest(record.key_hash, _key_hash(key)):
        raise invalid
    expires_at = as_utc(record.expires_at)
    if expires_at is not None and expires_at <= utcnow():
        raise Unauthorized("Deze API-sleutel is verlopen; vraag uw beheerder om een nieuwe.", code="api_key_expired")
    return api_key_principal(record), expires_at


def api_key_principal(record: ApiKey) -> Principal:
    assert record.id is not None
    return Principal(
        kind="api_key",
        id=record.id,
        name=record.name or f"sleutel {record.prefix}",
        role=Role.provider,
        provider_id=record.provider_id,
    )


# When each key's last use was last written by this process (monotonic clock), per database: at
# most once a minute per key, so a provider system's every request does not become a write.
_key_last_written: weakref.WeakKeyDictionary[Database, dict[int, float]] = weakref.WeakKeyDictionary()
LAST_USED_EVERY_SECONDS = 60.0


def _note_key_use(db: Database, key_id: int) -> None:
    now = utcnow()
    try:
        with db.transaction() as session:
            # Guarded, so that several processes do not all write within the same minute.
            session.execute(
                update(ApiKey)
                .where(
                    col(ApiKey.id) == key_id,
                    or_(
                        col(ApiKey.last_used_at).is_(None),
                        col(ApiKey.last_used_at) < now - timedelta(seconds=LAST_USED_EVERY_SECONDS),
                    ),
                )
                .values(last_used_at=now)
            )
    except Exception:  # a missed "last used" must never fail the request itself
        log.warning("could not note the last use of API key %s", key_id, exc_info=True)


def resolve_principal(
    session: Session, settings: Settings, revocations: Revocations, *, token: str | None, api_key: str | None
) -> Principal:
    if api_key:
        return principal_from_api_key(session, api_key)
    if token:
        return principal_from_token(token, settings, revocations)
    raise Unauthorized(
        "Log in om plekwijzer te gebruiken.", code="not_authenticated", headers={"WWW-Authenticate": "Bearer"}
    )


async def current_principal(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    # Async on purpose: a JWT is checked on the event loop (a signature check, tens of
    # microseconds), which saves every request a hop to the thread pool and back. Only an API
    # key needs the database, and only that look-up goes to a thread.
    from backend.db import get_db  # local: db imports nothing from here, keep it that way

    db = get_db(request)
    if api_key:
        cache_key = _key_hash(api_key)
        cached = verified_keys.get(cache_key)
        if cached is not None:
            principal = cached
        else:
            # API keys are checked on a short session of their own, so the check does not
            # hold a write transaction open on SQLite.
            def check_key() -> tuple[Principal, datetime | None]:
                with db.transaction(write=False) as session:
                    return _check_api_key(session, api_key)

            principal, expires_at = await run_in_threadpool(check_key)
            remember = db.settings.api_key_cache_seconds
            if expires_at is not None:  # an expiring key is not remembered past its expiry
                remember = min(remember, (expires_at - utcnow()).total_seconds())
            if remember > 0:
                verified_keys.put(cache_key, principal, verified_keys.clock() + remember)
        written = _key_last_written.setdefault(db, {})
        last = written.get(principal.id)
        if last is None or time.monotonic() - last >= LAST_USED_EVERY_SECONDS:
            written[principal.id] = time.monotonic()
            await run_in_threadpool(_note_key_use, db, principal.id)
    else:
        principal = resolve_principal(None, db.settings, db.revocations, token=token, api_key=None)  # type: ignore[arg-type]
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def current_person(principal: CurrentPrincipal) -> Principal:
    """The caller, when it is a logged-in person: 403 for an API key (a provider system), before
    any id in the path is looked at, so the answer is the same for every id."""
    if principal.kind != "user":
        raise Forbidden("Dit is er alleen voor ingelogde personen, niet voor een API-sleutel.", code="person_only")
    return principal


CurrentPerson = Annotated[Principal, Depends(current_person)]


def require_roles(*roles: Role):  # type: ignore[no-untyped-def]
    """A dependency that lets only the given roles through (403 for the others)."""

    # Async (it only compares a string), so the check costs no thread-pool hop.
    async def _check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden("U heeft geen rechten voor deze handeling.", code="role_forbidden")
        return principal

    return Depends(_check)


def ensure_provider_access(principal: Principal, provider_id: int, *, what: str = "Groep") -> None:
    """404, not 403, for another provider's object: no leak that it exists."""
    if not principal.may_see_provider(provider_id):
        raise NotFound(f"{what} niet gevonden.")


def ensure_region_access(principal: Principal, region_id: int | None, *, what: str = "Groep") -> None:
    """404 for another region's object, like ``ensure_provider_access``: every route that reads
    or writes a region's data goes through one of the two (a coordinator only its own region)."""
    if not principal.may_see_region(region_id):
        raise NotFound(f"{what} niet gevonden.")


def ensure_access(principal: Principal, *, provider_id: int, region_id: int | None, what: str = "Groep") -> None:
    """Both scopes at once, for objects of a provider in a region (groups, holds, proposals)."""
    ensure_provider_access(principal, provider_id, what=what)
    ensure_region_access(principal, region_id, what=what)


def ensure_provider_in_scope(session: Session, principal: Principal, provider_id: int) -> None:
    """A list narrowed to one provider (``?provider_id=``, the administrator acting for one
    provider): 404 for a provider that does not exist or that the caller may not see (another
    provider, or one outside the caller's region), so nobody learns it exists."""
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("Aanbieder niet gevonden.")
    ensure_access(principal, provider_id=provider_id, region_id=provider.region_id, what="Aanbieder")
