"""The route table: every route declared once, as an `Operation` (api/operation.py), and both the
Starlette routes and the OpenAPI description (api/openapi.py) generated from it.

The UiPath API is served under `/{org}/{tenant}/dataservice_/api`, `/{org}/{tenant}/datafabric_/api`
and bare `/api` (the uipath SDK falls back to it: docs/compat-uipath.md); every org/tenant names the
one tenant of this server, and the description shows the routes under `/api`. Entities are addressed
by name or as `entity/{id}`.

To add a route: add one `Operation` to the group it is served under (or a new `Group` in `GROUPS`),
with its wrapped handler (`dataservice(...)`, `pipeliner(...)`), an operation id, summary and tag, its
query parameters (`params`), body and answer shapes and its error statuses. Path parameters are
described from `PATH_PARAMETERS` (api/operation.py). Order matters where templates overlap: a
literal segment (`choiceset`, `entity/{entity_id}`) must come before the `{entity_name}` it would
otherwise match. tests/api/test_openapi.py fails for a served route that is not in this table.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from starlette.routing import BaseRoute, Mount, Route

from recordbase.api import events_stream, identity, observability, openapi, webhooks
from recordbase.api.dataservice import attachments, query, records, schema, sql, transfer, unsupported
from recordbase.api.endpoint import Endpoint, Handler, dataservice, pipeliner
from recordbase.api.openapi_shapes import JSON, UUID, batch_name, pipeliner_name, query_page_name, ref
from recordbase.api.operation import (
    ANY,
    ATOMIC,
    ENTITY,
    EXPANSION,
    FAIL_ON_FIRST,
    LIMIT,
    OBJECT,
    OPERATIONS_DIALECT,
    PIPELINER,
    START,
    STRING,
    VALUES_LIMIT,
    Group,
    Operation,
    Param,
    Shape,
    always,
    array_of,
    component,
    fixed,
    openapi_public,
    per_entity,
    record,
    record_insert,
    record_page,
    record_update,
)
from recordbase.api.pipeliner import listing
from recordbase.api.pipeliner import records as pipeliner_records
from recordbase.api.router import IndexedRouter
from recordbase.core.schema import Schema
from recordbase.settings import Settings

PIPELINER_PREFIX = "/api/v100/rest/spaces/{space}"
API_PREFIXES = ("/{org}/{tenant}/dataservice_/api", "/{org}/{tenant}/datafabric_/api", "/api")
BY_NAME = (("entity_name", "Entity"),)
"""`described_names` of a route described once per entity."""
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415)

# Records ---------------------------------------------------------------------------------------


def record_operations(base: str, ident: str, tag: str, generic: bool) -> tuple[Operation, ...]:
    """read (page), read one, insert, update, delete under `base`, for one entity or any entity."""
    one, new, changes, page = (
        (
            component("rb.Record"),
            component("rb.RecordBody"),
            component("rb.RecordBody"),
            component("rb.RecordPage"),
        )
        if generic
        else (record, record_insert, record_update, record_page)
    )
    names = () if generic else BY_NAME
    return (
        Operation("GET", f"{base}/read", dataservice(records.list_records), f"{ident}_list",
                  "A page of records, ordered by Id", tag, page, params=(START, LIMIT, EXPANSION),
                  described_names=names),
        Operation("GET", f"{base}/read/{{record_id}}", dataservice(records.read_record), f"{ident}_read",
                  "One record", tag, one, params=(EXPANSION,), described_names=names),
        Operation("POST", f"{base}/insert", dataservice(records.insert_record), f"{ident}_insert",
                  "Create a record", tag, one, new, (EXPANSION,), WRITE_ERRORS, described_names=names),
        Operation("POST", f"{base}/update/{{record_id}}", dataservice(records.update_record),
                  f"{ident}_update", "Change a record: omitted fields stay, null clears", tag, one, changes,
                  (EXPANSION,), WRITE_ERRORS, described_names=names),
        Operation("DELETE", f"{base}/delete/{{record_id}}", dataservice(records.delete_record),
                  f"{ident}_delete", "Delete a record", tag, fixed({"const": True}),
                  errors=(400, 401, 403, 404, 409), described_names=names),
    )  # fmt: skip


def batch_operations(base: str, ident: str, tag: str, generic: bool) -> tuple[Operation, ...]:
    """insert-batch, update-batch, delete-batch (docs/batches.md): 400/409 carry the batch result too."""
    result = component("rb.BatchResult") if generic else per_entity(batch_name)
    envelope_or_result: Shape = lambda doc: {"anyOf": [ref("rb.Error"), result(doc)]}  # noqa: E731
    also = ((400, envelope_or_result), (409, envelope_or_result))
    new = array_of("rb.RecordBody") if generic else lambda doc: {"type": "array", "items": record_insert(doc)}
    changed = (
        array_of("rb.RecordBody")
        if generic
        else lambda doc: {"type": "array", "items": {"allOf": [record_update(doc)], "required": ["Id"]}}
    )
    ids = fixed({"type": "array", "items": {"anyOf": [UUID, ref("rb.RecordRef")]}})
    params = (EXPANSION, FAIL_ON_FIRST, ATOMIC)
    errors = (401, 403, 404, 413, 415)
    names = () if generic else BY_NAME
    return (
        Operation("POST", f"{base}/insert-batch", dataservice(records.insert_batch), f"{ident}_insert_batch",
                  "Create up to batch_limit records", tag, result, new, params, errors, also=also,
                  described_names=names),
        Operation("POST", f"{base}/update-batch", dataservice(records.update_batch), f"{ident}_update_batch",
                  "Change records, each with its Id", tag, result, changed, params, errors, also=also,
                  described_names=names),
        Operation("POST", f"{base}/delete-batch", dataservice(records.delete_batch), f"{ident}_delete_batch",
                  "Delete records by Id", tag, result, ids, (FAIL_ON_FIRST, ATOMIC), errors, also=also,
                  described_names=names),
    )  # fmt: skip


def query_operation(base: str, ident: str, tag: str, generic: bool) -> Operation:
    page = component("rb.QueryPage") if generic else per_entity(query_page_name)
    summary = "Filter, sort and page records (docs/query.md)"
    errors = (400, 401, 403, 404, 413, 415)
    return Operation("POST", f"{base}/query", dataservice(query.query_records), f"{ident}_query", summary,
                     tag, page, component("rb.Query"), (EXPANSION,), errors,
                     described_names=() if generic else BY_NAME)  # fmt: skip


IMPORT_SUMMARY = fixed(
    {
        "type": "object",
        "properties": {
            "totalRecords": {"type": "integer"},
            "insertedRecords": {"type": "integer"},
            "errorFileLink": {"type": ["string", "null"]},
            "skippedRecords": {"type": "integer"},
        },
        "required": ["totalRecords", "insertedRecords"],
    }
)
CSV_FILE = fixed({"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}})
EXPORT_FORMAT = Param("format", "query", fixed({"type": "string", "enum": ["csv", "jsonl"]}), "csv or jsonl")
ESCAPE_FORMULAS = Param(
    "escapeFormulas", "query", fixed({"type": "boolean"}),
    "CSV: prefix `'` to text cells starting with = + - @ tab or CR (default: setting export_escape_formulas)",
)  # fmt: skip
IMPORT_KEY = (
    Param("importKey", "query", fixed({"type": "string", "pattern": "^[A-Za-z0-9-]{8,64}$"}),
          "recordbase: rows get Ids from this key, so a resent chunk inserts only missing rows"),
    Param("importOffset", "query", fixed({"type": "integer", "minimum": 0, "maximum": 2**31}),
          "recordbase: the file row of this chunk's first row (with importKey)"),
)  # fmt: skip
ODATA = (
    Param("$filter", "query", STRING, "OData filter (docs/query.md)"),
    Param("$orderby", "query", STRING, "OData order"),
)


def transfer_operations(base: str, ident: str, tag: str, generic: bool) -> tuple[Operation, ...]:
    """CSV import (bulk-upload), its error file, and export (csv or jsonl)."""
    names = () if generic else BY_NAME
    return (
        Operation("POST", f"{base}/bulk-upload", dataservice(transfer.bulk_upload), f"{ident}_bulk_upload",
                  "Import a CSV file (part `file`)", tag, IMPORT_SUMMARY, CSV_FILE,
                  errors=(400, 401, 403, 404, 413, 415), params=IMPORT_KEY, body_media="multipart/form-data",
                  described_names=names),
        Operation("GET", f"{base}/bulk-upload/errors/{{error_id}}", dataservice(transfer.errors),
                  f"{ident}_bulk_upload_errors", "The rows an import refused, as CSV", tag, STRING,
                  errors=(401, 403, 404), media="text/csv", described_names=names),
        Operation("GET", f"{base}/export", dataservice(transfer.export), f"{ident}_export",
                  "Every record as CSV or JSON lines", tag, STRING,
                  params=(EXPORT_FORMAT, ESCAPE_FORMULAS, *ODATA),
                  media="text/csv|application/x-ndjson", described_names=names),
    )  # fmt: skip


def record_family(base: str, ident: str, tag: str, generic: bool) -> tuple[Operation, ...]:
    return (
        *record_operations(base, ident, tag, generic),
        *batch_operations(base, ident, tag, generic),
        query_operation(base, ident, tag, generic),
        *transfer_operations(base, ident, tag, generic),
    )


# Schema, choice sets, files --------------------------------------------------------------------


def schema_operations(base: str, ident: str) -> tuple[Operation, ...]:
    """Entities; described with one `{entity}` parameter whether the route takes a name or an id."""
    tag = "Schema"
    entity = (("entity_name", "entity"), ("entity_id", "entity"))
    return (
        Operation("GET", base, dataservice(schema.list_entities), f"{ident}_list_entities",
                  "Every entity with its fields", tag, array_of("rb.Entity")),
        Operation("POST", base, dataservice(schema.create_entity), f"{ident}_create_entity",
                  "Create an entity; answers its id", tag, STRING, component("rb.EntityCreate"),
                  errors=WRITE_ERRORS),
        Operation("GET", f"{base}/{{entity_name}}/metadata", dataservice(schema.get_entity_by_name),
                  f"{ident}_entity_by_name", "One entity, by name", tag, component("rb.Entity"),
                  described_names=entity),
        Operation("PATCH", f"{base}/{{entity_id}}/metadata", dataservice(schema.update_entity),
                  f"{ident}_update_entity_metadata",
                  "Change an entity's display name, description or RBAC flag", tag, component("rb.Entity"),
                  component("rb.EntityPatch"), errors=WRITE_ERRORS, described_names=entity),
        Operation("GET", f"{base}/{{entity_id}}", dataservice(schema.get_entity), f"{ident}_entity",
                  "One entity, by id", tag, component("rb.Entity"), described_names=entity),
        Operation("PATCH", f"{base}/{{entity_id}}", dataservice(schema.update_entity),
                  f"{ident}_update_entity", "Change an entity and its fields", tag, component("rb.Entity"),
                  component("rb.EntityPatch"), errors=WRITE_ERRORS, described_names=entity),
        Operation("DELETE", f"{base}/{{entity_id}}", dataservice(schema.delete_entity),
                  f"{ident}_delete_entity", "Delete an entity and its records", tag, status=204,
                  errors=(400, 401, 403, 404, 409), described_names=entity),
    )  # fmt: skip


CHOICE_SETS = (
    Operation("GET", "/Entity/choiceset", dataservice(schema.list_choice_sets), "list_choice_sets",
              "Every choice set", "Choice sets", array_of("rb.ChoiceSet")),
    Operation("POST", "/Entity/choiceset", dataservice(schema.create_choice_set), "create_choice_set",
              "Create a choice set; answers its id", "Choice sets", STRING, component("rb.ChoiceSetCreate"),
              errors=(400, 401, 403, 409, 413, 415)),
)  # fmt: skip
CHOICE_SET_VALUES = Operation(
    "POST", "/EntityService/entity/{entity_id}/query_expansion", dataservice(schema.choice_set_values),
    "choice_set_values", "A page of a choice set's values", "Choice sets", component("rb.ChoiceValues"),
    component("rb.Paging"), (START, VALUES_LIMIT), (400, 401, 403, 404, 413, 415), body_required=False,
    described_names=(("entity_id", "choice_set"),),
)  # fmt: skip


def attachment_operations(base: str, ident: str, tag: str) -> tuple[Operation, ...]:
    """Upload, download and delete the file of a file field (docs/files.md)."""
    path = f"{base}/{{record_id}}/{{field_name}}"
    binary = {"type": "string", "format": "binary"}
    upload = fixed({"type": "object", "properties": {"file": binary}, "required": ["file"]})
    written = component("rb.Record")
    return (
        Operation("POST", path, dataservice(attachments.upload_attachment), f"{ident}_upload",
                  "Upload (replace) the field's file", tag, written, upload, (EXPANSION,),
                  (400, 401, 403, 404, 413, 415), body_media="multipart/form-data"),
        Operation("GET", path, dataservice(attachments.download_attachment), f"{ident}_download",
                  "Download the file (Range, If-None-Match honoured)", tag, fixed(binary),
                  errors=(401, 403, 404, 416), media="application/octet-stream"),
        Operation("DELETE", path, dataservice(attachments.delete_attachment), f"{ident}_delete",
                  "Remove the field's file", tag, written, params=(EXPANSION,)),
    )  # fmt: skip


SQL_BODY = fixed(
    {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "One SELECT statement (docs/sql.md)."},
            "queryOptions": {
                "type": "object",
                "properties": {
                    "relationshipsAsScalar": {"type": "boolean"},
                    "resolveChoiceSets": {"type": "boolean"},
                },
            },
            "routingContext": {"type": "object"},
        },
        "required": ["query"],
    }
)
SQL_RESULTS = fixed(
    {
        "type": "object",
        "properties": {"results": {"type": "array", "items": {"type": "object"}}},
        "required": ["results"],
    }
)
QUERIES = (
    Operation("POST", "/v1/query/execute", dataservice(sql.execute), "sql_execute",
              "Run one read-only SQL SELECT (docs/sql.md)", "Queries", SQL_RESULTS, SQL_BODY,
              errors=(400, 401, 403, 413, 415)),
    Operation("POST", "/v2/EntityService/entity/{entity_id}/query", dataservice(query.query_records),
              "v2_by_id_query", "Filter, sort, page, aggregate and bin records (docs/query.md)", "Queries",
              component("rb.QueryPage"), component("rb.Query"), (EXPANSION,), (400, 401, 403, 404, 413, 415)),
    Operation("GET", "/ontologies/{ontology_name}/files/{file_type}", dataservice(unsupported.ontology_file),
              "ontology_file", "Ontology files: not supported, always 400 UNSUPPORTED", "Queries", ANY,
              errors=(400, 401, 403)),
)  # fmt: skip
"""Data Fabric queries: SQL, the v2 query (binnings), and the refused ontology files."""

DATASERVICE_API = Group(
    (
        *CHOICE_SETS,
        *QUERIES,
        *schema_operations("/Entity", "entity"),
        *schema_operations("/v3/entities", "v3"),
        CHOICE_SET_VALUES,
        *record_family("/EntityService/entity/{entity_id}", "by_id", "Records by entity id", generic=True),
        *record_family("/v3/entities/entity/{entity_id}", "v3_by_id", "Records by entity id", generic=True),
        *record_family("/EntityService/{entity_name}", ENTITY, ENTITY, generic=False),
        *attachment_operations("/Attachment/entity/{entity_id}", "attachment_by_id", "Files"),
        *attachment_operations("/Attachment/{entity_name}", "attachment", "Files"),
    ),
    mounts=API_PREFIXES,
    described="/api",
)
"""By-id routes and `choiceset` come before the by-name ones."""

# Administration and OAuth ----------------------------------------------------------------------


def admin(method: str, path: str, handler: Handler, name: str, summary: str, **more: object) -> Operation:
    return Operation(method, path, dataservice(handler), f"admin_{name}", summary, "Administration",
                     errors=WRITE_ERRORS, **more)  # type: ignore[arg-type]  # fmt: skip


WEBHOOKS, WEBHOOK = "/webhooks", "/webhooks/{webhook_id}"
WEBHOOK_ADMINISTRATION = (
    admin("GET", WEBHOOKS, webhooks.list_webhooks, "list_webhooks", "Webhook subscriptions", response=ANY),
    admin("POST", WEBHOOKS, webhooks.create_webhook, "create_webhook",
          "Subscribe a URL to record events (docs/events.md)", response=ANY, body=OBJECT, status=201),
    admin("GET", WEBHOOK, webhooks.get_webhook, "get_webhook", "One webhook subscription", response=ANY),
    admin("PATCH", WEBHOOK, webhooks.update_webhook, "update_webhook", "Disable or enable a subscription",
          response=ANY, body=OBJECT),
    admin("DELETE", WEBHOOK, webhooks.delete_webhook, "delete_webhook", "Delete a subscription", status=204),
    admin("GET", WEBHOOK + "/deliveries", webhooks.list_deliveries, "webhook_deliveries",
          "A subscription's delivery log", response=ANY,
          params=(Param("limit", "query", fixed({"type": "integer"}), "How many, newest first."),
                  Param("start", "query", fixed({"type": "integer"}), "How many to skip."))),
    admin("POST", WEBHOOK + "/deliveries/{delivery_id}/redeliver", webhooks.redeliver, "redeliver",
          "Send a delivery again", response=ANY, status=202),
)  # fmt: skip
"""Webhook subscriptions and their delivery logs (docs/events.md); before `/{kind}`, which would take them."""

TOKEN_OWNER = Param("principalId", "query", STRING, "Administrators: another's tokens; `*`: everyone's")
ADMINISTRATION = Group(
    (
        admin("GET", "/roles", identity.list_roles, "list_roles", "Roles", response=ANY),
        admin("POST", "/roles", identity.save_role, "create_role", "Create a role", response=ANY,
              body=OBJECT, status=201),
        admin("PUT", "/roles/{role_id}", identity.save_role, "save_role", "Replace a role", response=ANY,
              body=OBJECT),
        admin("DELETE", "/roles/{role_id}", identity.delete_role, "delete_role", "Delete a role", status=204),
        admin("PUT", "/roles/{role_id}/assignments/{principal_id}", identity.role_assignment, "assign_role",
              "Give a principal a role", status=204),
        admin("DELETE", "/roles/{role_id}/assignments/{principal_id}", identity.role_assignment,
              "unassign_role", "Take a role back", status=204),
        admin("GET", "/assignments", identity.list_assignments, "list_assignments", "Role assignments",
              response=ANY),
        admin("POST", "/tokens", identity.create_token, "create_token", "Create a personal access token",
              response=ANY, body=OBJECT, status=201),
        admin("GET", "/tokens", identity.list_tokens, "list_tokens", "Personal access tokens (no secrets)",
              response=ANY, params=(TOKEN_OWNER,)),
        admin("DELETE", "/tokens/{token_id}", identity.revoke_token, "revoke_token",
              "Revoke a personal access token", status=204),
        admin("GET", "/audit", identity.audit_log, "audit", "The audit log", response=ANY),
        admin("PATCH", "/principals/{principal_id}", identity.update_principal, "update_principal",
              "Change a principal", body=OBJECT, status=204),
        admin("PUT", "/groups/{group_id}/members/{member_id}", identity.group_member, "add_member",
              "Add a group member", status=204),
        admin("DELETE", "/groups/{group_id}/members/{member_id}", identity.group_member, "remove_member",
              "Remove a group member", status=204),
        *WEBHOOK_ADMINISTRATION,
        admin("GET", "/{kind}", identity.list_principals, "list_principals", "Users, groups or clients",
              response=ANY),
        admin("POST", "/{kind}", identity.create_principal, "create_principal",
              "Create a user, group or client", response=ANY, body=OBJECT, status=201),
    ),
    mounts=("/api/admin",),
)  # fmt: skip
"""recordbase's administration API (docs/security.md): principals, roles, assignments, tokens, audit."""

