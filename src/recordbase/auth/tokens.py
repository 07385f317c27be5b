"""Bearer tokens: random secrets handed out once, stored as SHA-256 hashes, looked up per request.

A token carries 256 bits of randomness, so a fast hash is enough to make a stolen
table useless; passwords (which are guessable) will use argon2 instead.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from recordbase.core.actors import SYSTEM_ACTOR_ID, Actor
from recordbase.storage.principals import PrincipalStore

TOKEN_PREFIX = "rb_"
ADMIN_SCOPES = frozenset(
    {"DataService.Schema.Read", "DataService.Data.Read", "DataService.Data.Write", "DataService.Admin"}
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    def __init__(self, store: PrincipalStore) -> None:
        self.store = store

    async def create_admin_token(self, name: str = "admin", expires_in: timedelta | None = None) -> str:
        """Create a token for the built-in administrator; the plain token is returned once, never stored."""
        await self.store.ensure_principal(SYSTEM_ACTOR_ID, "user", "admin")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires_at = (datetime.now(UTC) + expires_in).isoformat() if expires_in else None
        await self.store.add_token(
            str(uuid.uuid4()), hash_token(token), SYSTEM_ACTOR_ID, name, is_admin=True, expires_at=expires_at
        )
        return token

    async def authenticate(self, token: str) -> Actor | None:
        """The actor behind a token, or None when it is unknown, expired or revoked."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        row = await self.store.find_token(hash_token(token))
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and datetime.fromisoformat(row.expires_at) <= datetime.now(UTC):
            return None
        scopes = ADMIN_SCOPES if row.is_admin else frozenset()
        return Actor(id=row.principal_id, name=row.principal_name, is_admin=row.is_admin, scopes=scopes)
