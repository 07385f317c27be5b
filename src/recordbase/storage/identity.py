"""Principals' login secrets, groups, roles and assignments, refresh tokens, revocations and the audit log.

Every change to roles, assignments, memberships or credentials bumps `security_version`
in the same transaction, so each process can cache permissions. What each request must see
current (that version, revocations, the disabled flag, the session epoch) is read once and then
served from memory for as long as the database's `security` generation stays where it was:
every change here signals that channel in its transaction (see `Database.generation`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from recordbase.storage import tables
from recordbase.storage.database import Connection, Database


def now_text() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class Login:
    principal_id: str
    secret_hash: str
    disabled: bool


@dataclass(frozen=True)
class RequestState:
    """What must be re-checked on every request, in one round trip."""

    security_version: int
    revoked: bool
    disabled: bool
    epoch: int = 0


@dataclass(frozen=True)
class RefreshUse:
    """The outcome of presenting a refresh token: fresh (now used), reused, or unknown/expired."""

    principal_id: str | None
    family_id: str | None
    scopes: str
    reused: bool
    expires_at: str = ""


SECURITY_CHANNEL = "security"
STATES_KEPT = 10_000


def epoch_key(principal_id: str) -> str:
    return f"epoch:{principal_id}"


class IdentityStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        m, r = tables.meta, tables.revocations
        keys: sa.BindParameter[list[str]] = sa.bindparam("keys", expanding=True)
        self._state = database.prepare(
            sa.select(
                sa.select(m.c.value).where(m.c.key == "security_version").scalar_subquery(),
                sa.exists().where(r.c.key.in_(keys)),
                sa.select(tables.principal_secrets.c.disabled)
                .where(tables.principal_secrets.c.principal_id == sa.bindparam("principal_id"))
                .scalar_subquery(),
                sa.select(m.c.value).where(m.c.key == sa.bindparam("epoch_key")).scalar_subquery(),
            ),
            point=True,
        )
        self._states: dict[tuple[str, ...], tuple[int, RequestState]] = {}

    async def watch(self) -> None:
        """Hear other processes' security changes (where the database can tell): the cached states
        are dropped, and `Database.generation` moves on so that none read before is trusted."""
        await self.database.listen(SECURITY_CHANNEL, self._states.clear)

    async def request_state(self, principal_id: str, revocation_keys: list[str]) -> RequestState:
        """Security version, revocation, disabled flag and session epoch: from memory while no
        security change has committed since they were read, else in one round trip."""
        generation = self.database.generation(SECURITY_CHANNEL)  # before the read: see `generation`
        key = (principal_id, *revocation_keys)
        cached = self._states.get(key)
        if cached is not None and cached[0] == generation:
            return cached[1]
        params = {"principal_id": principal_id, "keys": revocation_keys, "epoch_key": epoch_key(principal_id)}
        async with self.database.read() as connection:
            rows = await connection.fetch(self._state, params)
        version, revoked, disabled, epoch = rows[0]
        state = RequestState(int(version), bool(revoked), bool(disabled), int(epoch or 0))
        if len(self._states) >= STATES_KEPT:
            self._states.clear()
        self._states[key] = (generation, state)
        return state

    async def _security_changed(self, connection: Connection) -> None:
        await self.database.notify(connection, SECURITY_CHANNEL)

    # Principals and logins ----------------------------------------------------------------------

    async def create_principal(
        self, connection: Connection, kind: str, name: str, principal_id: str | None = None
    ) -> str:
        new_id = principal_id or str(uuid.uuid4())
        await connection.execute(
            sa.insert(tables.principals).values(id=new_id, kind=kind, name=name, created_at=now_text())
        )
        return new_id

    async def principal(self, connection: Connection, principal_id: str) -> tuple[str, str] | None:
        p = tables.principals
        rows = await connection.fetch(sa.select(p.c.kind, p.c.name).where(p.c.id == principal_id))
        return (rows[0][0], rows[0][1]) if rows else None

    async def list_principals(self, connection: Connection, kind: str) -> list[dict[str, Any]]:
        p, s = tables.principals, tables.principal_secrets
        rows = await connection.fetch(
            sa.select(p.c.id, p.c.name, p.c.created_at, s.c.login, s.c.disabled)
            .select_from(p.outerjoin(s, s.c.principal_id == p.c.id))
            .where(p.c.kind == kind)
            .order_by(p.c.name)
        )
        keys = ("id", "name", "createdAt", "login", "disabled")
        return [dict(zip(keys, (*row[:4], bool(row[4])), strict=True)) for row in rows]

    async def set_login(
        self, connection: Connection, principal_id: str, login: str, secret_hash: str
    ) -> None:
        s = tables.principal_secrets
        await connection.execute(sa.delete(s).where(s.c.principal_id == principal_id))
        await connection.execute(
            sa.insert(s).values(
                principal_id=principal_id, login=login, secret_hash=secret_hash, disabled=False
            )
        )

    async def set_disabled(self, connection: Connection, principal_id: str, disabled: bool) -> int:
        s = tables.principal_secrets
        changed = await connection.execute(
            sa.update(s).where(s.c.principal_id == principal_id).values(disabled=disabled)
        )
        await self._security_changed(connection)
        return changed

    async def login(self, login: str) -> Login | None:
        s = tables.principal_secrets
        async with self.database.read() as connection:
            rows = await connection.fetch(
                sa.select(s.c.principal_id, s.c.secret_hash, s.c.disabled).where(s.c.login == login)
            )
        return Login(rows[0][0], rows[0][1], bool(rows[0][2])) if rows else None

    async def login_taken(self, connection: Connection, login: str) -> bool:
        s = tables.principal_secrets
        return bool(await connection.fetch(sa.select(s.c.principal_id).where(s.c.login == login)))

    # Groups, roles, assignments -----------------------------------------------------------------

    async def add_member(self, connection: Connection, group_id: str, member_id: str) -> None:
        g = tables.group_members
        await connection.execute(sa.delete(g).where(g.c.group_id == group_id, g.c.member_id == member_id))
        await connection.execute(sa.insert(g).values(group_id=group_id, member_id=member_id))

    async def remove_member(self, connection: Connection, group_id: str, member_id: str) -> int:
        g = tables.group_members
        return await connection.execute(
            sa.delete(g).where(g.c.group_id == group_id, g.c.member_id == member_id)
        )

    async def save_role(
        self, connection: Connection, role_id: str, name: str, definition: dict[str, Any]
    ) -> None:
        r = tables.roles
        text = orjson.dumps(definition).decode()
        exists = await connection.fetch(sa.select(r.c.id).where(r.c.id == role_id))
        if exists:
            await connection.execute(
                sa.update(r).where(r.c.id == role_id).values(name_key=name.lower(), definition=text)
            )
        else:
            await connection.execute(sa.insert(r).values(id=role_id, name_key=name.lower(), definition=text))

    async def delete_role(self, connection: Connection, role_id: str) -> int:
        a, r = tables.role_assignments, tables.roles
        await connection.execute(sa.delete(a).where(a.c.role_id == role_id))
        return await connection.execute(sa.delete(r).where(r.c.id == role_id))

    async def roles(self, connection: Connection) -> list[dict[str, Any]]:
        rows = await connection.fetch(sa.select(tables.roles.c.id, tables.roles.c.definition))
        return [{"id": row[0], **orjson.loads(row[1])} for row in rows]

    async def assign(self, connection: Connection, principal_id: str, role_id: str) -> None:
        a = tables.role_assignments
        await connection.execute(sa.delete(a).where(a.c.principal_id == principal_id, a.c.role_id == role_id))
        await connection.execute(sa.insert(a).values(principal_id=principal_id, role_id=role_id))

    async def unassign(self, connection: Connection, principal_id: str, role_id: str) -> int:
        a = tables.role_assignments
        return await connection.execute(
            sa.delete(a).where(a.c.principal_id == principal_id, a.c.role_id == role_id)
        )

    async def role_ids_of(self, principal_id: str) -> list[str]:
        """Roles assigned to the principal directly or through any of its groups."""
        a, g = tables.role_assignments, tables.group_members
        groups = sa.select(g.c.group_id).where(g.c.member_id == principal_id)
        statement = sa.select(a.c.role_id).where(
            sa.or_(a.c.principal_id == principal_id, a.c.principal_id.in_(groups))
        )
        async with self.database.read() as connection:
            return sorted({row[0] for row in await connection.fetch(statement)})

    async def assignments(self, connection: Connection) -> list[tuple[str, str]]:
        a = tables.role_assignments
        return [(row[0], row[1]) for row in await connection.fetch(sa.select(a.c.principal_id, a.c.role_id))]

    # Refresh tokens and revocations -------------------------------------------------------------

    async def add_refresh(
        self,
        connection: Connection,
        token_hash: str,
        family_id: str,
        principal_id: str,
        scopes: str,
        expires_at: str,
    ) -> None:
        await connection.execute(
            sa.insert(tables.refresh_tokens).values(
                token_hash=token_hash,
                family_id=family_id,
                principal_id=principal_id,
                scopes=scopes,
                expires_at=expires_at,
            )
        )

    async def use_refresh(self, connection: Connection, token_hash: str) -> RefreshUse:
        """Mark a refresh token used, once; a second use reports `reused` so the family can be revoked."""
        t = tables.refresh_tokens
        rows = await connection.fetch(
            sa.update(t)
            .where(t.c.token_hash == token_hash, t.c.used_at.is_(None), t.c.expires_at > now_text())
            .values(used_at=now_text())
            .returning(t.c.principal_id, t.c.family_id, t.c.scopes, t.c.expires_at)
        )
        if rows:
            return RefreshUse(rows[0][0], rows[0][1], rows[0][2], reused=False, expires_at=rows[0][3])
        known = await connection.fetch(
            sa.select(t.c.family_id, t.c.used_at).where(t.c.token_hash == token_hash)
        )
        if known and known[0][1] is not None:
            return RefreshUse(None, known[0][0], "", reused=True)
        return RefreshUse(None, None, "", reused=False)

    async def revoke(self, connection: Connection, key: str, expires_at: str) -> None:
        """Record a revocation; revoking twice at once (two reuses of one refresh token) is no error."""
        await connection.execute(self._upsert(tables.revocations, {"key": key, "expires_at": expires_at}))
        await self._security_changed(connection)

    def _upsert(self, table: sa.Table, values: dict[str, str]) -> sa.ClauseElement:
        """INSERT … ON CONFLICT (key) DO UPDATE, in the dialect of the database in use."""
        if self.database.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415 - the dialect in use
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment] # noqa: PLC0415
        statement = insert(table).values(**values)
        changed = {k: statement.excluded[k] for k in values if k != "key"}
        return statement.on_conflict_do_update(index_elements=[table.c.key], set_=changed)

    async def end_sessions(self, connection: Connection, principal_id: str, until: str) -> None:
        """End every refresh family of the principal (and the access tokens issued from them) and
        bump its session epoch, which ends its other access tokens (client credentials)."""
        t = tables.refresh_tokens
        families = await connection.fetch(
            sa.select(t.c.family_id).where(t.c.principal_id == principal_id).distinct()
        )
        await connection.execute(
            sa.update(t)
            .where(t.c.principal_id == principal_id, t.c.used_at.is_(None))
            .values(used_at=now_text())
        )
        for (family_id,) in families:
            await self.revoke(connection, f"family:{family_id}", until)
        m = tables.meta
        rows = await connection.fetch(sa.select(m.c.value).where(m.c.key == epoch_key(principal_id)))
        epoch = str(int(rows[0][0]) + 1 if rows else 1)
        await connection.execute(self._upsert(m, {"key": epoch_key(principal_id), "value": epoch}))
        await self._security_changed(connection)

    async def epoch(self, principal_id: str) -> int:
        """The principal's session epoch: access tokens carry it and die when it moves on."""
        m = tables.meta
        async with self.database.read() as connection:
            rows = await connection.fetch(sa.select(m.c.value).where(m.c.key == epoch_key(principal_id)))
        return int(rows[0][0]) if rows else 0

    async def family_of(self, connection: Connection, token_hash: str) -> str | None:
        t = tables.refresh_tokens
        rows = await connection.fetch(sa.select(t.c.family_id).where(t.c.token_hash == token_hash))
        return str(rows[0][0]) if rows else None

    async def end_family(self, connection: Connection, family_id: str) -> None:
        t = tables.refresh_tokens
        await connection.execute(
            sa.update(t).where(t.c.family_id == family_id, t.c.used_at.is_(None)).values(used_at=now_text())
        )

    # Failed sign-ins (the rate limit every process shares) -------------------------------------

    async def count_attempt(self, key: str, now: float, window: float) -> tuple[str, int, float]:
        """Record one sign-in attempt for `key`; answer its id, the attempts within the window
        (this one included) and the oldest of them. Older attempts of the key are forgotten."""
        f = tables.login_failures
        attempt = str(uuid.uuid4())
        async with self.database.transaction() as connection:
            await connection.execute(sa.delete(f).where(f.c.key == key, f.c.at <= now - window))
            await connection.execute(sa.insert(f).values(id=attempt, key=key, at=now))
        async with self.database.read() as connection:
            rows = await connection.fetch(
                sa.select(sa.func.count(), sa.func.min(f.c.at)).where(f.c.key == key, f.c.at > now - window)
            )
        return attempt, int(rows[0][0]), float(rows[0][1] or now)

    async def forget_attempt(self, attempt: str) -> None:
        """An attempt that succeeded (or was refused unseen) does not count as a failure."""
        f = tables.login_failures
        async with self.database.transaction() as connection:
            await connection.execute(sa.delete(f).where(f.c.id == attempt))

    # Versions and audit -------------------------------------------------------------------------

    async def bump_security_version(self, connection: Connection) -> None:
        m = tables.meta
        rows = await connection.fetch(sa.select(m.c.value).where(m.c.key == "security_version"))
        await connection.execute(
            sa.update(m).where(m.c.key == "security_version").values(value=str(int(rows[0][0]) + 1))
        )
        await self._security_changed(connection)

    async def record_audit(
        self, connection: Connection, actor_id: str, action: str, target: str, details: dict[str, Any]
    ) -> None:
        await connection.execute(
            sa.insert(tables.audit).values(
                id=str(uuid.uuid4()),
                at=now_text(),
                actor_id=actor_id,
                action=action,
                target=target,
                details=orjson.dumps(details).decode(),
            )
        )

    async def audit_entries(self, limit: int, offset: int) -> list[dict[str, Any]]:
        a = tables.audit
        statement = sa.select(a).order_by(a.c.at.desc(), a.c.id).limit(limit).offset(offset)
        async with self.database.read() as connection:
            rows = await connection.fetch(statement)
        return [
            {
                "id": r[0],
                "at": r[1],
                "actorId": r[2],
                "action": r[3],
                "target": r[4],
                "details": orjson.loads(r[5]),
            }
            for r in rows
        ]
