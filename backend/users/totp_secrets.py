"""TOTP secrets encrypted at rest.

Whoever reads a person's TOTP secret can make their codes, so a copy of the database (a backup,
a replica, a support dump) must not hand out second factors. The secrets in ``users.mfa_secret``
and in a pending enrolment (``mfa_challenges.pending_secret``) are stored as Fernet tokens
(``cryptography``: AES-128-CBC with an HMAC-SHA256, a random IV per value) under a key that is
a setting of the running service, not in the database: ``PLEKWIJZER_TOTP_ENCRYPTION_KEYS``, or
else a key derived from ``PLEKWIJZER_SECRET_KEY`` with HKDF-SHA256.

Stored values carry the prefix ``fernet:``. A value without it is a plaintext secret from
before encryption: it is read as it is and encrypted at that person's next login
(``backend/users/mfa.py``) or at once by ``plekwijzer users rotate-totp-key``.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backend.config import Settings

PREFIX = "fernet:"
# The derived key's purpose, so it differs from every other use of the secret key.
_HKDF_INFO = b"plekwijzer totp secrets v1"


class UnreadableSecret(RuntimeError):
    """A stored secret that no configured key opens (a changed SECRET_KEY or key list)."""


def derived_key(secret_key: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)


@lru_cache(maxsize=8)
def _cipher(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    # The configured keys first (the first one encrypts), the derived key last: it still opens
    # what was encrypted before an own key was configured.
    return MultiFernet([*(Fernet(k.encode()) for k in keys), Fernet(derived_key(secret_key))])


def cipher(settings: Settings) -> MultiFernet:
    return _cipher(tuple(settings.totp_encryption_key_list), settings.secret_key)


def is_encrypted(stored: str | None) -> bool:
    return stored is not None and stored.startswith(PREFIX)


def encrypt(settings: Settings, secret: str) -> str:
    return PREFIX + cipher(settings).encrypt(secret.encode()).decode()


def decrypt(settings: Settings, stored: str) -> str:
    if not is_encrypted(stored):
        return stored  # plaintext from before encryption (re-encrypted at the next login)
    try:
        return cipher(settings).decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise UnreadableSecret(
            "A TOTP secret cannot be decrypted with PLEKWIJZER_TOTP_ENCRYPTION_KEYS or the key derived from "
            "PLEKWIJZER_SECRET_KEY (was a key changed or removed?)"
        ) from None


def rotate(settings: Settings, stored: str) -> str:
    """The value encrypted under the current first key (plaintext from before included)."""
    if not is_encrypted(stored):
        return encrypt(settings, stored)
    return PREFIX + cipher(settings).rotate(stored[len(PREFIX) :].encode()).decode()


def new_key() -> str:
    return Fernet.generate_key().decode()