TOKEN_BODY = component("rb.TokenRequest")
TOKEN = component("rb.Token")
REVOKE_BODY = fixed({"type": "object", "properties": {"token": {"type": "string"}}})


def oauth(path: str, name: str, summary: str, response: Shape | None, body: Shape) -> Operation:
    """A token endpoint (`response`: a token) or a revocation endpoint (no answer body)."""
    endpoint = identity.revoke if response is None else identity.token
    return Operation("POST", path, endpoint, name, summary, "OAuth", response, body,
                     errors=(400, 401, 413, 415), body_media="application/x-www-form-urlencoded",
                     public=always)  # fmt: skip


OAUTH = Group(
    (
        oauth("/oauth/token", "token", "An access token (client_credentials, password, refresh_token)",
              TOKEN, TOKEN_BODY),
        oauth("/identity_/connect/token", "uipath_token", "The same, at UiPath's path", TOKEN, TOKEN_BODY),
        oauth("/{org}/identity_/connect/token", "uipath_org_token", "The same, under an organization",
              TOKEN, TOKEN_BODY),
        oauth("/oauth/revoke", "revoke", "Revoke a token (RFC 7009)", None, REVOKE_BODY),
        oauth("/identity_/connect/revocation", "uipath_revoke", "The same, at UiPath's path", None,
              REVOKE_BODY),
        oauth("/{org}/identity_/connect/revocation", "uipath_org_revoke", "The same, under an organization",
              None, REVOKE_BODY),
    )
)  # fmt: skip
"""OAuth2 endpoints at recordbase's paths and UiPath's (`/identity_/connect/…`, also under an org)."""

