"""Password hashing (argon2) and opaque token generation and hashing."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; False on mismatch or a malformed hash."""
    if not password_hash:
        return False
    try:
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
