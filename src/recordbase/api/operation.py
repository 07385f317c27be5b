"""What one route is declared as: an `Operation` (method, path, handler and its description) and the
`Group` of operations served under one mount. api/routes.py is the table of them.

Shapes (`Shape`) are JSON Schemas built for one description and, for per-entity operations, one
entity; the helpers below name the common ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from recordbase.api.endpoint import Endpoint
from recordbase.api.openapi_shapes import (
    EXPANSION_LEVEL,
    JSON,
    UUID,
    insert_name,
    page_name,
    ref,
    update_name,
)
from recordbase.core.schema import Entity, Schema
from recordbase.settings import Settings

DATASERVICE = "dataservice"
PIPELINER = "pipeliner"
OPERATIONS_DIALECT = "operations"
ENTITY = "{Entity}"
"""In a described path, operation id or tag: each entity's name (the operation is described per entity)."""


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


def never(settings: Settings) -> bool:
    return False


def always(settings: Settings) -> bool:
    return True


def openapi_public(settings: Settings) -> bool:
    return settings.openapi_public


@dataclass(frozen=True)
class Operation:
    """One route: served as `method path` by `endpoint`, described by the rest.

    `path` is relative to the operation's `Group` mount. `described_names` renames path parameters in
    the description (`("entity_name", "Entity")` describes the route once per entity, with `{Entity}`
    in `operation_id` and `tag` replaced by the entity's name). `also`: more answers (status, body)
    beside `status`; `errors` answer `error_body` (`Error`: the `{error, code, traceId}` envelope;
    `PipelinerError`: Pipeliner's error object).
    """

    method: str
    path: str
    endpoint: Endpoint
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
    public: Callable[[Settings], bool] = never
    described_names: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not (self.summary and self.operation_id and self.tag):
            raise ValueError(f"{self.method} {self.path}: a route needs an operation id, summary and tag")

    def described_path(self, prefix: str) -> str:
        path = prefix + self.path
        for served, described in self.described_names:
            path = path.replace(f"{{{served}}}", f"{{{described}}}")
        return path


@dataclass(frozen=True)
class Group:
    """Operations served under each of `mounts` (one Starlette `Mount` each, sharing one route list;
    none: at the top level) and described under `described` (the first mount unless given)."""

    operations: tuple[Operation, ...]
    mounts: tuple[str, ...] = ()
    described: str | None = None

    @property
    def prefix(self) -> str:
        if self.described is not None:
            return self.described
        return self.mounts[0] if self.mounts else ""


# Shapes ----------------------------------------------------------------------------------------


def component(name: str) -> Shape:
    return lambda doc: ref(name)


def array_of(name: str) -> Shape:
    return lambda doc: {"type": "array", "items": ref(name)}


def fixed(schema: JSON) -> Shape:
    return lambda doc: schema


def per_entity(name: Callable[[Entity], str]) -> Shape:
    return lambda doc: ref(name(doc.this))


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
ANY = fixed({})
OBJECT = fixed({"type": "object"})
FLAG = fixed({"type": "boolean", "default": False})
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
FAIL_ON_FIRST = Param("failOnFirst", "query", FLAG, "Stop at the first failing record.")
ATOMIC = Param("atomic", "query", FLAG, "All or nothing (recordbase's extension).")

PATH_PARAMETERS: dict[str, tuple[JSON, str]] = {
    "record_id": (UUID, "The record's Id."),
    "entity": ({"type": "string"}, "The entity's id or name."),
    "entity_id": ({"type": "string"}, "The entity's id (its name is accepted too)."),
    "entity_name": ({"type": "string"}, "The entity's name (its id is accepted too)."),
    "field_name": ({"type": "string"}, "The name of a file field (case-sensitive)."),
    "choice_set": ({"type": "string"}, "The choice set's id or name."),
    "dialect": ({"type": "string"}, "A wire dialect: `dataservice` or `pipeliner`."),
    "space": ({"type": "string"}, "A Pipeliner space id (any names this server's one space)."),
    "id": ({"type": "string"}, "The record's id."),
    "org": ({"type": "string"}, "An organization name (any)."),
    "error_id": ({"type": "string"}, "The id in an import's errorFileLink."),
    "webhook_id": ({"type": "string"}, "A webhook subscription's id."),
    "delivery_id": ({"type": "string"}, "One delivery's id, from the subscription's delivery log."),
    "token_id": ({"type": "string"}, "A personal access token's id (from GET /api/admin/tokens)."),
}
"""Path parameters by name; a route whose parameter is not here is described as a plain string."""

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
