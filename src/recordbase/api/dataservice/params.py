"""What every UiPath record route reads from its path and query: the entity and the expansion level."""

from __future__ import annotations

from starlette.requests import Request

from recordbase.api.http import int_param
from recordbase.core.expand import MAX_LEVEL

DEFAULT_LEVEL = 2


def entity_ref(request: Request) -> str:
    """The entity's id (`entity/{entity_id}` routes) or name."""
    params = request.path_params
    return str(params.get("entity_id") or params["entity_name"])


def level(request: Request) -> int:
    return int_param(request, "expansionLevel", DEFAULT_LEVEL, 0, MAX_LEVEL)