# Pipeliner -------------------------------------------------------------------------------------

PIPELINER_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)


def pipeliner_answer(data: Shape) -> Shape:
    return lambda doc: {
        "type": "object",
        "properties": {"success": {"type": "boolean"}, "data": data(doc)},
        "required": ["success", "data"],
    }


def pipeliner_op(
    method: str, tail: str, handler: Handler, name: str, summary: str, data: Shape, **more: object
) -> Operation:
    return Operation(method, "/entities/{entity_name}" + tail, pipeliner(handler),
                     f"pipeliner_{ENTITY}_{name}", summary, f"Pipeliner {ENTITY}", pipeliner_answer(data),
                     dialect=PIPELINER, errors=PIPELINER_ERRORS, error_body="PipelinerError",
                     described_names=BY_NAME, **more)  # type: ignore[arg-type]  # fmt: skip


def pipeliner_webhooks(
    method: str, tail: str, handler: Handler, name: str, summary: str, data: Shape, **more: object
) -> Operation:
    return Operation(method, "/entities/Webhooks" + tail, pipeliner(handler), f"pipeliner_webhooks_{name}",
                     summary, "Pipeliner Webhooks", pipeliner_answer(data), dialect=PIPELINER,
                     errors=PIPELINER_ERRORS, error_body="PipelinerError", **more)  # type: ignore[arg-type]  # fmt: skip


