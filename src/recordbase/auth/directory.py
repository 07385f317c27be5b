"""Administration of principals, credentials, groups, roles and assignments, with an audit entry each.

Every change runs in one transaction with its audit entry and a bump of the security
version, so no change goes unrecorded and every process applies it on the next request.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from recordbase.auth.passwords import hash_secret
from recordbase.auth.roles import builtin_role, role_from_json, role_to_json, unknown_grants
from recordbase.auth.tokens import TOKEN_PREFIX, hash_token
from recordbase.core.actors import SYSTEM_ACTOR_ID, Actor
from recordbase.core.permissions import BUILTIN_ROLES, Scope
from recordbase.core.schema import Schema
from recordbase.errors import BadRequest, Conflict, NameTaken, NotFound
from recordbase.storage.database import Connection, Database
from recordbase.storage.identity import IdentityStore
from recordbase.storage.principals import PrincipalStore

KINDS = ("user", "application", "group")
MIN_PASSWORD = 12
SESSION_REVOCATION = timedelta(days=366)
"""How long a revoked family is remembered: longer than the longest refresh lifetime allowed."""


class Directory:
    def __init__(self, database: Database, identity: IdentityStore, tokens: PrincipalStore) -> None:
        self.database = database
        self.identity = identity
        self.tokens = tokens

    @asynccontextmanager
    async def change(
        self, actor: Actor, action: str, target: str, details: dict[str, Any]
    ) -> AsyncIterator[Connection]:
        async with self.database.transaction() as connection:
            yield connection
            await self.identity.record_audit(connection, actor.id, action, target, details)
            await self.identity.bump_security_version(connection)

    async def ensure_builtin(self) -> None:
        """Built-in roles exist as rows (assignments refer to them); the bootstrap admin is Administrator."""
        async with self.database.transaction() as connection:
            known = {r["id"] for r in await self.identity.roles(connection)}
            for role in BUILTIN_ROLES:
                if role.id not in known:
                    await self.identity.save_role(connection, role.id, role.name, role_to_json(role))
            if await self.identity.principal(connection, SYSTEM_ACTOR_ID) is None:
                await self.identity.create_principal(connection, "user", "admin", SYSTEM_ACTOR_ID)
                await self.identity.assign(connection, SYSTEM_ACTOR_ID, BUILTIN_ROLES[0].id)
                await self.identity.bump_security_version(connection)

    async def create_principal(
        self, actor: Actor, kind: str, name: str, login: str | None, secret: str | None
    ) -> dict[str, Any]:
        if kind not in KINDS:
            raise BadRequest(f"kind must be one of {', '.join(KINDS)}.")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise BadRequest("A principal needs a name of at most 200 characters.")
        if kind == "user" and (not login or not secret or len(secret) < MIN_PASSWORD):
            raise BadRequest(f"A user needs a login and a password of at least {MIN_PASSWORD} characters.")
        if kind == "application":
            login, secret = "app_" + secrets.token_hex(8), secrets.token_urlsafe(32)
        async with self.change(actor, f"{kind}.create", name, {"login": login}) as connection:
            if login and await self.identity.login_taken(connection, login):
                raise NameTaken(f"The login '{login}' is taken.")
            principal_id = await self.identity.create_principal(connection, kind, name.strip())
            if login and secret:
                await self.identity.set_login(connection, principal_id, login, hash_secret(secret))
        created: dict[str, Any] = {"id": principal_id, "kind": kind, "name": name.strip(), "login": login}
        if kind == "application":
            created |= {"clientId": login, "clientSecret": secret}
        return created

    async def set_secret(self, actor: Actor, principal_id: str, secret: str) -> None:
        if len(secret) < MIN_PASSWORD:
            raise BadRequest(f"Passwords have at least {MIN_PASSWORD} characters.")
        async with self.change(actor, "credential.change", principal_id, {}) as connection:
            found = await self.identity.principal(connection, principal_id)
            if found is None:
                raise NotFound(f"Principal '{principal_id}' does not exist.")
            login = next(
                (
                    p["login"]
                    for p in await self.identity.list_principals(connection, found[0])
                    if p["id"] == principal_id
                ),
                None,
            )
            if not login:
                raise Conflict("This principal has no login.")
            await self.identity.set_login(connection, principal_id, login, hash_secret(secret))
            await self._end_sessions(connection, principal_id)

    async def _end_sessions(self, connection: Connection, principal_id: str) -> None:
        until = (datetime.now(UTC) + SESSION_REVOCATION).isoformat()
        await self.identity.end_sessions(connection, principal_id, until)

    async def set_disabled(self, actor: Actor, principal_id: str, disabled: bool) -> None:
        async with self.change(
            actor, "principal.disable" if disabled else "principal.enable", principal_id, {}
        ) as connection:
            if not await self.identity.set_disabled(connection, principal_id, disabled):
                raise NotFound(f"Principal '{principal_id}' has no login to disable.")
            if disabled:
                await self._end_sessions(connection, principal_id)

    async def list_principals(self, kind: str) -> list[dict[str, Any]]:
        async with self.database.read() as connection:
            return await self.identity.list_principals(connection, kind)

    async def membership(self, actor: Actor, group_id: str, member_id: str, *, add: bool) -> None:
        async with self.change(
            actor, "group.add" if add else "group.remove", group_id, {"member": member_id}
        ) as connection:
            group = await self.identity.principal(connection, group_id)
            if (
                group is None
                or group[0] != "group"
                or await self.identity.principal(connection, member_id) is None
            ):
                raise NotFound("No such group or member.")
            if add:
                await self.identity.add_member(connection, group_id, member_id)
            else:
                await self.identity.remove_member(connection, group_id, member_id)

    async def save_role(
        self, actor: Actor, body: Any, role_id: str | None = None, schema: Schema | None = None
    ) -> dict[str, Any]:
        """Create or replace a custom role; with `schema`, a role naming what does not exist is a 400."""
        if role_id is not None and builtin_role(role_id) is not None:
            raise Conflict("Built-in roles cannot be changed.")
        role = role_from_json(role_id or str(uuid.uuid4()), body)
        missing = unknown_grants(role, schema) if schema is not None else []
        if missing:
            raise BadRequest(f"The role names entities or fields that do not exist: {', '.join(missing)}.")
        if builtin_role(role.name) is not None:
            raise NameTaken(f"'{role.name}' is the name of a built-in role.")
        async with self.change(actor, "role.save", role.name, role_to_json(role)) as connection:
            others = [r for r in await self.identity.roles(connection) if r["id"] != role.id]
            if any(r["name"].lower() == role.name.lower() for r in others):
                raise NameTaken(f"A role named '{role.name}' exists.")
            if role_id is not None and len(others) == len(await self.identity.roles(connection)):
                raise NotFound(f"Role '{role_id}' does not exist.")
            await self.identity.save_role(connection, role.id, role.name, role_to_json(role))
        return role_to_json(role)

    async def delete_role(self, actor: Actor, role_id: str) -> None:
        if builtin_role(role_id) is not None:
            raise Conflict("Built-in roles cannot be removed.")
        async with self.change(actor, "role.delete", role_id, {}) as connection:
            if not await self.identity.delete_role(connection, role_id):
                raise NotFound(f"Role '{role_id}' does not exist.")

    async def list_roles(self) -> list[dict[str, Any]]:
        async with self.database.read() as connection:
            stored = await self.identity.roles(connection)
        return [role_to_json(builtin_role(r["id"]) or role_from_json(r["id"], r)) for r in stored]

    async def assignment(self, actor: Actor, role_ref: str, principal_id: str, *, add: bool) -> None:
        role_id = await self._role_id(role_ref)
        action = "role.assign" if add else "role.unassign"
        async with self.change(actor, action, principal_id, {"role": role_id}) as connection:
            if await self.identity.principal(connection, principal_id) is None:
                raise NotFound(f"Principal '{principal_id}' does not exist.")
            if add:
                await self.identity.assign(connection, principal_id, role_id)
            elif not await self.identity.unassign(connection, principal_id, role_id):
                raise NotFound("No such assignment.")
            else:
                await self._end_sessions(connection, principal_id)

    async def assignments(self) -> list[dict[str, str]]:
        async with self.database.read() as connection:
            return [{"principalId": p, "roleId": r} for p, r in await self.identity.assignments(connection)]

    async def personal_token(
        self,
        actor: Actor,
        principal_id: str,
        name: str,
        scopes: list[str] | None,
        expires_in_days: int | None,
    ) -> str:
        """A personal access token for scripts; shown once, stored as a hash."""
        unknown = set(scopes or []) - set(Scope)
        if unknown:
            raise BadRequest(f"Unknown scope: {', '.join(sorted(unknown))}.")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = (
            (datetime.now(UTC) + timedelta(days=expires_in_days)).isoformat() if expires_in_days else None
        )
        async with self.change(
            actor, "token.create", principal_id, {"name": name, "scopes": scopes}
        ) as connection:
            if await self.identity.principal(connection, principal_id) is None:
                raise NotFound(f"Principal '{principal_id}' does not exist.")
        await self.tokens.add_token(
            str(uuid.uuid4()),
            hash_token(token),
            principal_id,
            name,
            is_admin=False,
            expires_at=expires,
            scopes=" ".join(sorted(scopes)) if scopes else None,
        )
        return token

    async def list_tokens(self, principal_id: str | None) -> list[dict[str, Any]]:
        return await self.tokens.list_tokens(principal_id)

    async def revoke_token(self, actor: Actor, token_id: str, *, any_owner: bool) -> None:
        """Revoke a personal token by id: one's own, or (`any_owner`: administrators) anyone's.

        A token the caller may not revoke is as unknown as one that does not exist (404). The
        revocation key is what every request checks, so the token stops working at once everywhere.
        """
        async with self.change(actor, "token.revoke", token_id, {}) as connection:
            owner = await self.tokens.token_owner(connection, token_id)
            if owner is None or (owner[0] != actor.id and not any_owner):
                raise NotFound("No such token.")
            far = (datetime.now(UTC) + timedelta(days=3650)).isoformat()
            await self.identity.revoke(connection, f"pat:{owner[1]}", far)
            await self.tokens.mark_revoked(connection, token_id)

    async def principal_ref(self, ref: str) -> str:
        """A principal's id, given its id or its login."""
        async with self.database.read() as connection:
            if await self.identity.principal(connection, ref) is not None:
                return ref
        found = await self.identity.login(ref)
        if found is None:
            raise NotFound(f"No user or application has the id or login '{ref}'.")
        return found.principal_id

    async def _role_id(self, ref: str) -> str:
        found = builtin_role(ref)
        if found is not None:
            return found.id
        for role in await self.list_roles():
            if ref in (role["id"], role["name"]) or role["name"].lower() == ref.lower():
                return str(role["id"])
        raise NotFound(f"Role '{ref}' does not exist.")

    async def audit(self, limit: int, offset: int) -> list[dict[str, Any]]:
        return await self.identity.audit_entries(limit, offset)
