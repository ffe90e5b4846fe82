"""Managing people and API keys: who may manage whom; every change validated, audited, and
refused without changing anything (routes and CLI run it in one transaction that rolls back).

Three kinds of manager:

- an admin bound to no region: everyone and every key;
- a region administrator (an admin with a region): the people of its own region and the keys
  of its region's providers;
- a provider administrator (a provider user with ``manages_provider``): its own provider's
  planners (provider users without the flag) and its own provider's keys, nothing else.

Anyone else gets 403. A person or key outside the manager's reach answers 404, like another
provider's group, so nobody learns that it exists. Deactivation, a role change and a password
reset end every session of the person (``sessions.end_sessions``: refused within a second in
every API process, websockets closed); a revoked key likewise.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from backend.audit.purposes import Purpose
from backend.audit.service import record
from backend.auth import Principal, hash_password
from backend.config import Settings
from backend.domain import as_utc, utcnow
from backend.errors import Conflict, Forbidden, NotFound, RuleViolation, Unauthorized
from backend.providers.models import Provider
from backend.regions.models import Region
from backend.users.mfa import account_region
from backend.users.models import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    PasswordReset,
    PasswordResetPublic,
    Role,
    User,
    UserCreate,
    UserCreated,
    UserPublic,
    UserUpdate,
)
from backend.users.passwords import check_password
from backend.users.service import create_api_key, create_user
from backend.users.sessions import api_key_revoked, end_sessions

PURPOSE = Purpose.account_management
# Reset codes: 20 characters without look-alikes (0/O, 1/I/L), 100 bits, typed in groups of 5.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# A password hash that matches no password: after a reset the old password no longer works.
UNUSABLE_PASSWORD = "!"  # noqa: S105 - not a password, the absence of one


@dataclass(frozen=True)
class Manager:
    actor: Principal
    region_id: int | None = None  # a region administrator
    provider_id: int | None = None  # a provider administrator


def cli_actor(name: str) -> Principal:
    """The person at the server's command line: manages everyone (they can reach the database)."""
    return Principal(kind="cli", id=0, name=name, role=Role.admin, provider_id=None)


def manager_of(session: Session, principal: Principal, *, what: str | None = None) -> Manager:
    """What ``principal`` may manage, from its current account (not from its token). For a
    route about one person or key (``what``), a provider user or system that manages nothing
    gets 404 like for another provider's object (the 403 would tell it the object exists)."""
    if principal.kind == "cli":
        return Manager(actor=principal)
    if principal.kind == "user":
        user = session.get(User, principal.id)
        if user is not None and user.active:
            if user.role == Role.admin:
                return Manager(actor=principal, region_id=user.region_id)
            if user.role == Role.provider and user.manages_provider and user.provider_id is not None:
                return Manager(actor=principal, provider_id=user.provider_id)
    if what is not None and principal.role == Role.provider:
        raise NotFound(f"{what} niet gevonden.")
    raise Forbidden("U beheert geen gebruikers of API-sleutels.", code="role_forbidden")


def _sees_user(manager: Manager, user: User) -> bool:
    if manager.provider_id is not None:
        return user.role == Role.provider and user.provider_id == manager.provider_id
    if manager.region_id is not None:
        return user.region_id == manager.region_id
    return True


def _sees_provider(session: Session, manager: Manager, provider_id: int) -> bool:
    if manager.provider_id is not None:
        return provider_id == manager.provider_id
    provider = session.get(Provider, provider_id)
    if provider is None:
        return False
    return manager.region_id is None or provider.region_id == manager.region_id


def _region_codes(session: Session) -> dict[int, str]:
    return {r.id: r.code for r in session.exec(select(Region)).all() if r.id is not None}


def public(user: User, codes: dict[int, str]) -> UserPublic:
    assert user.id is not None
    return UserPublic(
        id=user.id,
        username=user.username,
        role=user.role,
        provider_id=user.provider_id,
        region_id=user.region_id,
        region_code=codes.get(user.region_id) if user.region_id is not None else None,
        manages_provider=user.manages_provider,
        active=user.active,
        created_at=user.created_at,
    )


