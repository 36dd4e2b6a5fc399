"""Passwords, API keys, session tokens and signed links.

Passwords are hashed with argon2id (slow on purpose). API keys and session
tokens are 256-bit random strings, so a fast SHA-256 digest is enough to store
them: guessing is hopeless, and checking a key costs microseconds per request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from icity.config import get_settings, secret_key

KEY_PREFIX = "ick_"  # API keys: ick_<prefix>_<secret>
PROVIDER_PREFIX = "icp_"  # provider tokens (push): icp_<prefix>_<secret>
SESSION_PREFIX = "ics_"  # session tokens: ics_<secret>

_hasher = PasswordHasher()
# verified against when the email is unknown, so both cases take the same time
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_digest(token: str, stored_digest: str) -> bool:
    """Constant-time comparison, so response times reveal nothing about the secret."""
    return hmac.compare_digest(digest(token), stored_digest)


@dataclass(frozen=True)
class NewKey:
    prefix: str
    key: str  # shown once, never stored

    @property
    def digest(self) -> str:
        return digest(self.key)


def new_api_key(kind: str = KEY_PREFIX) -> NewKey:
    """An API key, or with ``kind=PROVIDER_PREFIX`` a provider token: the same shape."""
    prefix = secrets.token_hex(4)
    return NewKey(prefix, f"{kind}{prefix}_{secrets.token_urlsafe(32)}")


def key_prefix(key: str, kind: str = KEY_PREFIX) -> str | None:
    """The public prefix of a well-formed API key (or provider token), else None."""
    if not key.startswith(kind):
        return None
    prefix, _, secret = key[len(kind) :].partition("_")
    return prefix if len(prefix) == 8 and secret else None


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


# ---- signed links --------------------------------------------------------------


class LinkError(Exception):
    def __init__(self, expired: bool):
        self.expired = expired


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(get_settings()), salt=f"icity.{purpose}")


def sign(purpose: str, payload: dict) -> str:
    return _serializer(purpose).dumps(payload)


def unsign(purpose: str, token: str, max_age_s: int) -> dict:
    """The payload of a token signed for `purpose`; LinkError if tampered with or expired."""
    try:
        return _serializer(purpose).loads(token, max_age=max_age_s)
    except SignatureExpired as error:
        raise LinkError(expired=True) from error
    except BadSignature as error:
        raise LinkError(expired=False) from error
