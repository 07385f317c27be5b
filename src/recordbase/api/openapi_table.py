"""The table the OpenAPI description is generated from: one `Operation` per described route.

An entry whose path contains `{Entity}` is repeated for each entity, with that entity's own schemas
(api/openapi_shapes.py). To describe a new route, add an entry (its path parameters are looked up in
`PATH_PARAMETERS`); tests/api/test_openapi.py fails while a served route has none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from recordbase.api.openapi_shapes import (
    EXPANSION_LEVEL,
    JSON,
    UUID,
    batch_name,
    insert_name,
    page_name,
    pipeliner_name,
    query_page_name,
    ref,
    update_name,
)
from recordbase.core.schema import Entity, Schema
from recordbase.settings import Settings

DATASERVICE = "dataservice"
OPERATIONS_DIALECT = "operations"
ENTITY = "{Entity}"


@dataclass(frozen=True)
class Doc:
    """What one description is generated from; `entity` is set while a per-entity entry is expanded."""

    schema: Schema
    settings: Settings
    entity: Entity | None = None

    @property
    def this(self) -> Entity:
        if self.entity is None:
            raise ValueError("a per-entity shape was used outside a per-entity operation")
        return self.entity


Shape = Callable[[Doc], JSON]
"""A JSON Schema, built for one description (and entity)."""


@dataclass(frozen=True)
class Param:
    name: str
    where: str
    shape: Shape
    description: str


@dataclass(frozen=True)
class Operation:
    """One described route. `{Entity}` in `path`, `operation_id` or `tag` stands for each entity's name."""

    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    response: Shape | None = None
    body: Shape | None = None
    params: tuple[Param, ...] = ()
    errors: tuple[int, ...] = (400, 401, 403, 404)
    status: int = 200
    media: str = "application/json"
    body_required: bool = True
    body_media: str = "application/json"
    also: tuple[tuple[int, Shape | None], ...] = ()
    error_body: str = "Error"
    dialect: str = DATASERVICE
    public: Callable[[Settings], bool] = lambda settings: False
    """`also`: more answers (status, body) beside `status`; `errors` answer `error_body` (`Error`: the
    `{error, code, traceId}` envelope; `PipelinerError`: Pipeliner's error object)."""


def always(settings: Settings) -> bool:
    return True


def openapi_public(settings: Settings) -> bool:
    return settings.openapi_public


# Shapes ----------------------------------------------------------------------------------------


def component(name: str) -> Shape:
    return lambda doc: ref(name)


def array_of(name: str) -> Shape:
    return lambda doc: {"type": "array", "items": ref(name)}


def fixed(schema: JSON) -> Shape:
    return lambda doc: schema


def record(doc: Doc) -> JSON:
    return ref(doc.this.name)


def record_insert(doc: Doc) -> JSON:
    return ref(insert_name(doc.this))


def record_update(doc: Doc) -> JSON:
    return ref(update_name(doc.this))


def record_page(doc: Doc) -> JSON:
    return ref(page_name(doc.this))


def list_limit(doc: Doc) -> JSON:
    settings = doc.settings
    return {
        "type": "integer",
        "minimum": 1,
        "maximum": settings.list_limit_max,
        "default": settings.list_limit_default,
    }


STRING = fixed({"type": "string"})
EXPANSION = Param("expansionLevel", "query", fixed(EXPANSION_LEVEL), "Depth of related records (0-3).")
START = Param(
    "start",
    "query",
    fixed({"type": "integer", "minimum": 0, "maximum": 2**31, "default": 0}),
    "Records to skip.",
)
LIMIT = Param("limit", "query", list_limit, "Records per page.")
VALUES_LIMIT = Param(
    "limit", "query", fixed({"type": "integer", "minimum": 1, "maximum": 1000}), "Values per page."
)

PATH_PARAMETERS: dict[str, tuple[JSON, str]] = {
    "record_id": (UUID, "The record's Id."),
    "entity": ({"type": "string"}, "The entity's id or name."),
    "entity_id": ({"type": "string"}, "The entity's id (its name is accepted too)."),
    "field_name": ({"type": "string"}, "The name of a file field (case-sensitive)."),
    "choice_set": ({"type": "string"}, "The choice set's id or name."),
    "dialect": ({"type": "string"}, "A wire dialect: `dataservice` or `pipeliner`."),
    "space": ({"type": "string"}, "A Pipeliner space id (any names this server's one space)."),
    "id": ({"type": "string"}, "The record's id."),
    "org": ({"type": "string"}, "An organization name (any)."),
    "error_id": ({"type": "string"}, "The id in an import's errorFileLink."),
}
"""Path parameters by name; a route whose parameter is not here is described as a plain string."""