def _managed_user(session: Session, manager: Manager, user_id: int) -> User:
    user = session.exec(select(User).where(User.id == user_id).with_for_update()).first()
    if user is None or not _sees_user(manager, user):
        raise NotFound("Gebruiker niet gevonden.")
    if manager.actor.kind == "user" and user.id == manager.actor.id:
        raise RuleViolation("Uw eigen account wijzigt u hier niet; vraag een andere beheerder.")
    if manager.provider_id is not None and user.manages_provider:
        raise Forbidden("Een aanbiederbeheerder beheert alleen de planners van de eigen aanbieder.")
    return user


def region_id_for_code(session: Session, code: str) -> int:
    region = session.exec(select(Region).where(Region.code == code.strip().upper())).first()
    if region is None or region.id is None:
        raise NotFound(f"Regio '{code}' niet gevonden.")
    return region.id


def _audit(
    session: Session,
    actor: Principal,
    action: str,
    user_or_key: User | ApiKey,
    detail: dict,  # type: ignore[type-arg]
) -> None:
    assert user_or_key.id is not None
    region_id = user_or_key.region_id if isinstance(user_or_key, User) else None
    record(
        session=session,
        actor=actor,
        action=action,
        object_type="user" if isinstance(user_or_key, User) else "api_key",
        object_id=user_or_key.id,
        purpose=PURPOSE,
        detail=detail,
        region_id=account_region(session, region_id=region_id, provider_id=user_or_key.provider_id),
    )


# -- people ------------------------------------------------------------------------------------


def list_users(*, session: Session, principal: Principal) -> list[UserPublic]:
    manager = manager_of(session, principal)
    query = select(User).order_by(col(User.username))
    if manager.provider_id is not None:
        query = query.where(User.role == Role.provider, User.provider_id == manager.provider_id)
    elif manager.region_id is not None:
        query = query.where(User.region_id == manager.region_id)
    codes = _region_codes(session)
    return [public(u, codes) for u in session.exec(query).all()]


def create(*, session: Session, principal: Principal, body: UserCreate, settings: Settings) -> UserCreated:
    """A new person without a password: the answer carries a one-time code with which they set
    one (so no administrator ever knows a person's password)."""
    manager = manager_of(session, principal)
    role = body.role.value
    provider_id = body.provider
    if manager.provider_id is not None:
        if role != Role.provider:
            raise Forbidden("Een aanbiederbeheerder maakt alleen planners van de eigen aanbieder aan.")
        if body.manages_provider:
            raise Forbidden("Alleen een beheerder van de regio maakt een aanbiederbeheerder aan.")
        if provider_id is not None and provider_id != manager.provider_id:
            raise NotFound("Aanbieder niet gevonden.")
        provider_id = manager.provider_id
    if body.manages_provider and role != Role.provider:
        raise RuleViolation("Alleen een gebruiker met de rol zorgaanbieder kan aanbiederbeheerder zijn.")
    region_id: int | None
    if role == Role.provider:
        if provider_id is None:
            raise RuleViolation("Kies de aanbieder van deze gebruiker.")
        provider = session.get(Provider, provider_id)
        if provider is None or not _sees_provider(session, manager, provider_id):
            raise NotFound("Aanbieder niet gevonden.")
        region_id = provider.region_id
        if body.region and region_id_for_code(session, body.region) != region_id:
            raise RuleViolation("Een zorgaanbieder hoort bij de regio van de eigen aanbieder.")
    else:
        if provider_id is not None:
            raise RuleViolation("Alleen gebruikers met de rol zorgaanbieder horen bij een aanbieder.")
        region_id = region_id_for_code(session, body.region) if body.region else manager.region_id
        if manager.region_id is not None and region_id != manager.region_id:
            raise NotFound(f"Regio '{body.region}' niet gevonden.")
        if region_id is None and role != Role.admin:
            raise RuleViolation("Kies de regio van deze gebruiker (bijvoorbeeld JZ14).")
    user = create_user(
        session=session,
        username=body.username.strip(),
        # Never shown or used: the person sets their own password with the reset code.
        password=secrets.token_urlsafe(32),
        role=role,
        provider_id=provider_id,
        region_id=region_id,
        manages_provider=body.manages_provider,
    )
    user.password_hash = UNUSABLE_PASSWORD
    session.add(user)
    reset = _issue_reset(session, user, principal, settings)
    assert user.id is not None
    _audit(
        session,
        principal,
        "user.create",
        user,
        {
            "username": user.username,
            "role": role,
            "region_id": region_id,
            "provider_id": provider_id,
            "manages_provider": body.manages_provider,
        },
    )
    return UserCreated(**public(user, _region_codes(session)).model_dump(), reset=reset)


