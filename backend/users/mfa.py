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
from sqlmodel import Session, col, select

from backend.audit.purposes import Purpose
from backend.audit.service import record
from backend.auth import Principal
from backend.config import Settings
from backend.domain import utcnow
from backend.errors import DomainError, NotFound, RuleViolation, Unauthorized
from backend.providers.models import Provider
from backend.users.models import MfaChallenge, MfaChallengeOut, MfaEnrolment, RecoveryCode, User
from backend.users.throttle import Limit, keys_for, release, reserve
from backend.users.totp_secrets import decrypt, encrypt, is_encrypted, rotate

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
            pending_secret=encrypt(settings, secret) if secret else None,
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
        or challenge.step not in ("enrol", "verify")  # a re-enrolment's token gives no session
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
        step = _totp_step(decrypt(settings, challenge.pending_secret), plain, now) if plain.isdigit() else None
    elif plain.isdigit() and len(plain) == 6:
        assert user.mfa_secret is not None
        step = _totp_step(decrypt(settings, user.mfa_secret), plain, now)
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
    if user.mfa_secret is not None and not is_encrypted(user.mfa_secret):
        # A plaintext secret from before encryption at rest: encrypted now that it is used.
        user.mfa_secret = encrypt(settings, user.mfa_secret)
    session.add(user)
    session.add(challenge)
    session.flush()
    return outcome


def account_region(session: Session, *, region_id: int | None, provider_id: int | None) -> int | None:
    """The region a person or key belongs to, for its audit rows: its own region, else its
    provider's (None for a service-wide administrator)."""
    if region_id is not None or provider_id is None:
        return region_id
    provider = session.get(Provider, provider_id)
    return provider.region_id if provider is not None else None


def _audit(session: Session, actor: Principal, action: str, user: User) -> None:
    """One audit row for a change of a person's second factor (never the secret or a code)."""
    record(
        session=session,
        actor=actor,
        action=action,
        object_type="user",
        object_id=user.id,  # type: ignore[arg-type]
        purpose=Purpose.account_security,
        region_id=account_region(session, region_id=user.region_id, provider_id=user.provider_id),
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


# -- moving to a new authenticator app while logged in ------------------------------------------

REENROL = "reenrol"


def start_reenrolment(
    *,
    session: Session,
    settings: Settings,
    user_id: int,
    code: str | None,
    password_ok: bool,
    limits: list[Limit],
    client: str,
) -> tuple[MfaChallengeOut | None, DomainError | None]:
    """Step one of moving to a new app: the person proves they hold the current factor (a code
    from the current app, or their password when the old phone is gone), and gets a new secret
    and QR code. Nothing changes yet: the current app keeps working until a code of the new
    one is confirmed (``confirm_reenrolment``). The attempt was counted before (``limits``,
    as a login); a refusal is returned, not raised, so that the count is committed."""
    now = utcnow()
    user = session.get(User, user_id, with_for_update=True)
    if user is None or not user.active:
        return None, Unauthorized("U bent niet (meer) ingelogd. Log opnieuw in.", code="not_authenticated")
    if user.mfa_secret is None:
        return None, RuleViolation(
            "U heeft nog geen authenticator-app ingesteld; dat gebeurt bij het inloggen.", code="mfa_not_enrolled"
        )
    proven = password_ok
    plain = _normalise(code or "")
    if not proven and plain.isdigit() and len(plain) == 6:
        step = _totp_step(decrypt(settings, user.mfa_secret), plain, now)
        if step is not None and (user.mfa_last_step is None or step > user.mfa_last_step):
            user.mfa_last_step = step  # used now: never accepted again
            proven = True
    if not proven:
        return None, Unauthorized(
            "De code of het wachtwoord klopt niet. Vul de code in die uw huidige authenticator-app nu toont, "
            "of uw wachtwoord.",
            code="mfa_confirm_invalid",
        )
    release(session, limits)
    token = secrets.token_urlsafe(32)
    secret = pyotp.random_base32()
    session.add(
        MfaChallenge(
            token_hash=_sha256(token),
            user_id=user_id,
            step=REENROL,
            pending_secret=encrypt(settings, secret),
            client=client[:64],
            created_at=now,
            expires_at=now + timedelta(seconds=settings.mfa_challenge_seconds),
        )
    )
    session.add(user)
    session.flush()
    enrolment = enrolment_for(user.username, secret)
    return MfaChallengeOut(
        mfa_required=REENROL, mfa_token=token, expires_in=settings.mfa_challenge_seconds, enrolment=enrolment
    ), None


def confirm_reenrolment(
    *, session: Session, settings: Settings, actor: Principal, token: str, code: str, client: str
) -> DomainError | None:
    """Step two: the first correct code of the new app replaces the old secret (audited). A
    refusal is returned so that the counted attempt is committed."""
    now = utcnow()
    expired = Unauthorized(
        "Deze stap is verlopen of al gebruikt. Begin opnieuw met ‘Nieuwe app instellen’.", code="mfa_challenge_invalid"
    )
    challenge = session.exec(
        select(MfaChallenge).where(MfaChallenge.token_hash == _sha256(token)).with_for_update()
    ).first()
    if (
        challenge is None
        or challenge.step != REENROL
        or challenge.user_id != actor.id
        or challenge.used_at is not None
        or _aware(challenge.expires_at) <= now
        or challenge.attempts >= settings.mfa_max_attempts
        or challenge.pending_secret is None
    ):
        return expired
    user = session.get(User, challenge.user_id, with_for_update=True)
    if user is None or not user.active:
        return expired
    limits = keys_for(settings, username=user.username, client=client)
    reserve(session, settings, limits)
    challenge.attempts += 1
    plain = _normalise(code)
    step = _totp_step(decrypt(settings, challenge.pending_secret), plain, now) if plain.isdigit() else None
    session.add(challenge)
    if step is None:
        session.flush()
        return Unauthorized(
            "De code klopt niet. Vul de code in die de nieuwe app nu toont; uw huidige app blijft tot dan werken.",
            code="mfa_code_invalid",
        )
    release(session, limits)
    challenge.used_at = now
    user.mfa_secret = challenge.pending_secret
    user.mfa_enabled_at = now
    user.mfa_last_step = step
    session.add(user)
    _audit(session, actor, "user.mfa_reenrolled", user)
    session.flush()
    return None


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


def rotate_secrets(*, session: Session, settings: Settings, actor: Principal) -> int:
    """Every stored TOTP secret (enrolled or pending) encrypted under the current first key,
    plaintext ones from before encryption at rest included; one audit row. Returns how many."""
    count = 0
    for user in session.exec(select(User).where(col(User.mfa_secret).is_not(None)).with_for_update()).all():
        assert user.mfa_secret is not None
        user.mfa_secret = rotate(settings, user.mfa_secret)
        session.add(user)
        count += 1
    pending = select(MfaChallenge).where(col(MfaChallenge.pending_secret).is_not(None)).with_for_update()
    for challenge in session.exec(pending).all():
        assert challenge.pending_secret is not None
        challenge.pending_secret = rotate(settings, challenge.pending_secret)
        session.add(challenge)
    record(
        session=session,
        actor=actor,
        action="user.mfa_secrets_rotated",
        object_type="user",
        object_id="*",
        purpose=Purpose.account_security,
        detail={"users": count},
    )
    session.flush()
    return count