PIPELINER_WEBHOOKS = (
    pipeliner_webhooks("GET", "", webhooks.pipeliner_list, "list", "Your webhooks",
                       fixed({"type": "array", "items": {"type": "object"}})),
    pipeliner_webhooks("POST", "", webhooks.pipeliner_create, "create", "Create a webhook (docs/events.md)",
                       OBJECT, body=OBJECT, status=201),
    pipeliner_webhooks("DELETE", "/{id}", webhooks.pipeliner_delete, "delete", "Delete a webhook", STRING),
)  # fmt: skip
"""Pipeliner's `Webhooks` entity onto recordbase's subscriptions; before `{entity_name}`."""

PIPELINER_RECORD = per_entity(pipeliner_name)
PIPELINER_ITEMS = fixed({"type": "array", "items": {"type": ["object", "string"]}})
PIPELINER_API = Group(
    (
        *PIPELINER_WEBHOOKS,
        pipeliner_op("POST", "/batch-modify", pipeliner_records.batch_modify, "batch_modify",
                     "Create and update records (rollback-method)", PIPELINER_ITEMS,
                     body=fixed({"type": "array", "items": {"type": "object"}})),
        pipeliner_op("POST", "/batch-delete", pipeliner_records.batch_delete, "batch_delete",
                     "Delete records (rollback-method)", PIPELINER_ITEMS,
                     body=fixed({"type": "array", "items": {"type": ["object", "string"]}})),
        pipeliner_op("GET", "", listing.list_records, "list",
                     "A page of records (filter, order-by, cursor: docs/pipeliner.md)",
                     lambda doc: {"type": "array", "items": PIPELINER_RECORD(doc)}),
        pipeliner_op("POST", "", pipeliner_records.create_record, "create", "Create a record",
                     PIPELINER_RECORD, body=OBJECT, status=201),
        pipeliner_op("GET", "/{id}", pipeliner_records.get_record, "get", "One record", PIPELINER_RECORD),
        pipeliner_op("PATCH", "/{id}", pipeliner_records.update_record, "update", "Change a record",
                     PIPELINER_RECORD, body=OBJECT),
        pipeliner_op("DELETE", "/{id}", pipeliner_records.delete_record, "delete", "Delete a record",
                     STRING),
    ),
    mounts=(PIPELINER_PREFIX,),
)  # fmt: skip
"""Pipeliner's record routes (docs/compat-pipeliner.md)."""

