"""Login sessions: short-lived access tokens, rotating refresh tokens, ending sessions, and the
one-time tickets that open the live feed's websocket.

A login starts a session (``auth_sessions``) and hands out an access token (at most 15 minutes)
and a refresh token. A refresh token is used once: exchanging it gives a new pair and marks it
used. Presenting a used one again means someone kept a copy (the rightful client already has the
next one), so the whole session ends, the thief's and the owner's tokens alike.

Ending sessions writes the ``auth.sessions_ended`` event in the same transaction: every API
process's live hub applies it (refuses the sessions' access tokens, closes their websockets)
within a second, and a process that starts later reads the ended sessions from the table.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from backend.auth import Principal, api_key_principal, create_access_token
from backend.config import Settings
from backend.domain import as_utc, utcnow
from backend.errors import Unauthorized
from backend.events.service import append_event
from backend.revocations import Revocations
from backend.users.models import ApiKey, AuthSession, LiveTicket, LiveTicketPublic, RefreshToken, Token, User

SESSIONS_ENDED = "auth.sessions_ended"
API_KEY_REVOKED = "auth.api_key_revoked"
REFRESH_PREFIX = "pwr_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_refresh_token(session: Session, auth_session: AuthSession, settings: Settings) -> tuple[str, int]:
    assert auth_session.id is not None
    now = utcnow()
    lifetime = timedelta(minutes=settings.refresh_token_minutes)
    # Never beyond the session's own end.
    expires_at = min(now + lifetime, as_utc(auth_session.expires_at) or now)
    secret = REFRESH_PREFIX + secrets.token_urlsafe(32)
    session.add(
        RefreshToken(session_id=auth_session.id, token_hash=_hash(secret), created_at=now, expires_at=expires_at)
    )
    return secret, max(0, int((expires_at - now).total_seconds()))


def _tokens(session: Session, user: User, auth_session: AuthSession, settings: Settings) -> Token:
    assert auth_session.id is not None
    access, expires_in = create_access_token(user, settings, session_id=auth_session.id)
    refresh, refresh_expires_in = _new_refresh_token(session, auth_session, settings)
    session.flush()
    return Token(
        access_token=access,
        role=user.role,
        provider_id=user.provider_id,
        expires_in=expires_in,
        refresh_token=refresh,
        refresh_expires_in=refresh_expires_in,
        manages_provider=user.manages_provider,
        mfa_enabled=user.mfa_secret is not None,
    )


def start_session(*, session: Session, user: User, settings: Settings) -> Token:
    """A new login session for ``user`` (password already checked) and its first tokens."""
    assert user.id is not None
    now = utcnow()
    auth_session = AuthSession(
        user_id=user.id, created_at=now, expires_at=now + timedelta(hours=settings.session_max_hours)
    )
    session.add(auth_session)
    session.flush()
    return _tokens(session, user, auth_session, settings)


def refresh(*, session: Session, settings: Settings, refresh_token: str) -> Token | Unauthorized:
    """A new token pair for a refresh token, or the refusal. The refusal is returned, not
    raised, so that the caller commits what it did: a reused token has ended its session."""
    invalid = Unauthorized("Uw sessie is verlopen; log opnieuw in.", code="refresh_invalid")
    record = session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == _hash(refresh_token)).with_for_update()
    ).first()
    if record is None:
        return invalid
    auth_session = session.exec(select(AuthSession).where(AuthSession.id == record.session_id).with_for_update()).one()
    if auth_session.ended_at is not None:
        return invalid
    now = utcnow()
    if record.used_at is not None:
        end_sessions(session=session, session_ids=[record.session_id], reason="refresh-token hergebruikt")
        return Unauthorized(
            "Deze sessie is beëindigd omdat een oud toegangsbewijs opnieuw werd gebruikt; log opnieuw in.",
            code="refresh_reused",
        )
    user = session.get(User, auth_session.user_id)
    expires_at = as_utc(record.expires_at)
    session_end = as_utc(auth_session.expires_at)
    if user is None or not user.active or (expires_at and expires_at <= now) or (session_end and session_end <= now):
        return invalid
    record.used_at = now
    session.add(record)
    return _tokens(session, user, auth_session, settings)


def end_sessions(
    *,
    session: Session,
    reason: str,
    session_ids: list[int] | None = None,
    user_id: int | None = None,
    actor: str | None = None,
) -> list[int]:
    """End the given sessions, or every open session of ``user_id``; the event makes every API
    process refuse their tokens and close their websockets."""
    query = select(AuthSession.id).where(col(AuthSession.ended_at).is_(None))
    if session_ids is not None:
        query = query.where(col(AuthSession.id).in_(session_ids))
    if user_id is not None:
        query = query.where(AuthSession.user_id == user_id)
    ids = [int(i) for i in session.exec(query).all() if i is not None]
    if not ids:
        return []
    session.execute(
        update(AuthSession).where(col(AuthSession.id).in_(ids)).values(ended_at=utcnow(), ended_reason=reason[:40])
    )
    append_event(session=session, type=SESSIONS_ENDED, payload={"session_ids": ids}, actor=actor)
    return ids


def api_key_revoked(*, session: Session, key_id: int, actor: str | None) -> None:
    """Tell every API process: forget the key's verification, close its websockets."""
    append_event(session=session, type=API_KEY_REVOKED, payload={"api_key_id": key_id}, actor=actor)