def change(*, session: Session, principal: Principal, user_id: int, body: UserUpdate) -> UserPublic:
    """A new role (or provider-administrator flag); the person's sessions end, so the new
    rights apply from their next login."""
    manager = manager_of(session, principal, what="Gebruiker")
    user = _managed_user(session, manager, user_id)
    changes: dict[str, dict[str, object]] = {}
    if body.role is not None and body.role != user.role:
        if manager.provider_id is not None:
            raise Forbidden("Een aanbiederbeheerder wijzigt geen rollen.")
        if Role.provider in (body.role, user.role):
            raise RuleViolation("Van of naar de rol zorgaanbieder wisselen kan niet; maak een nieuwe gebruiker aan.")
        if user.region_id is None and body.role != Role.admin:
            raise RuleViolation("Een gebruiker zonder regio kan alleen beheerder zijn.")
        changes["role"] = {"oud": user.role, "nieuw": body.role.value}
        user.role = body.role.value
    if body.manages_provider is not None and body.manages_provider != user.manages_provider:
        if manager.provider_id is not None:
            raise Forbidden("Alleen een beheerder van de regio maakt iemand aanbiederbeheerder.")
        if user.role != Role.provider:
            raise RuleViolation("Alleen een gebruiker met de rol zorgaanbieder kan aanbiederbeheerder zijn.")
        changes["manages_provider"] = {"oud": user.manages_provider, "nieuw": body.manages_provider}
        user.manages_provider = body.manages_provider
    if changes:
        assert user.id is not None
        session.add(user)
        session.flush()
        end_sessions(session=session, user_id=user.id, reason="rol gewijzigd", actor=principal.label)
        _audit(session, principal, "user.role_change", user, changes)
    return public(user, _region_codes(session))


def set_active(*, session: Session, principal: Principal, user_id: int, active: bool) -> UserPublic:
    manager = manager_of(session, principal, what="Gebruiker")
    user = _managed_user(session, manager, user_id)
    if user.active == active:
        raise Conflict("Deze gebruiker is al actief." if active else "Deze gebruiker is al gedeactiveerd.")
    assert user.id is not None
    user.active = active
    session.add(user)
    session.flush()
    if not active:
        end_sessions(session=session, user_id=user.id, reason="gedeactiveerd", actor=principal.label)
    _audit(session, principal, "user.reactivate" if active else "user.deactivate", user, {})
    return public(user, _region_codes(session))


def user_id_for_username(session: Session, username: str) -> int:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or user.id is None:
        raise NotFound(f"Gebruiker '{username}' niet gevonden.")
    return user.id


def reset_password(*, session: Session, principal: Principal, user_id: int, settings: Settings) -> PasswordResetPublic:
    """A one-time code for a new password. The old password stops working and every session
    ends: a reset is also what an administrator does when a password may have leaked."""
    manager = manager_of(session, principal, what="Gebruiker")
    user = _managed_user(session, manager, user_id)
    if not user.active:
        raise Conflict("Deze gebruiker is gedeactiveerd; heractiveer hem eerst.")
    assert user.id is not None
    reset = _issue_reset(session, user, principal, settings)
    user.password_hash = UNUSABLE_PASSWORD
    session.add(user)
    session.flush()
    end_sessions(session=session, user_id=user.id, reason="wachtwoord gereset", actor=principal.label)
    # The code itself is never written anywhere but in the answer.
    _audit(session, principal, "user.password_reset", user, {"expires_at": reset.expires_at.isoformat()})
    return reset


def _code_hash(code: str) -> str:
    normalised = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(normalised.encode()).hexdigest()


def _issue_reset(session: Session, user: User, actor: Principal, settings: Settings) -> PasswordResetPublic:
    assert user.id is not None
    now = utcnow()
    # A new code replaces any earlier one that was not used.
    session.execute(
        update(PasswordReset)
        .where(col(PasswordReset.user_id) == user.id, col(PasswordReset.used_at).is_(None))
        .values(used_at=now)
    )
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(20))
    code = "-".join(raw[i : i + 5] for i in range(0, 20, 5))
    expires_at = now + timedelta(hours=settings.password_reset_hours)
    session.add(
        PasswordReset(
            user_id=user.id, code_hash=_code_hash(code), created_by=actor.label, created_at=now, expires_at=expires_at
        )
    )
    session.flush()
    return PasswordResetPublic(code=code, expires_at=expires_at)


