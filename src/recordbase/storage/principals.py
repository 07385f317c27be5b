"""Principals and their bearer tokens (only hashes are stored)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from recordbase.storage import tables
from recordbase.storage.database import Connection, Database


@dataclass(frozen=True)
class TokenRow:
    principal_id: str
    principal_name: str
    is_admin: bool
    expires_at: str | None
    revoked_at: str | None
    scopes: str | None


class PrincipalStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        t, p = tables.tokens, tables.principals
        self._find = database.prepare(
            sa.select(t.c.principal_id, p.c.name, t.c.is_admin, t.c.expires_at, t.c.revoked_at, t.c.scopes)
            .join(p, p.c.id == t.c.principal_id)
            .where(t.c.token_hash == sa.bindparam("token_hash")),
            point=True,
        )

    async def add_token(
        self,
        token_id: str,
        token_hash: str,
        principal_id: str,
        name: str,
        *,
        is_admin: bool,
        expires_at: str | None,
        scopes: str | None = None,
    ) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                sa.insert(tables.tokens).values(
                    id=token_id,
                    token_hash=token_hash,
                    principal_id=principal_id,
                    name=name,
                    is_admin=is_admin,
                    created_at=datetime.now(UTC).isoformat(),
                    expires_at=expires_at,
                    scopes=scopes,
                )
            )

    async def find_token(self, token_hash: str) -> TokenRow | None:
        async with self.database.read() as connection:
            rows = await connection.fetch(self._find, {"token_hash": token_hash})
        if not rows:
            return None
        principal_id, name, is_admin, expires_at, revoked_at, scopes = rows[0]
        return TokenRow(principal_id, name, bool(is_admin), expires_at, revoked_at, scopes)

    async def list_tokens(self, principal_id: str | None) -> list[dict[str, Any]]:
        """Personal tokens (never their hashes), newest first; `principal_id` None: everyone's."""
        t = tables.tokens
        query = sa.select(
            t.c.id, t.c.name, t.c.principal_id, t.c.created_at, t.c.expires_at, t.c.revoked_at, t.c.scopes,
            t.c.is_admin,
        ).order_by(t.c.created_at.desc(), t.c.id)  # fmt: skip
        if principal_id is not None:
            query = query.where(t.c.principal_id == principal_id)
        async with self.database.read() as connection:
            rows = await connection.fetch(query)
        keys = ("id", "name", "principalId", "createdAt", "expiresAt", "revokedAt", "scopes", "admin")
        return [{**dict(zip(keys, row, strict=True)), "admin": bool(row[7])} for row in rows]

    async def token_owner(self, connection: Connection, token_id: str) -> tuple[str, str] | None:
        """(principal id, token hash) of a token, by id."""
        t = tables.tokens
        rows = await connection.fetch(sa.select(t.c.principal_id, t.c.token_hash).where(t.c.id == token_id))
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    async def mark_revoked(self, connection: Connection, token_id: str) -> None:
        t = tables.tokens
        now = datetime.now(UTC).isoformat()
        await connection.execute(
            sa.update(t).where(t.c.id == token_id, t.c.revoked_at.is_(None)).values(revoked_at=now)
        )

    async def has_admin_token(self) -> bool:
        async with self.database.read() as connection:
            rows = await connection.fetch(
                sa.select(sa.func.count()).select_from(tables.tokens).where(tables.tokens.c.is_admin)
            )
        return int(rows[0][0]) > 0


async def signing_key(database: Database) -> str:
    """The key that signs access tokens, created once and shared by every process."""
    m = tables.meta
    async with database.transaction() as connection:
        rows = await connection.fetch(sa.select(m.c.value).where(m.c.key == "signing_key"))
        if rows:
            return str(rows[0][0])
        key = secrets.token_urlsafe(48)
        await connection.execute(sa.insert(m).values(key="signing_key", value=key))
        return key