# -- live-feed tickets ------------------------------------------------------------------------


def issue_ticket(*, session: Session, principal: Principal, settings: Settings) -> LiveTicketPublic:
    now = utcnow()
    # Spent and expired tickets are of no use to anyone: clear them as new ones are made.
    session.execute(delete(LiveTicket).where(col(LiveTicket.expires_at) < now - timedelta(minutes=5)))
    ticket = secrets.token_urlsafe(32)
    session.add(
        LiveTicket(
            ticket_hash=_hash(ticket),
            kind=principal.kind,
            subject_id=principal.id,
            session_id=principal.session_id,
            expires_at=now + timedelta(seconds=settings.live_ticket_seconds),
        )
    )
    session.flush()
    return LiveTicketPublic(ticket=ticket, expires_in=settings.live_ticket_seconds)


def redeem_ticket(*, session: Session, ticket: str, revocations: Revocations) -> Principal:
    """The principal of a ticket, which is used up by this; who it is is read afresh (a role
    changed since is not carried over, an ended session or revoked key is refused)."""
    invalid = Unauthorized(
        "Ongeldige of verlopen toegang tot de live-verbinding; vraag een nieuwe aan.", code="ticket_invalid"
    )
    record = session.exec(select(LiveTicket).where(LiveTicket.ticket_hash == _hash(ticket)).with_for_update()).first()
    now = utcnow()
    if record is None or record.used_at is not None or (as_utc(record.expires_at) or now) <= now:
        raise invalid
    record.used_at = now
    session.add(record)
    session.flush()
    if record.kind == "api_key":
        key = session.get(ApiKey, record.subject_id)
        key_expiry = as_utc(key.expires_at) if key else None
        if key is None or key.revoked or (key_expiry is not None and key_expiry <= now):
            raise invalid
        return api_key_principal(key)
    user = session.get(User, record.subject_id)
    auth_session = session.get(AuthSession, record.session_id) if record.session_id else None
    if (
        user is None
        or not user.active
        or auth_session is None
        or auth_session.ended_at is not None
        or revocations.is_ended(auth_session.id)
    ):
        raise invalid
    assert user.id is not None
    return Principal(
        kind="user",
        id=user.id,
        name=user.username,
        role=user.role,
        provider_id=user.provider_id,
        region_id=user.region_id,
        session_id=auth_session.id,
        manages_provider=user.manages_provider,
    )


# -- when access runs out (the live feed closes a websocket then) -----------------------------


def access_deadline(session: Session, principal: Principal) -> datetime | None:
    """When the access behind a connection runs out on its own. A person's session: at its
    maximum age (``SESSION_MAX_HOURS``) or when its newest refresh token expires unused (the
    idle timeout, ``REFRESH_TOKEN_MINUTES``), whichever comes first; a refresh moves the
    latter on. An API key: at its expiry, None when it has none. An ended session or a
    revoked key: now."""
    now = utcnow()
    if principal.kind == "api_key":
        key = session.get(ApiKey, principal.id)
        if key is None or key.revoked:
            return now
        return as_utc(key.expires_at)
    auth_session = session.get(AuthSession, principal.session_id) if principal.session_id is not None else None
    if auth_session is None or auth_session.ended_at is not None:
        return now
    idle_end = session.exec(
        select(func.max(RefreshToken.expires_at)).where(
            RefreshToken.session_id == auth_session.id, col(RefreshToken.used_at).is_(None)
        )
    ).one()
    session_end = as_utc(auth_session.expires_at) or now
    return min(session_end, as_utc(idle_end) or now)