# The table -------------------------------------------------------------------------------------


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
    write = (400, 401, 403, 404, 409, 413, 415)
    return (
        Operation(
            "GET",
            f"{base}/read",
            f"{ident}_list",
            "A page of records, ordered by Id",
            tag,
            page,
            params=(START, LIMIT, EXPANSION),
        ),
        Operation(
            "GET", f"{base}/read/{{record_id}}", f"{ident}_read", "One record", tag, one, params=(EXPANSION,)
        ),
        Operation(
            "POST", f"{base}/insert", f"{ident}_insert", "Create a record", tag, one, new, (EXPANSION,), write
        ),
        Operation(
            "POST",
            f"{base}/update/{{record_id}}",
            f"{ident}_update",
            "Change a record: omitted fields stay, null clears",
            tag,
            one,
            changes,
            (EXPANSION,),
            write,
        ),
        Operation(
            "DELETE",
            f"{base}/delete/{{record_id}}",
            f"{ident}_delete",
            "Delete a record",
            tag,
            fixed({"const": True}),
            errors=(400, 401, 403, 404, 409),
        ),
    )


def schema_operations(base: str, ident: str) -> tuple[Operation, ...]:
    tag = "Schema"
    write = (400, 401, 403, 404, 409, 413, 415)
    return (
        Operation(
            "GET", base, f"{ident}_list_entities", "Every entity with its fields", tag, array_of("rb.Entity")
        ),
        Operation(
            "POST",
            base,
            f"{ident}_create_entity",
            "Create an entity; answers its id",
            tag,
            STRING,
            component("rb.EntityCreate"),
            errors=write,
        ),
        Operation(
            "GET",
            f"{base}/{{entity}}/metadata",
            f"{ident}_entity_by_name",
            "One entity, by name",
            tag,
            component("rb.Entity"),
        ),
        Operation(
            "PATCH",
            f"{base}/{{entity}}/metadata",
            f"{ident}_update_entity_metadata",
            "Change an entity's display name, description or RBAC flag",
            tag,
            component("rb.Entity"),
            component("rb.EntityPatch"),
            errors=write,
        ),
        Operation(
            "GET", f"{base}/{{entity}}", f"{ident}_entity", "One entity, by id", tag, component("rb.Entity")
        ),
        Operation(
            "PATCH",
            f"{base}/{{entity}}",
            f"{ident}_update_entity",
            "Change an entity and its fields",
            tag,
            component("rb.Entity"),
            component("rb.EntityPatch"),
            errors=write,
        ),
        Operation(
            "DELETE",
            f"{base}/{{entity}}",
            f"{ident}_delete_entity",
            "Delete an entity and its records",
            tag,
            status=204,
            errors=(400, 401, 403, 404, 409),
        ),
    )


