"""Authentication: bearer tokens (JWT access tokens and personal access tokens), HTTP Basic for
applications, and the OAuth2 grants that issue them (client credentials, password, refresh with rotation).

Each request costs one small query (`IdentityStore.request_state`): revocation, a disabled
principal and the security version; roles are cached per security version, so a role change
applies to the very next request in every process.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from recordbase.auth.jwt_tokens import AccessTokens
from recordbase.auth.passwords import verify_secret
from recordbase.auth.roles import builtin_role, role_from_json
from recordbase.auth.tokens import TOKEN_PREFIX, hash_token
from recordbase.core.actors import Actor
from recordbase.core.permissions import ALL_SCOPES, Permissions, Role, Scope, effective
from recordbase.errors import (
    InvalidClient,
    InvalidScope,
    NotAuthenticated,
    OAuthError,
    RateLimited,
    UnsupportedGrantType,
)
from recordbase.storage.database import Database
from recordbase.storage.identity import IdentityStore, RequestState
from recordbase.storage.principals import PrincipalStore

REFRESH_LIFETIME = timedelta(days=30)
FAILED_LOGINS = 10
"""Failed sign-ins allowed per login within FAILED_LOGIN_WINDOW seconds, counted in the database."""
FAILED_LOGIN_WINDOW = 300.0
BASIC_CACHE_SECONDS = 30.0
PERSONAL_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        return body


class AuthService:
    def __init__(
        self,
        database: Database,
        identity: IdentityStore,
        tokens: PrincipalStore,
        access: AccessTokens,
        message: str,
        refresh_lifetime: timedelta = REFRESH_LIFETIME,
    ) -> None:
        self.database = database
        self.identity = identity
        self.tokens = tokens
        self.access = access
        self.message = message
        self.refresh_lifetime = refresh_lifetime
        self._roles: tuple[int, dict[str, Role]] = (-1, {})
        self._assigned: dict[tuple[str, int], tuple[Role, ...]] = {}
        self._permissions: dict[tuple[str, int, frozenset[str]], Permissions] = {}
        self._basic: dict[str, tuple[str, float, int]] = {}
        self._personal: dict[str, tuple[float, str, frozenset[str], datetime | None]] = {}

    # Per request --------------------------------------------------------------------------------

    async def authenticate_bearer(self, token: str) -> Actor:
        if token.startswith(TOKEN_PREFIX):
            return await self._personal_token(token)
        claims = self.access.verify(token, self.message)
        keys = [f"jti:{claims.token_id}"] + ([f"family:{claims.family_id}"] if claims.family_id else [])
        return await self._actor(claims.principal_id, claims.scopes, keys, claims.epoch)

    async def authenticate_basic(self, login: str, secret: str) -> Actor:
        """HTTP Basic with an application's key pair (Pipeliner); argon2 runs once per 30 s per pair,
        and again as soon as the security version moves (a secret reset or a disable)."""
        key = hashlib.sha256(f"{login}\x00{secret}".encode()).hexdigest()
        cached = self._basic.get(key)
        if cached is not None and cached[1] >= time.monotonic():
            state = await self._state(cached[0], [])
            if state.security_version == cached[2]:
                return await self._actor_from(cached[0], ALL_SCOPES, state)
        principal_id = await self.check_login(login, secret, InvalidClient)
        state = await self._state(principal_id, [])
        if len(self._basic) > 10_000:
            self._basic.clear()
        self._basic[key] = (principal_id, time.monotonic() + BASIC_CACHE_SECONDS, state.security_version)
        return await self._actor_from(principal_id, ALL_SCOPES, state)

    async def actor_for(self, principal_id: str) -> Actor:
        """A principal as its roles allow today, with every scope (the owner of a webhook)."""
        return await self._actor(principal_id, ALL_SCOPES, [])

    async def _personal_token(self, token: str) -> Actor:
        """A personal token: its row is cached briefly; revocation is still checked on every request."""
        token_hash = hash_token(token)
        cached = self._personal.get(token_hash)
        if cached is None or cached[0] < time.monotonic():
            row = await self.tokens.find_token(token_hash)
            if row is None or row.revoked_at is not None:
                raise NotAuthenticated(self.message)
            expires = datetime.fromisoformat(row.expires_at) if row.expires_at else None
            scopes = frozenset(row.scopes.split()) if row.scopes else ALL_SCOPES
            if len(self._personal) > 10_000:
                self._personal.clear()
            cached = self._personal[token_hash] = (
                time.monotonic() + PERSONAL_CACHE_SECONDS,
                row.principal_id,
                scopes,
                expires,
            )
        _, principal_id, scopes, expires = cached
        if expires is not None and expires <= datetime.now(UTC):
            raise NotAuthenticated(self.message)
        return await self._actor(principal_id, scopes, [f"pat:{token_hash}"])

    async def _actor(
        self, principal_id: str, scopes: frozenset[str], revocation_keys: list[str], epoch: int | None = None
    ) -> Actor:
        """The request's actor; `epoch` (access tokens only) must be the principal's current one."""
        state = await self._state(principal_id, revocation_keys)
        if epoch is not None and epoch != state.epoch:
            raise NotAuthenticated(self.message)
        return await self._actor_from(principal_id, scopes, state)

    async def _state(self, principal_id: str, revocation_keys: list[str]) -> RequestState:
        state = await self.identity.request_state(
            principal_id, [f"principal:{principal_id}", *revocation_keys]
        )
        if state.revoked or state.disabled:
            raise NotAuthenticated(self.message)
        return state

    async def _actor_from(self, principal_id: str, scopes: frozenset[str], state: RequestState) -> Actor:
        """One `Permissions` per principal, version and scopes, so that what it works out once
        (rules per entity) serves the principal's next requests too."""
        key = (principal_id, state.security_version, scopes)
        permissions = self._permissions.get(key)
        if permissions is None:
            roles = await self._roles_of(principal_id, state.security_version)
            if len(self._permissions) > 10_000:
                self._permissions.clear()
            permissions = self._permissions[key] = effective(principal_id, roles, scopes)
        return Actor(principal_id, principal_id, permissions)

    async def _roles_of(self, principal_id: str, version: int) -> tuple[Role, ...]:
        cached = self._assigned.get((principal_id, version))
        if cached is not None:
            return cached
        catalog = await self._role_catalog(version)
        ids = await self.identity.role_ids_of(principal_id)
        roles = tuple(catalog[i] for i in ids if i in catalog)
        if len(self._assigned) > 10_000:
            self._assigned.clear()
        self._assigned[(principal_id, version)] = roles
        return roles

    async def _role_catalog(self, version: int) -> dict[str, Role]:
        if self._roles[0] != version:
            async with self.database.read() as connection:
                stored = await self.identity.roles(connection)
            catalog = {r["id"]: builtin_role(r["id"]) or role_from_json(r["id"], r) for r in stored}
            self._roles = (version, {k: v for k, v in catalog.items() if v is not None})
        return self._roles[1]

    # Grants -------------------------------------------------------------------------------------

    async def grant(self, form: Mapping[str, str]) -> TokenResponse:
        grant_type = form.get("grant_type", "")
        if grant_type == "refresh_token":
            return await self._refresh(form.get("refresh_token", ""), form.get("scope"))
        if grant_type == "client_credentials":
            login, secret, with_refresh = form.get("client_id", ""), form.get("client_secret", ""), False
            principal_id = await self.check_login(login, secret, InvalidClient)
        elif grant_type == "password":
            login, secret, with_refresh = form.get("username", ""), form.get("password", ""), True
            principal_id = await self.check_login(login, secret, OAuthError)
        else:
            raise UnsupportedGrantType(f"Unsupported grant_type '{grant_type}'.")
        scopes = requested_scopes(form.get("scope"), ALL_SCOPES)
        return await self._issue(
            principal_id, scopes, with_refresh, epoch=await self.identity.epoch(principal_id)
        )

    async def check_login(self, login: str, secret: str, failure: type[OAuthError]) -> str:
        """The principal behind a login and secret; failures count towards the rate limit.

        The attempt is recorded before the secret is checked and forgotten when it succeeds, so
        parallel guesses through several processes cannot slip past the limit together. The key
        is a hash of the login, so any text (even a NUL byte) is a valid key."""
        key = hashlib.sha256(f"login:{login.lower()}".encode()).hexdigest()
        now = time.time()
        attempt, count, oldest = await self.identity.count_attempt(key, now, FAILED_LOGIN_WINDOW)
        if count > FAILED_LOGINS:
            await self.identity.forget_attempt(attempt)
            retry = max(1, int(oldest + FAILED_LOGIN_WINDOW - now) + 1)
            raise RateLimited("Too many failed sign-in attempts; try again later.", retry)
        # A NUL can be in no login (PostgreSQL text refuses it): an unknown login, not a lookup.
        found = await self.identity.login(login) if login and "\x00" not in login else None
        if not verify_secret(found.secret_hash if found else None, secret) or found is None or found.disabled:
            raise failure("Invalid credentials.")
        await self.identity.forget_attempt(attempt)
        return found.principal_id

    async def _issue(
        self,
        principal_id: str,
        scopes: frozenset[str],
        with_refresh: bool,
        family: str | None = None,
        *,
        epoch: int,
        expires: str | None = None,
    ) -> TokenResponse:
        """Tokens for a grant; a rotated refresh token keeps its family's `expires` (absolute lifetime)."""
        refresh = None
        if with_refresh:
            family = family or secrets.token_hex(16)
            refresh = "rt_" + secrets.token_urlsafe(32)
            expires = expires or (datetime.now(UTC) + self.refresh_lifetime).isoformat()
            async with self.database.transaction() as connection:
                await self.identity.add_refresh(
                    connection, hash_token(refresh), family, principal_id, " ".join(sorted(scopes)), expires
                )
        token = self.access.issue(principal_id, scopes, family, epoch)
        return TokenResponse(token, self.access.lifetime, " ".join(sorted(scopes)), refresh)

    async def _refresh(self, refresh: str, scope: str | None) -> TokenResponse:
        """Rotate: a refresh token works once; presenting it again revokes its whole family.

        The family must not be revoked (a reset or disable that raced this refresh) and the
        principal not disabled; the new token keeps the family's expiry."""
        async with self.database.transaction() as connection:
            used = await self.identity.use_refresh(connection, hash_token(refresh))
            if used.reused and used.family_id:
                await self._revoke_family(connection, used.family_id)
        if used.principal_id is None or used.family_id is None:
            raise OAuthError("The refresh token is invalid, expired or already used.")
        state = await self.identity.request_state(
            used.principal_id, [f"principal:{used.principal_id}", f"family:{used.family_id}"]
        )
        if state.revoked or state.disabled:
            raise OAuthError("The refresh token is invalid, expired or already used.")
        allowed = frozenset(used.scopes.split())
        return await self._issue(
            used.principal_id,
            requested_scopes(scope, allowed),
            True,
            used.family_id,
            epoch=state.epoch,
            expires=used.expires_at,
        )

    async def revoke(self, token: str) -> None:
        """RFC 7009: revoke an access or refresh token; unknown tokens are not an error."""
        if token.startswith(TOKEN_PREFIX):
            async with self.database.transaction() as connection:
                far = (datetime.now(UTC) + timedelta(days=3650)).isoformat()
                await self.identity.revoke(connection, f"pat:{hash_token(token)}", far)
            return
        async with self.database.transaction() as connection:
            family = await self.identity.family_of(connection, hash_token(token))
            if family is not None:
                await self._revoke_family(connection, family)
                return
            try:
                claims = self.access.verify(token, self.message)
            except NotAuthenticated:
                return
            expires = datetime.fromtimestamp(claims.expires_at, UTC).isoformat()
            await self.identity.revoke(connection, f"jti:{claims.token_id}", expires)

    async def _revoke_family(self, connection: object, family_id: str) -> None:
        expires = (datetime.now(UTC) + self.refresh_lifetime).isoformat()
        await self.identity.end_family(connection, family_id)  # type: ignore[arg-type]
        await self.identity.revoke(connection, f"family:{family_id}", expires)  # type: ignore[arg-type]


def requested_scopes(scope: str | None, allowed: frozenset[str]) -> frozenset[str]:
    """The scopes asked for (all allowed ones when none are named); asking beyond them is an error."""
    if not scope or not scope.strip():
        return allowed
    asked = frozenset(scope.split())
    unknown = asked - frozenset(Scope)
    if unknown:
        raise InvalidScope(f"Unknown scope: {' '.join(sorted(unknown))}.")
    if not asked <= allowed:
        raise InvalidScope("The requested scope exceeds what was granted.")
    return asked
