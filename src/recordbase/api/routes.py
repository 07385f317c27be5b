"""The whole route table in one place.

The UiPath API is served under `/{org}/{tenant}/dataservice_/api`, `/{org}/{tenant}/datafabric_/api`
and bare `/api` (the uipath SDK falls back to it, wire doc §1.2); every org/tenant names the one
tenant of this server. Entities are addressed by name or as `entity/{id}`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from recordbase.api import identity, observability, openapi
from recordbase.api.dataservice import attachments, query, records, schema, sql, transfer, unsupported
from recordbase.api.endpoint import dataservice, pipeliner
from recordbase.api.pipeliner import listing
from recordbase.api.pipeliner import records as pipeliner_records

PIPELINER_PREFIX = "/api/v100/rest/spaces/{space}"
API_PREFIXES = ("/{org}/{tenant}/dataservice_/api", "/{org}/{tenant}/datafabric_/api", "/api")


def record_routes(prefix: str) -> list[BaseRoute]:
    return [
        Route(f"{prefix}/read", dataservice(records.list_records), methods=["GET"]),
        Route(f"{prefix}/read/{{record_id}}", dataservice(records.read_record), methods=["GET"]),
        Route(f"{prefix}/insert", dataservice(records.insert_record), methods=["POST"]),
        Route(f"{prefix}/update/{{record_id}}", dataservice(records.update_record), methods=["POST"]),
        Route(f"{prefix}/delete/{{record_id}}", dataservice(records.delete_record), methods=["DELETE"]),
        Route(f"{prefix}/insert-batch", dataservice(records.insert_batch), methods=["POST"]),
        Route(f"{prefix}/update-batch", dataservice(records.update_batch), methods=["POST"]),
        Route(f"{prefix}/delete-batch", dataservice(records.delete_batch), methods=["POST"]),
        Route(f"{prefix}/query", dataservice(query.query_records), methods=["POST"]),
        Route(f"{prefix}/bulk-upload", dataservice(transfer.bulk_upload), methods=["POST"]),
        Route(
            f"{prefix}/bulk-upload/errors/{{error_id}}",
            dataservice(transfer.errors),
            methods=["GET"],
        ),
        Route(f"{prefix}/export", dataservice(transfer.export), methods=["GET"]),
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
        Route("/v1/query/execute", dataservice(sql.execute), methods=["POST"]),
        Route(
            "/v2/EntityService/entity/{entity_id}/query", dataservice(query.query_records), methods=["POST"]
        ),
        Route(
            "/ontologies/{ontology_name}/files/{file_type}",
            dataservice(unsupported.ontology_file),
            methods=["GET"],
        ),
        *record_routes("/EntityService/entity/{entity_id}"),
        *record_routes("/v3/entities/entity/{entity_id}"),
        *record_routes("/EntityService/{entity_name}"),
        *attachment_routes("/Attachment/entity/{entity_id}"),
        *attachment_routes("/Attachment/{entity_name}"),
    ]


def attachment_routes(prefix: str) -> list[BaseRoute]:
    path = f"{prefix}/{{record_id}}/{{field_name}}"
    return [
        Route(path, dataservice(attachments.upload_attachment), methods=["POST"]),
        Route(path, dataservice(attachments.download_attachment), methods=["GET"]),
        Route(path, dataservice(attachments.delete_attachment), methods=["DELETE"]),
    ]


def admin_routes() -> list[BaseRoute]:
    """recordbase's administration API (docs/security.md): principals, roles, assignments, tokens, audit."""
    return [
        Route("/roles", dataservice(identity.list_roles), methods=["GET"]),
        Route("/roles", dataservice(identity.save_role), methods=["POST"]),
        Route("/roles/{role_id}", dataservice(identity.save_role), methods=["PUT"]),
        Route("/roles/{role_id}", dataservice(identity.delete_role), methods=["DELETE"]),
        Route(
            "/roles/{role_id}/assignments/{principal_id}",
            dataservice(identity.role_assignment),
            methods=["PUT"],
        ),
        Route(
            "/roles/{role_id}/assignments/{principal_id}",
            dataservice(identity.role_assignment),
            methods=["DELETE"],
        ),
        Route("/assignments", dataservice(identity.list_assignments), methods=["GET"]),
        Route("/tokens", dataservice(identity.create_token), methods=["POST"]),
        Route("/audit", dataservice(identity.audit_log), methods=["GET"]),
        Route("/principals/{principal_id}", dataservice(identity.update_principal), methods=["PATCH"]),
        Route("/groups/{group_id}/members/{member_id}", dataservice(identity.group_member), methods=["PUT"]),
        Route(
            "/groups/{group_id}/members/{member_id}", dataservice(identity.group_member), methods=["DELETE"]
        ),
        Route("/{kind}", dataservice(identity.list_principals), methods=["GET"]),
        Route("/{kind}", dataservice(identity.create_principal), methods=["POST"]),
    ]


def identity_routes() -> list[BaseRoute]:
    """OAuth2 endpoints at recordbase's paths and UiPath's (`/identity_/connect/…`, also under an org)."""
    return [
        Route("/oauth/token", identity.token, methods=["POST"]),
        Route("/identity_/connect/token", identity.token, methods=["POST"]),
        Route("/{org}/identity_/connect/token", identity.token, methods=["POST"]),
        Route("/oauth/revoke", identity.revoke, methods=["POST"]),
        Route("/identity_/connect/revocation", identity.revoke, methods=["POST"]),
        Route("/{org}/identity_/connect/revocation", identity.revoke, methods=["POST"]),
        Mount("/api/admin", routes=admin_routes()),
    ]


def pipeliner_api() -> list[BaseRoute]:
    """Pipeliner's record routes (spec-notes §2.2), under PIPELINER_PREFIX."""
    entity = "/entities/{entity_name}"
    return [
        Route(f"{entity}/batch-modify", pipeliner(pipeliner_records.batch_modify), methods=["POST"]),
        Route(f"{entity}/batch-delete", pipeliner(pipeliner_records.batch_delete), methods=["POST"]),
        Route(entity, pipeliner(listing.list_records), methods=["GET"]),
        Route(entity, pipeliner(pipeliner_records.create_record), methods=["POST"]),
        Route(f"{entity}/{{id}}", pipeliner(pipeliner_records.get_record), methods=["GET"]),
        Route(f"{entity}/{{id}}", pipeliner(pipeliner_records.update_record), methods=["PATCH"]),
        Route(f"{entity}/{{id}}", pipeliner(pipeliner_records.delete_record), methods=["DELETE"]),
    ]


def routes() -> list[BaseRoute]:
    """Health, metrics and the OpenAPI description come before the `/api` mount, which would take them."""
    api = dataservice_api()
    return [
        *identity_routes(),
        *observability.routes(),
        *openapi.routes(),
        Mount(PIPELINER_PREFIX, routes=pipeliner_api()),
        *(Mount(prefix, routes=api) for prefix in API_PREFIXES),
    ]