# Operations ------------------------------------------------------------------------------------


@cache
def described() -> tuple[Operation, ...]:
    """Every operation of the table, with its path as described (under `/api`, renamed parameters)."""
    return tuple(
        replace(op, path=op.described_path(group.prefix), described_names=())
        for group in GROUPS
        for op in group.operations
    )


def build_document(schema: Schema, settings: Settings, dialect: str | None = None) -> JSON:
    """The OpenAPI description of every route (or one dialect's) for the schema."""
    return openapi.build_document(described(), schema, settings, dialect)


def dialects() -> list[str]:
    return openapi.dialects(described())


def operations_op(path: str, endpoint: Endpoint, name: str, summary: str, **more: object) -> Operation:
    return Operation("GET", path, endpoint, name, summary, "Operations", dialect=OPERATIONS_DIALECT,
                     **more)  # type: ignore[arg-type]  # fmt: skip


OPERATIONS = Group(
    (
        operations_op("/healthz", observability.healthz, "healthz", "The process is alive",
                      response=component("rb.Health"), errors=(), public=always),
        operations_op("/readyz", observability.readyz, "readyz", "The database (and file store) answer",
                      response=component("rb.Ready"), errors=(503,), public=always),
        operations_op("/metrics", observability.metrics, "metrics", "Prometheus metrics", response=STRING,
                      errors=(), media="text/plain", public=always),
        operations_op("/api/openapi.json", openapi.spec_endpoint(openapi.whole(described)), "openapi",
                      "This description", response=OBJECT, errors=(401,), public=openapi_public),
        operations_op("/api/openapi/{dialect}.json", openapi.spec_endpoint(openapi.one_dialect(described)),
                      "openapi_dialect", "The description of one dialect", response=OBJECT,
                      errors=(401, 404), public=openapi_public),
        operations_op("/api/docs", openapi.docs_page, "docs", "Interactive API documentation",
                      response=STRING, errors=(), media="text/html", public=always),
    )
)  # fmt: skip
"""Health, metrics and the OpenAPI description come before the `/api` mount, which would take them."""

