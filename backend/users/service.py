"""Users and API keys: creating them, and logging in (password, limits, second factor)."""

from __future__ import annotations

from sqlmodel import Session, select

from backend.auth import hash_password, new_api_key
from backend.config import Settings
from backend.domain import utcnow
from backend.errors import RuleViolation
from backend.providers.models import Provider
from backend.users.mfa import needs_mfa, start_challenge
from backend.users.models import ApiKey, MfaChallengeOut, Role, Token, User
from backend.users.passwords import check_password
from backend.users.sessions import start_session
from backend.users.throttle import Limit, keys_for, release, reserve


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
    if not username or len(username) > 80:
        raise RuleViolation("De gebruikersnaam moet 1 tot 80 tekens hebben.")
    check_password(password, username=username)
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


def create_api_key(*, session: Session, provider_id: int, name: str = "") -> tuple[ApiKey, str]:
    if session.get(Provider, provider_id) is None:
        raise RuleViolation(f"Aanbieder {provider_id} bestaat niet.")
    full, prefix, key_hash = new_api_key()
    record = ApiKey(provider_id=provider_id, prefix=prefix, key_hash=key_hash, name=name, created_at=utcnow())
    session.add(record)
    session.flush()
    return record, full


def issue_tokens(*, session: Session, settings: Settings, user: User) -> Token:
    """The one place a person's session is handed out, after the password and, for the roles
    that need it, the second factor: a login session with its access and refresh token."""
    return start_session(session=session, user=user, settings=settings)


def reserve_login(*, session: Session, settings: Settings, username: str, client: str) -> list[Limit]:
    """Count this attempt before the password is checked, or refuse with 429 (see throttle)."""
    limits = keys_for(settings, username=username, client=client)
    reserve(session, settings, limits)
    return limits


def release_attempt(*, session: Session, limits: list[Limit]) -> None:
    """An attempt that was not a guess after all (the server was too busy to check it)."""
    release(session, limits, forget_pair=False)


def finish_login(
    *, session: Session, settings: Settings, user_id: int, limits: list[Limit], client: str
) -> Token | MfaChallengeOut:
    """After a correct password: the attempt is given back, and the person gets a session,
    or, for a role that needs a second factor, the step to enter (or first enrol) it."""
    release(session, limits)
    user = session.get(User, user_id)
    assert user is not None
    if needs_mfa(settings, user):
        return start_challenge(session=session, settings=settings, user=user, client=client)
    return issue_tokens(session=session, settings=settings, user=user)
