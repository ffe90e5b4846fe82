"""Users and API keys: creating them, logging in, and brute-force protection."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, delete, func, select

from backend.auth import authenticate_user, hash_password, new_api_key
from backend.config import Settings
from backend.domain import utcnow
from backend.errors import RuleViolation, TooManyRequests
from backend.providers.models import Provider
from backend.users.models import ApiKey, LoginFailure, Role, User


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role: str,
    provider_id: int | None = None,
    region_id: int | None = None,
    manages_provider: bool = False,
) -> User:
    if role not in Role.__members__:
        raise RuleViolation(f"Onbekende rol '{role}'; kies uit {', '.join(Role.__members__)}.")
    if role == Role.provider and provider_id is None:
        raise RuleViolation("Een gebruiker met de rol provider hoort bij één aanbieder (--provider).")
    if role != Role.provider and provider_id is not None:
        raise RuleViolation("Alleen gebruikers met de rol provider horen bij een aanbieder.")
    if provider_id is not None and session.get(Provider, provider_id) is None:
        raise RuleViolation(f"Aanbieder {provider_id} bestaat niet.")
    if len(password) < 8:
        raise RuleViolation("Het wachtwoord moet minstens 8 tekens hebben.")
    if not username or len(username) > 80:
        raise RuleViolation("De gebruikersnaam moet 1 tot 80 tekens hebben.")
    if session.exec(select(User).where(User.username == username)).first():
        raise RuleViolation(f"Gebruikersnaam '{username}' bestaat al.")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        provider_id=provider_id,
        region_id=region_id,
        created_at=utcnow(),
        manages_provider=manages_provider,
    )
    session.add(user)
    session.flush()
    return user


def check_new_password(password: str, *, username: str) -> None:
    """The rule for a password a person sets with a reset code (the same as ``create_user``'s)."""
    if len(password) < 8:
        raise RuleViolation("Het wachtwoord moet minstens 8 tekens hebben.")
    if password.strip().lower() == username.strip().lower():
        raise RuleViolation("Het wachtwoord mag niet gelijk zijn aan de gebruikersnaam.")


def create_api_key(*, session: Session, provider_id: int, name: str = "") -> tuple[ApiKey, str]:
    if session.get(Provider, provider_id) is None:
        raise RuleViolation(f"Aanbieder {provider_id} bestaat niet.")
    full, prefix, key_hash = new_api_key()
    record = ApiKey(provider_id=provider_id, prefix=prefix, key_hash=key_hash, name=name, created_at=utcnow())
    session.add(record)
    session.flush()
    return record, full


def login(*, session: Session, settings: Settings, username: str, password: str, client: str) -> User | None:
    """Check a password, refusing with 429 while a username/address pair is locked out."""
    window_start = utcnow() - timedelta(seconds=settings.login_lockout_seconds)
    failures = session.exec(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.username == username, LoginFailure.client == client, col(LoginFailure.at) >= window_start)
    ).one()
    if failures >= settings.login_max_failures:
        raise TooManyRequests(
            "Te veel mislukte inlogpogingen. Probeer het over enkele minuten opnieuw.",
            headers={"Retry-After": str(settings.login_lockout_seconds)},
        )
    user = authenticate_user(session, username, password)
    if user is None:
        session.add(LoginFailure(username=username, client=client, at=utcnow()))
        return None
    session.exec(delete(LoginFailure).where(col(LoginFailure.username) == username, col(LoginFailure.client) == client))
    return user
