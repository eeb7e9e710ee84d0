"""Password hashing (argon2) and opaque token generation and hashing."""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    """A hash of no one's password, made once with the same parameters as real ones."""
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; False on mismatch or a malformed hash.

    Without a hash (an unknown email, a user without a password) the password is still
    verified, against a dummy hash, so that the answer takes as long as for a real user."""
    try:
        if not password_hash:
            _hasher.verify(_dummy_hash(), password)
            return False
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password that a human can still type."""
    return secrets.token_urlsafe(12)


def generate_token(prefix: str) -> str:
    """A new opaque secret such as ``bmr_...``; show it once, store only its hash."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    """SHA-256 of a high-entropy token (no salt needed: tokens are random)."""
    return hashlib.sha256(token.encode()).hexdigest()
