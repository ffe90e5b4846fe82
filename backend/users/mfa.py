"""The second factor: TOTP (RFC 6238, pyotp) with one-time recovery codes.

For a role in ``PLEKWIJZER_MFA_ROLES`` a correct password gives no session but a challenge: a
random token, valid for a few minutes, used once, accepting a few codes. With it the person
sends a code from their authenticator app (or a recovery code) and gets the session. Someone
of such a role without a second factor yet enrols at that step: the challenge carries a new
secret (shown as text and as a QR code made here, so no outside service sees it), and the
first correct code confirms it and turns it on; then the recovery codes are shown, once.

A code is accepted in the 30-second step before, at and after the server's clock (phones
drift), and never twice (the last accepted step is kept per user, RFC 6238 section 5.2).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pyotp
import segno
from sqlalchemy import update
from sqlmodel import Session, select

from backend.audit.purposes import Purpose
from backend.audit.service import record
from backend.auth import Principal
from backend.config import Settings
from backend.domain import utcnow
from backend.errors import DomainError, NotFound, Unauthorized
from backend.users.models import MfaChallenge, MfaChallengeOut, MfaEnrolment, RecoveryCode, User
from backend.users.throttle import keys_for, release, reserve

ISSUER = "plekwijzer"
RECOVERY_CODES = 10


def needs_mfa(settings: Settings, user: User) -> bool:
    return user.role in settings.mfa_role_set


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def enrolment_for(username: str, secret: str) -> MfaEnrolment:
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    return MfaEnrolment(secret=secret, otpauth_uri=uri, qr_svg=qr)


def start_challenge(*, session: Session, settings: Settings, user: User, client: str) -> MfaChallengeOut:
    """The step after a correct password: enter a code, or enrol first."""
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    enrolling = user.mfa_secret is None
    secret = pyotp.random_base32() if enrolling else None
    session.add(
        MfaChallenge(
            token_hash=_sha256(token),
            user_id=user.id,
            step="enrol" if enrolling else "verify",
            pending_secret=secret,
            client=client[:64],
            created_at=now,
            expires_at=now + timedelta(seconds=settings.mfa_challenge_seconds),
        )
    )
    session.flush()
    return MfaChallengeOut(
        mfa_required="enrol" if enrolling else "verify",
        mfa_token=token,
        expires_in=settings.mfa_challenge_seconds,
        enrolment=enrolment_for(user.username, secret) if secret else None,
    )


@dataclass
class Outcome:
    """What a code did. A refusal is returned, not raised, so that the caller commits the
    counted attempt before answering 401."""

    user: User | None = None
    error: DomainError | None = None
    recovery_codes: list[str] = field(default_factory=list)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _normalise(code: str) -> str:
    return "".join(ch for ch in code.casefold() if ch.isalnum())


def _totp_step(secret: str, code: str, now: datetime) -> int | None:
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def complete_challenge(*, session: Session, settings: Settings, token: str, code: str, client: str) -> Outcome:
    """Check a code against a challenge; on success the person may have a session."""
    expired = Unauthorized(
        "Deze inlogstap is verlopen of al gebruikt. Log opnieuw in met uw wachtwoord.", code="mfa_challenge_invalid"
    )
    now = utcnow()
    challenge = session.exec(
        select(MfaChallenge).where(MfaChallenge.token_hash == _sha256(token)).with_for_update()
    ).first()
    if (
        challenge is None
        or challenge.used_at is not None
        or _aware(challenge.expires_at) <= now
        or challenge.attempts >= settings.mfa_max_attempts
    ):
        return Outcome(error=expired)
    user = session.get(User, challenge.user_id, with_for_update=True)
    if user is None or not user.active:
        return Outcome(error=expired)
    limits = keys_for(settings, username=user.username, client=client)
    reserve(session, settings, limits)  # a wrong code counts like a wrong password
    challenge.attempts += 1
    plain = _normalise(code)
    step: int | None = None
    recovery_used = False
    if challenge.step == "enrol":
        assert challenge.pending_secret is not None
        step = _totp_step(challenge.pending_secret, plain, now) if plain.isdigit() else None
    elif plain.isdigit() and len(plain) == 6:
        assert user.mfa_secret is not None
        step = _totp_step(user.mfa_secret, plain, now)
        if step is not None and user.mfa_last_step is not None and step <= user.mfa_last_step:
            session.flush()
            return Outcome(
                error=Unauthorized(
                    "Deze code is al gebruikt. Wacht op de volgende code in uw app en vul die in.",
                    code="mfa_code_reused",
                )
            )
    else:
        recovery_used = _use_recovery_code(session, user, plain, now)
    if step is None and not recovery_used:
        session.flush()
        left = settings.mfa_max_attempts - challenge.attempts
        message = "De code klopt niet. Vul de code in die uw authenticator-app nu toont."
        if left <= 0:
            message += " U heeft het te vaak geprobeerd: log opnieuw in met uw wachtwoord."
        return Outcome(error=Unauthorized(message, code="mfa_code_invalid"))
    challenge.used_at = now
    release(session, limits)
    actor = Principal(
        kind="user",
        id=user.id,  # type: ignore[arg-type]
        name=user.username,
        role=user.role,
        provider_id=user.provider_id,
        region_id=user.region_id,
    )
    outcome = Outcome(user=user)
    if challenge.step == "enrol":
        user.mfa_secret = challenge.pending_secret
        user.mfa_enabled_at = now
        user.mfa_last_step = step
        outcome.recovery_codes = new_recovery_codes(session=session, user=user)
        _audit(session, actor, "user.mfa_enrolled", user)
    elif recovery_used:
        _audit(session, actor, "user.mfa_recovery_code_used", user)
    else:
        user.mfa_last_step = step
    session.add(user)
    session.add(challenge)
    session.flush()
    return outcome


def _audit(session: Session, actor: Principal, action: str, user: User) -> None:
    """One audit row for a change of a person's second factor (never the secret or a code)."""
    record(
        session=session,
        actor=actor,
        action=action,
        object_type="user",
        object_id=user.id,  # type: ignore[arg-type]
        purpose=Purpose.account_security,
    )


