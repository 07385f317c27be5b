"""Personal access tokens: random secrets shown once, stored as SHA-256 hashes, looked up per request.

A token carries 256 bits of randomness, so a fast hash is enough to make a stolen table
useless; passwords and client secrets, which are guessable, use argon2 (auth/passwords.py).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from recordbase.core.actors import SYSTEM_ACTOR_ID
from recordbase.storage.principals import PrincipalStore

TOKEN_PREFIX = "rb_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    def __init__(self, store: PrincipalStore) -> None:
        self.store = store

    async def create_admin_token(self, name: str = "admin", expires_in: timedelta | None = None) -> str:
        """A token for the built-in administrator (who holds the Administrator role); returned once."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires_at = (datetime.now(UTC) + expires_in).isoformat() if expires_in else None
        await self.store.add_token(
            str(uuid.uuid4()), hash_token(token), SYSTEM_ACTOR_ID, name, is_admin=True, expires_at=expires_at
        )
        return token
