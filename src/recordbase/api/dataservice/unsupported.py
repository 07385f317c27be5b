"""UiPath Data Fabric calls recordbase answers with a clear refusal (`UNSUPPORTED`, docs/errors.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from recordbase.core.actors import Actor
from recordbase.errors import Unsupported
from recordbase.services import Services


async def ontology_file(request: Request, actor: Actor, services: Services) -> Response:
    """`GET …/ontologies/{name}/files/{type}` (the SDK's `get_ontology_file_async`): recordbase keeps
    no ontologies. A caller who may not read the schema gets 403 first, like every route."""
    actor.permissions.require_schema_read()
    raise Unsupported("Ontologies are not supported by this server.")