EVENTS = Group(
    (
        Operation("GET", "/api/events", dataservice(events_stream.stream_events), "events_stream",
                  "Committed changes as Server-Sent Events (docs/events.md)", "Events", STRING,
                  media="text/event-stream",
                  params=(Param("entity", "query", STRING, "Entity names (repeat, or comma-separated)."),
                          Param("lastEventId", "query", STRING, "Resume after this event id (or send "
                                "the Last-Event-ID header).")), errors=(400, 401, 403, 404)),
    )
)  # fmt: skip
"""The live change stream; before the `/api` mount, which would take it."""

GROUPS = (OAUTH, ADMINISTRATION, OPERATIONS, EVENTS, PIPELINER_API, DATASERVICE_API)
"""Served in this order (the docs' static files between OPERATIONS and the mounts)."""

# Starlette -------------------------------------------------------------------------------------


def starlette_routes(group: Group) -> list[BaseRoute]:
    """A group's routes; a mounted group's behind one indexed router (api/router.py), shared by
    its mounts."""
    declared: list[BaseRoute] = [Route(op.path, op.endpoint, methods=[op.method]) for op in group.operations]
    if not group.mounts:
        return declared
    router = IndexedRouter(declared)
    return [Mount(prefix, app=router) for prefix in group.mounts]


def routes() -> list[BaseRoute]:
    """The route table, in the order of `GROUPS`; the docs page's static files after OPERATIONS.
    Served by an indexed router (app.py), so its order is the whole of its matching rules."""
    table: list[BaseRoute] = []
    for group in GROUPS:
        table += starlette_routes(group)
        if group is OPERATIONS:
            table.append(openapi.static_files())
    return table
