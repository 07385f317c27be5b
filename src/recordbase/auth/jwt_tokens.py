"""Access tokens: short-lived JWTs signed with HS256, checked for signature, audience, issuer and time.

Only HS256 is accepted, so `alg: none` and algorithm-confusion tokens fail verification.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

from recordbase.errors import NotAuthenticated

ISSUER = "recordbase"
AUDIENCE = "recordbase"
ALGORITHM = "HS256"
LEEWAY_SECONDS = 5
VERIFIED_KEPT = 10_000
"""Verified tokens remembered per process (the map is emptied when it reaches this many)."""


@dataclass(frozen=True)
class Claims:
    principal_id: str
    scopes: frozenset[str]
    token_id: str
    family_id: str | None
    expires_at: int
    epoch: int = 0


class AccessTokens:
    def __init__(self, key: str, lifetime_seconds: int) -> None:
        self.key = key
        self.lifetime = lifetime_seconds
        self._verified: dict[str, Claims] = {}

    def issue(
        self, principal_id: str, scopes: frozenset[str], family_id: str | None = None, epoch: int = 0
    ) -> str:
        """A signed token; `sep` is the principal's session epoch (a reset or disable moves it on)."""
        issued = int(time.time())
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": principal_id,
            "scope": " ".join(sorted(scopes)),
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.lifetime,
            "jti": secrets.token_hex(16),
        }
        if family_id:
            claims["fam"] = family_id
        if epoch:
            claims["sep"] = epoch
        return jwt.encode(claims, self.key, algorithm=ALGORITHM)

    def verify(self, token: str, message: str) -> Claims:
        """The token's claims, checked once per token and process: a client sends the same token
        for its whole life, and its signature, audience, issuer and start never change. Its expiry is
        checked on every use; its revocation is not a property of the token (auth/service.py checks
        it on every request)."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._decode(token, message)
            if len(self._verified) >= VERIFIED_KEPT:
                self._verified.clear()
            self._verified[token] = claims
        if time.time() > claims.expires_at + LEEWAY_SECONDS:
            raise NotAuthenticated(message)
        return claims

    def _decode(self, token: str, message: str) -> Claims:
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "nbf", "iat", "sub", "jti", "aud", "iss"]},
                leeway=LEEWAY_SECONDS,
            )
        except jwt.PyJWTError:
            raise NotAuthenticated(message) from None
        return Claims(
            principal_id=str(claims["sub"]),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            token_id=str(claims["jti"]),
            family_id=claims.get("fam"),
            expires_at=int(claims["exp"]),
            epoch=_epoch(claims.get("sep", 0), message),
        )


def _epoch(value: object, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise NotAuthenticated(message)
    return value
