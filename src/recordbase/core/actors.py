"""Who is calling: the principal behind a request, as the core sees it."""

from __future__ import annotations

from dataclasses import dataclass, field

SYSTEM_ACTOR_ID = "00000000-0000-0000-0000-000000000001"


@dataclass(frozen=True)
class Actor:
    """An authenticated principal and what its credential allows."""

    id: str
    name: str
    is_admin: bool = False
    scopes: frozenset[str] = field(default_factory=frozenset)


SYSTEM = Actor(id=SYSTEM_ACTOR_ID, name="system", is_admin=True)
