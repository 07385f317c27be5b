"""Principals and their bearer tokens (only hashes are stored)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from recordbase.storage import tables
from recordbase.storage.database import Database


@dataclass(frozen=True)
class TokenRow:
    principal_id: str
    principal_name: str
    is_admin: bool
    expires_at: str | None
    revoked_at: str | None


class PrincipalStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        t, p = tables.tokens, tables.principals
        self._find = database.prepare(
            sa.select(t.c.principal_id, p.c.name, t.c.is_admin, t.c.expires_at, t.c.revoked_at)
            .join(p, p.c.id == t.c.principal_id)
            .where(t.c.token_hash == sa.bindparam("token_hash"))
        )

    async def ensure_principal(self, principal_id: str, kind: str, name: str) -> None:
        async with self.database.transaction() as connection:
            found = await connection.fetch(
                sa.select(tables.principals.c.id).where(tables.principals.c.id == principal_id)
            )
            if not found:
                await connection.execute(
                    sa.insert(tables.principals).values(
                        id=principal_id, kind=kind, name=name, created_at=datetime.now(UTC).isoformat()
                    )
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
                )
            )

    async def find_token(self, token_hash: str) -> TokenRow | None:
        async with self.database.read() as connection:
            rows = await connection.fetch(self._find, {"token_hash": token_hash})
        if not rows:
            return None
        principal_id, name, is_admin, expires_at, revoked_at = rows[0]
        return TokenRow(principal_id, name, bool(is_admin), expires_at, revoked_at)

    async def has_admin_token(self) -> bool:
        async with self.database.read() as connection:
            rows = await connection.fetch(
                sa.select(sa.func.count()).select_from(tables.tokens).where(tables.tokens.c.is_admin)
            )
        return int(rows[0][0]) > 0