CHOICE_SETS = (
    Operation(
        "GET",
        "/api/Entity/choiceset",
        "list_choice_sets",
        "Every choice set",
        "Choice sets",
        array_of("rb.ChoiceSet"),
    ),
    Operation(
        "POST",
        "/api/Entity/choiceset",
        "create_choice_set",
        "Create a choice set; answers its id",
        "Choice sets",
        STRING,
        component("rb.ChoiceSetCreate"),
        errors=(400, 401, 403, 409, 413, 415),
    ),
    Operation(
        "POST",
        "/api/EntityService/entity/{choice_set}/query_expansion",
        "choice_set_values",
        "A page of a choice set's values",
        "Choice sets",
        component("rb.ChoiceValues"),
        component("rb.Paging"),
        (START, VALUES_LIMIT),
        (400, 401, 403, 404, 413, 415),
        body_required=False,
    ),
)
OPERATIONS_ROUTES = (
    Operation(
        "GET",
        "/healthz",
        "healthz",
        "The process is alive",
        "Operations",
        component("rb.Health"),
        errors=(),
        dialect=OPERATIONS_DIALECT,
        public=always,
    ),
    Operation(
        "GET",
        "/readyz",
        "readyz",
        "The database (and file store) answer",
        "Operations",
        component("rb.Ready"),
        errors=(503,),
        dialect=OPERATIONS_DIALECT,
        public=always,
    ),
    Operation(
        "GET",
        "/metrics",
        "metrics",
        "Prometheus metrics",
        "Operations",
        STRING,
        errors=(),
        media="text/plain",
        dialect=OPERATIONS_DIALECT,
        public=always,
    ),
    Operation(
        "GET",
        "/api/openapi.json",
        "openapi",
        "This description",
        "Operations",
        fixed({"type": "object"}),
        errors=(401,),
        dialect=OPERATIONS_DIALECT,
        public=openapi_public,
    ),
    Operation(
        "GET",
        "/api/openapi/{dialect}.json",
        "openapi_dialect",
        "The description of one dialect",
        "Operations",
        fixed({"type": "object"}),
        errors=(401, 404),
        dialect=OPERATIONS_DIALECT,
        public=openapi_public,
    ),
    Operation(
        "GET",
        "/api/docs",
        "docs",
        "Interactive API documentation",
        "Operations",
        STRING,
        errors=(),
        media="text/html",
        dialect=OPERATIONS_DIALECT,
        public=always,
    ),
)


def attachment_operations(base: str, ident: str, tag: str) -> tuple[Operation, ...]:
    """Upload, download and delete the file of a file field (docs/files.md)."""
    path = f"{base}/{{record_id}}/{{field_name}}"
    binary = {"type": "string", "format": "binary"}
    upload = fixed({"type": "object", "properties": {"file": binary}, "required": ["file"]})
    written = component("rb.Record")
    return (
        Operation(
            "POST", path, f"{ident}_upload", "Upload (replace) the field's file", tag, written, upload,
            (EXPANSION,), (400, 401, 403, 404, 413, 415), body_media="multipart/form-data",
        ),
        Operation(
            "GET", path, f"{ident}_download", "Download the file (Range, If-None-Match honoured)", tag,
            fixed(binary), errors=(401, 403, 404, 416), media="application/octet-stream",
        ),
        Operation(
            "DELETE", path, f"{ident}_delete", "Remove the field's file", tag, written, params=(EXPANSION,),
        ),
    )  # fmt: skip


FLAG = fixed({"type": "boolean", "default": False})
FAIL_ON_FIRST = Param("failOnFirst", "query", FLAG, "Stop at the first failing record.")
ATOMIC = Param("atomic", "query", FLAG, "All or nothing (recordbase's extension).")
WRITE_ERRORS = (401, 403, 404, 413, 415)


def per_entity(name: Callable[[Entity], str]) -> Shape:
    return lambda doc: ref(name(doc.this))


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
    return (
        Operation("POST", f"{base}/insert-batch", f"{ident}_insert_batch", "Create up to batch_limit records",
                  tag, result, new, params, WRITE_ERRORS, also=also),
        Operation("POST", f"{base}/update-batch", f"{ident}_update_batch", "Change records, each with its Id",
                  tag, result, changed, params, WRITE_ERRORS, also=also),
        Operation("POST", f"{base}/delete-batch", f"{ident}_delete_batch", "Delete records by Id", tag,
                  result, ids, (FAIL_ON_FIRST, ATOMIC), WRITE_ERRORS, also=also),
    )  # fmt: skip


def query_operation(base: str, ident: str, tag: str, generic: bool) -> Operation:
    page = component("rb.QueryPage") if generic else per_entity(query_page_name)
    summary = "Filter, sort and page records (docs/query.md)"
    errors = (400, 401, 403, 404, 413, 415)
    return Operation("POST", f"{base}/query", f"{ident}_query", summary, tag, page, component("rb.Query"),
                     (EXPANSION,), errors)  # fmt: skip


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
TEXT = fixed({"type": "string"})
EXPORT_FORMAT = Param("format", "query", fixed({"type": "string", "enum": ["csv", "jsonl"]}), "csv or jsonl")
IMPORT_KEY = (
    Param("importKey", "query", fixed({"type": "string", "pattern": "^[A-Za-z0-9-]{8,64}$"}),
          "recordbase: rows get Ids from this key, so a resent chunk inserts only missing rows"),
    Param("importOffset", "query", fixed({"type": "integer", "minimum": 0, "maximum": 2**31}),
          "recordbase: the file row of this chunk's first row (with importKey)"),
)  # fmt: skip
ODATA = (
    Param("$filter", "query", TEXT, "OData filter (docs/query.md)"),
    Param("$orderby", "query", TEXT, "OData order"),
)