def set_password_with_code(*, session: Session, code: str, password: str) -> None:
    """The person sets a new password with the administrator's code (once, before it expires)."""
    reset = session.exec(
        select(PasswordReset).where(PasswordReset.code_hash == _code_hash(code)).with_for_update()
    ).first()
    now = utcnow()
    invalid = Unauthorized(
        "Deze code is ongeldig, al gebruikt of verlopen. Vraag uw beheerder om een nieuwe.", code="reset_code_invalid"
    )
    if reset is None or reset.used_at is not None or (as_utc(reset.expires_at) or now) <= now:
        raise invalid
    user = session.exec(select(User).where(User.id == reset.user_id).with_for_update()).first()
    if user is None or not user.active or user.id is None:
        raise invalid
    check_password(password, username=user.username)
    user.password_hash = hash_password(password)
    reset.used_at = now
    session.add_all([user, reset])
    session.flush()
    end_sessions(session=session, user_id=user.id, reason="wachtwoord ingesteld", actor=f"user:{user.id}")
    actor = Principal(
        kind="user",
        id=user.id,
        name=user.username,
        role=user.role,
        provider_id=user.provider_id,
        region_id=user.region_id,
    )
    _audit(session, actor, "user.password_set", user, {})


# -- API keys ----------------------------------------------------------------------------------


def key_public(key: ApiKey) -> ApiKeyPublic:
    assert key.id is not None
    return ApiKeyPublic(
        id=key.id,
        provider_id=key.provider_id,
        name=key.name,
        prefix=key.prefix,
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked=key.revoked,
        revoked_at=key.revoked_at,
    )


def list_keys(*, session: Session, principal: Principal, provider_id: int | None = None) -> list[ApiKeyPublic]:
    manager = manager_of(session, principal)
    query = select(ApiKey).order_by(col(ApiKey.id))
    if manager.provider_id is not None:
        query = query.where(ApiKey.provider_id == manager.provider_id)
    elif manager.region_id is not None:
        query = query.join(Provider, col(Provider.id) == col(ApiKey.provider_id)).where(
            Provider.region_id == manager.region_id
        )
    if provider_id is not None:
        query = query.where(ApiKey.provider_id == provider_id)
    return [key_public(k) for k in session.exec(query).all()]


def create_key(*, session: Session, principal: Principal, body: ApiKeyCreate) -> ApiKeyCreated:
    """A new key, shown once in the answer (only its hash is kept)."""
    manager = manager_of(session, principal)
    provider_id = body.provider if body.provider is not None else manager.provider_id
    if provider_id is None:
        raise RuleViolation("Kies de aanbieder van deze sleutel.")
    if not _sees_provider(session, manager, provider_id):
        raise NotFound("Aanbieder niet gevonden.")
    name = body.name.strip()
    if not name:
        raise RuleViolation("Geef de sleutel een naam, bijvoorbeeld het systeem dat hem gebruikt.")
    expires_at = as_utc(body.expires_at)
    if expires_at is not None and expires_at <= utcnow():
        raise RuleViolation("De vervaldatum moet in de toekomst liggen.")
    key, full = create_api_key(session=session, provider_id=provider_id, name=name)
    key.expires_at = expires_at
    session.add(key)
    session.flush()
    assert key.id is not None
    _audit(
        session,
        principal,
        "api_key.create",
        key,
        {"provider_id": provider_id, "name": name, "expires_at": expires_at.isoformat() if expires_at else None},
    )
    return ApiKeyCreated(**key_public(key).model_dump(), key=full)


def revoke_key(*, session: Session, principal: Principal, key_id: int) -> ApiKeyPublic:
    """Revoke a key: refused at once in every API process, its websockets closed."""
    manager = manager_of(session, principal, what="API-sleutel")
    key = session.exec(select(ApiKey).where(ApiKey.id == key_id).with_for_update()).first()
    if key is None or not _sees_provider(session, manager, key.provider_id):
        raise NotFound("API-sleutel niet gevonden.")
    if key.revoked:
        raise Conflict("Deze API-sleutel is al ingetrokken.")
    key.revoked = True
    key.revoked_at = utcnow()
    session.add(key)
    session.flush()
    api_key_revoked(session=session, key_id=key_id, actor=principal.label)
    _audit(session, principal, "api_key.revoke", key, {"provider_id": key.provider_id})
    return key_public(key)
