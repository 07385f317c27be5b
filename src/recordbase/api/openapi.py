"""OpenAPI 3.1 descriptions generated from the live schema: `/api/openapi.json`, one per dialect
(`/api/openapi/{dialect}.json`), an interactive page (`/api/docs`) and `recordbase openapi`.

The description is table-driven: api/routes.py declares every route once (api/operation.py), and
api/openapi_shapes.py builds each entity's schemas; this module assembles and serves them.
Paths are written under the bare `/api` prefix; `/{org}/{tenant}/dataservice_/api` and
`/{org}/{tenant}/datafabric_/api` serve the same routes.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from recordbase import __version__
from recordbase.api.endpoint import Endpoint, dataservice, public_dataservice
from recordbase.api.http import JSONResponse
from recordbase.api.openapi_components import STATIC_COMPONENTS
from recordbase.api.openapi_shapes import JSON, entity_components, ref
from recordbase.api.operation import (
    ENTITY,
    ERROR_TEXT,
    OPERATIONS_DIALECT,
    PATH_PARAMETERS,
    Doc,
    Operation,
    Param,
    Shape,
    fixed,
)
from recordbase.core.actors import Actor
from recordbase.core.permissions import Permissions, visible_schema
from recordbase.core.schema import Schema
from recordbase.errors import NotFound
from recordbase.services import Services
from recordbase.settings import Settings

# Assembly --------------------------------------------------------------------------------------


Described = Callable[[], Sequence[Operation]]
"""The described operations (api/routes.py `described`), asked for when a description is built."""


def dialects(operations: Sequence[Operation]) -> list[str]:
    return sorted({op.dialect for op in operations} - {OPERATIONS_DIALECT})


def build_document(
    operations: Sequence[Operation], schema: Schema, settings: Settings, dialect: str | None = None
) -> JSON:
    """The OpenAPI 3.1 document for the schema: every operation, or those of one dialect."""
    doc = Doc(schema, settings)
    paths: JSON = {}
    for op in operations:
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
    found: JSON = {str(op.status): answer(op.summary, op.media, op.response, doc)}
    for status in op.errors:
        if not (public and status == 401):
            found[str(status)] = {"$ref": f"#/components/responses/{op.error_body}{status}"}
    for status, shape in op.also:
        found[str(status)] = answer(ERROR_TEXT.get(status, op.summary), op.media, shape, doc)
    return found


def answer(description: str, media: str, shape: Shape | None, doc: Doc) -> JSON:
    body: JSON = {"description": description, "headers": HEADER_REFS}
    if shape is not None:
        body["content"] = {kind: {"schema": shape(doc)} for kind in media.split("|")}
    return body


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
    f"{kind}{status}": {
        "description": text,
        "headers": HEADER_REFS,
        "content": {"application/json": {"schema": ref(f"rb.{kind}")}},
    }
    for kind in ("Error", "PipelinerError")
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


SpecHandler = Callable[[Request, Services, Permissions | None], Awaitable[Response]]


def whole(described: Described) -> SpecHandler:
    async def openapi_document(request: Request, services: Services, caller: Permissions | None) -> Response:
        schema = visible_schema(await _current_schema(services), caller)
        return JSONResponse(build_document(described(), schema, services.settings))

    return openapi_document


def one_dialect(described: Described) -> SpecHandler:
    async def openapi_dialect(request: Request, services: Services, caller: Permissions | None) -> Response:
        dialect, known = request.path_params["dialect"], dialects(described())
        if dialect not in known:
            raise NotFound(f"No dialect '{dialect}'; there are: {', '.join(known)}.")
        schema = visible_schema(await _current_schema(services), caller)
        return JSONResponse(build_document(described(), schema, services.settings, dialect))

    return openapi_dialect


def spec_endpoint(handler: SpecHandler) -> Endpoint:
    """Token required unless the `openapi_public` setting says otherwise; with a token, the document
    shows only the entities and fields the caller may see."""

    async def with_actor(request: Request, actor: Actor, services: Services) -> Response:
        return await handler(request, services, actor.permissions)

    async def anonymous(request: Request, services: Services) -> Response:
        return await handler(request, services, None)

    with_actor.__name__ = anonymous.__name__ = handler.__name__
    public, protected = public_dataservice(anonymous), dataservice(with_actor)

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


def static_files() -> BaseRoute:
    """The docs page's scripts and styles (not an operation: not described)."""
    return Mount("/api/docs/static", app=StaticFiles(directory=swagger_ui_directory()), name="docs-static")
