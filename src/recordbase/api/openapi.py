"""OpenAPI 3.1 descriptions generated from the live schema: `/api/openapi.json`, one per dialect
(`/api/openapi/{dialect}.json`), an interactive page (`/api/docs`) and `recordbase openapi`.

The description is table-driven. `OPERATIONS` lists every described route once; an entry whose
path contains `{Entity}` is repeated for each entity, with that entity's own record schemas
(api/openapi_shapes.py). To describe a new route, add an `Operation` (its path parameters are
looked up in `PATH_PARAMETERS`); tests/api/test_openapi.py fails while a route has none.
Paths are written under the bare `/api` prefix; `/{org}/{tenant}/dataservice_/api` and
`/{org}/{tenant}/datafabric_/api` serve the same routes.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from recordbase import __version__
from recordbase.api.endpoint import Endpoint, PublicHandler, dataservice, public_dataservice
from recordbase.api.http import JSONResponse
from recordbase.api.openapi_shapes import (
    EXPANSION_LEVEL,
    JSON,
    STATIC_COMPONENTS,
    UUID,
    entity_components,
    insert_name,
    page_name,
    ref,
    update_name,
)
from recordbase.core.actors import Actor
from recordbase.core.schema import Entity, Schema
from recordbase.errors import NotFound
from recordbase.services import Services
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
    dialect: str = DATASERVICE
    public: Callable[[Settings], bool] = lambda settings: False


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
    "dialect": ({"type": "string"}, "A wire dialect, such as `dataservice`."),
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


OPERATIONS: tuple[Operation, ...] = (
    *schema_operations("/api/Entity", "entity"),
    *schema_operations("/api/v3/entities", "v3"),
    *CHOICE_SETS,
    *record_operations(f"/api/EntityService/{ENTITY}", ENTITY, ENTITY, generic=False),
    *record_operations(
        "/api/EntityService/entity/{entity_id}", "by_id", "Records by entity id", generic=True
    ),
    *record_operations(
        "/api/v3/entities/entity/{entity_id}", "v3_by_id", "Records by entity id", generic=True
    ),
    *attachment_operations("/api/Attachment/{entity_name}", "attachment", "Files"),
    *attachment_operations("/api/Attachment/entity/{entity_id}", "attachment_by_id", "Files"),
    *OPERATIONS_ROUTES,
)
"""Every described route. Batches, query, attachments and the Pipeliner dialect add theirs here."""

ERROR_TEXT = {
    400: "The request is malformed or a record breaks a field rule (all rules broken are listed).",
    401: "No valid bearer token.",
    403: "The token may not do this.",
    404: "No such entity, record or choice set.",
    409: "A unique value is taken, or the record is still referred to.",
    413: "The body is larger than max_body_bytes.",
    415: "The body is not JSON.",
    416: "The range selects no byte of the file.",
    503: "Not ready: a check failed.",
}


# Assembly --------------------------------------------------------------------------------------


def dialects() -> list[str]:
    return sorted({op.dialect for op in OPERATIONS} - {OPERATIONS_DIALECT})


def build_document(schema: Schema, settings: Settings, dialect: str | None = None) -> JSON:
    """The OpenAPI 3.1 document for the schema: every operation, or those of one dialect."""
    doc = Doc(schema, settings)
    paths: JSON = {}
    for op in OPERATIONS:
        if dialect is None or op.dialect == dialect:
            for concrete, at in expand(op, doc):
                paths.setdefault(concrete.path, {})[concrete.method.lower()] = operation_json(concrete, at)
    return {
        "openapi": "3.1.0",
        "info": info(schema, dialect),
        "security": [{"bearer": []}],
        "tags": tags(schema),
        "paths": paths,
        "components": {
            "schemas": {**STATIC_COMPONENTS, **entity_components(schema)},
            "responses": ERROR_RESPONSES,
            "headers": HEADERS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "`rb_…` token"}
            },
        },
    }


def expand(op: Operation, doc: Doc) -> Iterator[tuple[Operation, Doc]]:
    if ENTITY not in op.path:
        yield op, doc
        return
    for entity in doc.schema.entities:
        name = entity.name
        yield (
            replace(
                op,
                path=op.path.replace(ENTITY, name),
                operation_id=op.operation_id.replace(ENTITY, name),
                tag=op.tag.replace(ENTITY, name),
            ),
            replace(doc, entity=entity),
        )


def operation_json(op: Operation, doc: Doc) -> JSON:
    body: JSON = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag]}
    parameters = [*(path_parameter(name) for name in re.findall(r"{(\w+)}", op.path)), *op.params]
    if parameters:
        body["parameters"] = [parameter_json(p, doc) for p in parameters]
    if op.body is not None:
        body["requestBody"] = {
            "required": op.body_required,
            "content": {op.body_media: {"schema": op.body(doc)}},
        }
    public = op.public(doc.settings)
    if public:
        body["security"] = []
    body["responses"] = responses(op, doc, public)
    return body


def path_parameter(name: str) -> Param:
    schema, text = PATH_PARAMETERS.get(name, ({"type": "string"}, ""))
    return Param(name, "path", fixed(schema), text)


def parameter_json(param: Param, doc: Doc) -> JSON:
    body: JSON = {"name": param.name, "in": param.where, "schema": param.shape(doc)}
    if param.description:
        body["description"] = param.description
    if param.where == "path":
        body["required"] = True
    return body


def responses(op: Operation, doc: Doc, public: bool) -> JSON:
    ok: JSON = {"description": op.summary, "headers": HEADER_REFS}
    if op.response is not None:
        ok["content"] = {op.media: {"schema": op.response(doc)}}
    found: JSON = {str(op.status): ok}
    for status in op.errors:
        if not (public and status == 401):
            found[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    return found


HEADERS: JSON = {
    "X-Request-Id": {
        "description": "The request id (the caller's, if it sent a sane one).",
        "schema": {"type": "string"},
    },
    "Server-Timing": {
        "description": "Time per stage: auth, parse, plan, db, render, total.",
        "schema": {"type": "string"},
    },
}
HEADER_REFS: JSON = {name: {"$ref": f"#/components/headers/{name}"} for name in HEADERS}
ERROR_RESPONSES: JSON = {
    f"Error{status}": {
        "description": text,
        "headers": HEADER_REFS,
        "content": {"application/json": {"schema": ref("rb.Error")}},
    }
    for status, text in ERROR_TEXT.items()
}


def info(schema: Schema, dialect: str | None) -> JSON:
    scope = f" ({dialect} dialect)" if dialect else ""
    return {
        "title": f"recordbase API{scope}",
        "version": f"{__version__}+schema.{schema.version}",
        "description": (
            "Generated from the live schema: every entity has its own record schemas and routes. "
            "Routes are shown under `/api`; `/{org}/{tenant}/dataservice_/api` and "
            "`/{org}/{tenant}/datafabric_/api` serve the same ones. Errors are `{error, code, traceId}`."
        ),
    }


def tags(schema: Schema) -> list[JSON]:
    fixed_tags = [
        {"name": "Schema", "description": "Entities and their fields."},
        {"name": "Choice sets", "description": "Named lists of values for choice-set fields."},
        {"name": "Records by entity id", "description": "The record routes the official SDKs call."},
        {"name": "Files", "description": "The files of file fields (docs/files.md)."},
        {"name": "Operations", "description": "Health, readiness, metrics and this description."},
    ]
    return [
        *(
            {"name": e.name, "description": e.description or f"Records of {e.label}."}
            for e in schema.entities
        ),
        *fixed_tags,
    ]


# Serving ---------------------------------------------------------------------------------------


async def _current_schema(services: Services) -> Schema:
    """The schema, caught up with changes another worker process made."""
    await services.schemas.refresh_if_changed()
    return services.schemas.current


async def whole(request: Request, services: Services) -> Response:
    return JSONResponse(build_document(await _current_schema(services), services.settings))


async def one_dialect(request: Request, services: Services) -> Response:
    dialect = request.path_params["dialect"]
    if dialect not in dialects():
        raise NotFound(f"No dialect '{dialect}'; there are: {', '.join(dialects())}.")
    return JSONResponse(build_document(await _current_schema(services), services.settings, dialect))


def spec_endpoint(handler: PublicHandler) -> Endpoint:
    """Token required unless the `openapi_public` setting says otherwise."""

    async def with_actor(request: Request, actor: Actor, services: Services) -> Response:
        return await handler(request, services)

    with_actor.__name__ = handler.__name__
    public, protected = public_dataservice(handler), dataservice(with_actor)

    async def endpoint(request: Request) -> Response:
        services: Services = request.app.state.services
        return await (public if services.settings.openapi_public else protected)(request)

    return endpoint


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>recordbase API</title>
<link rel="stylesheet" href="docs/static/swagger-ui.css">
<style>body{margin:0;font-family:sans-serif}#auth{padding:8px 16px;background:#f3f3f3}</style></head>
<body>
<form id="auth">Bearer token <input id="token" type="password" size="50" autocomplete="off">
<button>Load</button> <small>(kept in this tab only; also used for "Try it out")</small></form>
<div id="ui"></div>
<script src="docs/static/swagger-ui-bundle.js"></script>
<script>
const KEY = "recordbase-token";
function load() {
  const token = sessionStorage.getItem(KEY) || "";
  SwaggerUIBundle({
    url: "openapi.json", dom_id: "#ui", deepLinking: true,
    requestInterceptor: (req) => {
      if (token && !req.headers.Authorization) req.headers.Authorization = "Bearer " + token;
      return req;
    },
  });
}
document.getElementById("auth").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, document.getElementById("token").value.trim());
  load();
});
load();
</script></body></html>
"""


async def docs_page(request: Request) -> Response:
    """Swagger UI over `/api/openapi.json`, from files installed with recordbase (works offline)."""
    return HTMLResponse(DOCS_PAGE)


def swagger_ui_directory() -> Path:
    """The static files of the `swagger-ui-py` package, found without importing it."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def routes() -> list[BaseRoute]:
    return [
        Route("/api/openapi.json", spec_endpoint(whole), methods=["GET"]),
        Route("/api/openapi/{dialect}.json", spec_endpoint(one_dialect), methods=["GET"]),
        Route("/api/docs", docs_page, methods=["GET"]),
        Mount("/api/docs/static", app=StaticFiles(directory=swagger_ui_directory()), name="docs-static"),
    ]