def transfer_operations(base: str, ident: str, tag: str) -> tuple[Operation, ...]:
    """CSV import (bulk-upload), its error file, and export (csv or jsonl)."""
    return (
        Operation("POST", f"{base}/bulk-upload", f"{ident}_bulk_upload", "Import a CSV file (part `file`)",
                  tag, IMPORT_SUMMARY, CSV_FILE, errors=(400, 401, 403, 404, 413, 415),
                  params=IMPORT_KEY, body_media="multipart/form-data"),
        Operation("GET", f"{base}/bulk-upload/errors/{{error_id}}", f"{ident}_bulk_upload_errors",
                  "The rows an import refused, as CSV", tag, TEXT, errors=(401, 403, 404), media="text/csv"),
        Operation("GET", f"{base}/export", f"{ident}_export", "Every record as CSV or JSON lines", tag, TEXT,
                  params=(EXPORT_FORMAT, *ODATA), media="text/csv|application/x-ndjson"),
    )  # fmt: skip


def record_family(base: str, ident: str, tag: str, generic: bool) -> tuple[Operation, ...]:
    return (
        *record_operations(base, ident, tag, generic),
        *batch_operations(base, ident, tag, generic),
        query_operation(base, ident, tag, generic),
        *transfer_operations(base, ident, tag),
    )


ANY = fixed({})
OBJECT = fixed({"type": "object"})
ADMIN_ERRORS = (400, 401, 403, 404, 409, 413, 415)


def admin(method: str, path: str, name: str, summary: str, **more: object) -> Operation:
    return Operation(method, f"/api/admin{path}", f"admin_{name}", summary, "Administration",
                     errors=ADMIN_ERRORS, **more)  # type: ignore[arg-type]  # fmt: skip


ADMINISTRATION = (
    admin("GET", "/roles", "list_roles", "Roles", response=ANY),
    admin("POST", "/roles", "create_role", "Create a role", response=ANY, body=OBJECT, status=201),
    admin("PUT", "/roles/{role_id}", "save_role", "Replace a role", response=ANY, body=OBJECT),
    admin("DELETE", "/roles/{role_id}", "delete_role", "Delete a role", status=204),
    admin("PUT", "/roles/{role_id}/assignments/{principal_id}", "assign_role", "Give a principal a role",
          status=204),
    admin("DELETE", "/roles/{role_id}/assignments/{principal_id}", "unassign_role", "Take a role back",
          status=204),
    admin("GET", "/assignments", "list_assignments", "Role assignments", response=ANY),
    admin("POST", "/tokens", "create_token", "Create a personal access token", response=ANY, body=OBJECT,
          status=201),
    admin("GET", "/audit", "audit", "The audit log", response=ANY),
    admin("PATCH", "/principals/{principal_id}", "update_principal", "Change a principal", body=OBJECT,
          status=204),
    admin("PUT", "/groups/{group_id}/members/{member_id}", "add_member", "Add a group member", status=204),
    admin("DELETE", "/groups/{group_id}/members/{member_id}", "remove_member", "Remove a group member",
          status=204),
    admin("GET", "/{kind}", "list_principals", "Users, groups or clients", response=ANY),
    admin("POST", "/{kind}", "create_principal", "Create a user, group or client", response=ANY, body=OBJECT,
          status=201),
)  # fmt: skip


def oauth(path: str, name: str, summary: str, response: Shape | None, body: Shape) -> Operation:
    return Operation("POST", path, name, summary, "OAuth", response, body, errors=(400, 401, 413, 415),
                     body_media="application/x-www-form-urlencoded", public=always)  # fmt: skip


