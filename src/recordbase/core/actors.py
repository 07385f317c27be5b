"""Who is calling: the principal behind a request and its effective permissions."""

from __future__ import annotations

from dataclasses import dataclass

from recordbase.core.permissions import Permissions, everything

SYSTEM_ACTOR_ID = "00000000-0000-0000-0000-000000000001"


@dataclass(frozen=True)
class Actor:
    """An authenticated principal and what this request may do."""

    id: str
    name: str
    permissions: Permissions

    @property
    def is_admin(self) -> bool:
        return self.permissions.is_admin

    @property
    def scopes(self) -> frozenset[str]:
        return self.permissions.scopes


SYSTEM = Actor(id=SYSTEM_ACTOR_ID, name="system", permissions=everything(SYSTEM_ACTOR_ID))
