"""The whole route table in one place.

The UiPath API is served under `/{org}/{tenant}/dataservice_/api`, `/{org}/{tenant}/datafabric_/api`
and bare `/api` (the uipath SDK falls back to it, wire doc §1.2); every org/tenant names the one
tenant of this server. Entities are addressed by name or as `entity/{id}`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from recordbase.api.dataservice import records, schema
from recordbase.api.endpoint import dataservice
from recordbase.api.http import JSONResponse

API_PREFIXES = ("/{org}/{tenant}/dataservice_/api", "/{org}/{tenant}/datafabric_/api", "/api")


def record_routes(prefix: str) -> list[BaseRoute]:
    return [
        Route(f"{prefix}/read", dataservice(records.list_records), methods=["GET"]),
        Route(f"{prefix}/read/{{record_id}}", dataservice(records.read_record), methods=["GET"]),
        Route(f"{prefix}/insert", dataservice(records.insert_record), methods=["POST"]),
        Route(f"{prefix}/update/{{record_id}}", dataservice(records.update_record), methods=["POST"]),
        Route(f"{prefix}/delete/{{record_id}}", dataservice(records.delete_record), methods=["DELETE"]),
    ]


def schema_routes(prefix: str) -> list[BaseRoute]:
    return [
        Route(prefix, dataservice(schema.list_entities), methods=["GET"]),
        Route(prefix, dataservice(schema.create_entity), methods=["POST"]),
        Route(f"{prefix}/{{entity_name}}/metadata", dataservice(schema.get_entity_by_name), methods=["GET"]),
        Route(f"{prefix}/{{entity_id}}/metadata", dataservice(schema.update_entity), methods=["PATCH"]),
        Route(f"{prefix}/{{entity_id}}", dataservice(schema.get_entity), methods=["GET"]),
        Route(f"{prefix}/{{entity_id}}", dataservice(schema.update_entity), methods=["PATCH"]),
        Route(f"{prefix}/{{entity_id}}", dataservice(schema.delete_entity), methods=["DELETE"]),
    ]


def dataservice_api() -> list[BaseRoute]:
    """Routes under one API prefix; by-id routes and `choiceset` come before the by-name ones."""
    return [
        Route("/Entity/choiceset", dataservice(schema.list_choice_sets), methods=["GET"]),
        Route("/Entity/choiceset", dataservice(schema.create_choice_set), methods=["POST"]),
        *schema_routes("/Entity"),
        *schema_routes("/v3/entities"),
        Route(
            "/EntityService/entity/{entity_id}/query_expansion",
            dataservice(schema.choice_set_values),
            methods=["POST"],
        ),
        *record_routes("/EntityService/entity/{entity_id}"),
        *record_routes("/v3/entities/entity/{entity_id}"),
        *record_routes("/EntityService/{entity_name}"),
    ]


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def routes() -> list[BaseRoute]:
    api = dataservice_api()
    return [
        Route("/healthz", healthz, methods=["GET"]),
        *(Mount(prefix, routes=api) for prefix in API_PREFIXES),
    ]