TOKEN_BODY = component("rb.TokenRequest")
REVOKE_BODY = fixed({"type": "object", "properties": {"token": {"type": "string"}}})
OAUTH = (
    oauth("/oauth/token", "token", "An access token (client_credentials, password, refresh_token)",
          component("rb.Token"), TOKEN_BODY),
    oauth("/identity_/connect/token", "uipath_token", "The same, at UiPath's path", component("rb.Token"),
          TOKEN_BODY),
    oauth("/{org}/identity_/connect/token", "uipath_org_token", "The same, under an organization",
          component("rb.Token"), TOKEN_BODY),
    oauth("/oauth/revoke", "revoke", "Revoke a token (RFC 7009)", None, REVOKE_BODY),
    oauth("/identity_/connect/revocation", "uipath_revoke", "The same, at UiPath's path", None, REVOKE_BODY),
    oauth("/{org}/identity_/connect/revocation", "uipath_org_revoke", "The same, under an organization", None,
          REVOKE_BODY),
)  # fmt: skip

PIPELINER = "pipeliner"
PIPELINER_BASE = f"/api/v100/rest/spaces/{{space}}/entities/{ENTITY}"
PIPELINER_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)


def pipeliner_answer(data: Shape) -> Shape:
    return lambda doc: {
        "type": "object",
        "properties": {"success": {"type": "boolean"}, "data": data(doc)},
        "required": ["success", "data"],
    }


def pipeliner_op(method: str, tail: str, name: str, summary: str, data: Shape, **more: object) -> Operation:
    return Operation(method, PIPELINER_BASE + tail, f"pipeliner_{ENTITY}_{name}", summary,
                     f"Pipeliner {ENTITY}", pipeliner_answer(data), dialect=PIPELINER,
                     errors=PIPELINER_ERRORS, error_body="PipelinerError", **more)  # type: ignore[arg-type]  # fmt: skip


PIPELINER_RECORD = per_entity(pipeliner_name)
PIPELINER_ITEMS = fixed({"type": "array", "items": {"type": ["object", "string"]}})
PIPELINER_OPERATIONS = (
    pipeliner_op("GET", "", "list", "A page of records (filter, order-by, cursor: docs/pipeliner.md)",
                 lambda doc: {"type": "array", "items": PIPELINER_RECORD(doc)}),
    pipeliner_op("POST", "", "create", "Create a record", PIPELINER_RECORD, body=OBJECT, status=201),
    pipeliner_op("GET", "/{id}", "get", "One record", PIPELINER_RECORD),
    pipeliner_op("PATCH", "/{id}", "update", "Change a record", PIPELINER_RECORD, body=OBJECT),
    pipeliner_op("DELETE", "/{id}", "delete", "Delete a record", fixed({"type": "string"})),
    pipeliner_op("POST", "/batch-modify", "batch_modify", "Create and update records (rollback-method)",
                 PIPELINER_ITEMS, body=fixed({"type": "array", "items": {"type": "object"}})),
    pipeliner_op("POST", "/batch-delete", "batch_delete", "Delete records (rollback-method)", PIPELINER_ITEMS,
                 body=fixed({"type": "array", "items": {"type": ["object", "string"]}})),
)  # fmt: skip


OPERATIONS: tuple[Operation, ...] = (
    *schema_operations("/api/Entity", "entity"),
    *schema_operations("/api/v3/entities", "v3"),
    *CHOICE_SETS,
    *record_family(f"/api/EntityService/{ENTITY}", ENTITY, ENTITY, generic=False),
    *record_family("/api/EntityService/entity/{entity_id}", "by_id", "Records by entity id", generic=True),
    *record_family("/api/v3/entities/entity/{entity_id}", "v3_by_id", "Records by entity id", generic=True),
    *attachment_operations("/api/Attachment/{entity_name}", "attachment", "Files"),
    *attachment_operations("/api/Attachment/entity/{entity_id}", "attachment_by_id", "Files"),
    *PIPELINER_OPERATIONS,
    *ADMINISTRATION,
    *OAUTH,
    *OPERATIONS_ROUTES,
)
"""Every described route; a route added to api/routes.py gets its entry here."""

ERROR_TEXT = {
    400: "The request is malformed or a record breaks a field rule (all rules broken are listed).",
    401: "No valid bearer token.",
    403: "The token may not do this.",
    404: "No such entity, record or choice set.",
    409: "A unique value is taken, or the record is still referred to.",
    413: "The body is larger than max_body_bytes.",
    415: "The body is not JSON.",
    416: "The range selects no byte of the file.",
    422: "A record breaks a field rule (Pipeliner).",
    503: "Not ready: a check failed.",
}
