"""Password and client-secret hashing with argon2; verification takes the same time for unknown logins."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when a login does not exist, so that timing does not tell which logins do.
_DUMMY = _hasher.hash("recordbase-dummy-secret")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(secret_hash: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash or _DUMMY, secret) and secret_hash is not None
    except (VerificationError, InvalidHashError):
        return False