def _use_recovery_code(session: Session, user: User, plain: str, now: datetime) -> bool:
    if not plain:
        return False
    table = RecoveryCode.__table__  # type: ignore[attr-defined]
    result = session.execute(
        update(table)
        .where(table.c.user_id == user.id, table.c.code_hash == _sha256(plain), table.c.used_at.is_(None))
        .values(used_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def new_recovery_codes(*, session: Session, user: User) -> list[str]:
    """Ten new one-time codes (the old ones stop working); only their hashes are stored."""
    table = RecoveryCode.__table__  # type: ignore[attr-defined]
    session.execute(table.delete().where(table.c.user_id == user.id))
    now = utcnow()
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(10)  # 80 random bits
        codes.append("-".join(raw[i : i + 5] for i in range(0, 20, 5)))
        session.add(RecoveryCode(user_id=user.id, code_hash=_sha256(raw), created_at=now))  # type: ignore[arg-type]
    session.flush()
    return codes


def reset_second_factor(*, session: Session, username: str, actor: Principal) -> User:
    """For someone who lost their phone and their recovery codes: the second factor is removed,
    and at the next login they set it up again (after their password). Audited."""
    user = session.exec(select(User).where(User.username == username).with_for_update()).first()
    if user is None:
        raise NotFound(f"Gebruiker '{username}' bestaat niet.")
    user.mfa_secret = None
    user.mfa_enabled_at = None
    user.mfa_last_step = None
    session.add(user)
    table = RecoveryCode.__table__  # type: ignore[attr-defined]
    session.execute(table.delete().where(table.c.user_id == user.id))
    _audit(session, actor, "user.mfa_reset", user)
    session.flush()
    return user
