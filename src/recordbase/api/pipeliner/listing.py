"""Pipeliner list: `GET /api/v100/rest/spaces/{space}/entities/{Entity}`
(docs/compat-pipeliner.md#envelope-and-paging, #list-parameters).

    {"success": true, "total": 107, "data": [...],
     "page_info": {"start_cursor": "…", "end_cursor": "…", "has_next_page": true, "has_previous_page": false}}

The parameters are parsed by core/query/pipeliner.py; this handler only maps Pipeliner's names
onto the core's (`id`, `created`, `modified`, `revision`; `owner_id` and `owner` for a
relationship `owner`) and renders with the dialect's own helpers (api/pipeliner/wire.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from recordbase.api.http import JSONResponse
from recordbase.api.pipeliner.params import LIST, LIST_PREFIXES, refuse_unknown
from recordbase.api.pipeliner.records import EXPANDED
from recordbase.api.pipeliner.wire import entity_candidates, expansions, relation_key, render, wire_name
from recordbase.core.actors import Actor
from recordbase.core.query.pipeliner import parse_list
from recordbase.core.query.service import QueryPage, QueryRequest
from recordbase.core.schema import Entity, Field, FieldType, Schema
from recordbase.services import Services

SYSTEM_NAMES = {"id": "Id", "created": "CreateTime", "modified": "UpdateTime", "revision": "Revision"}
"""Pipeliner's names for the system fields; they win over a user field of the same name."""
DEEPEST = 3
"""Dot paths in filters and sorts may go as deep as the deepest expansion level."""


async def list_records(request: Request, actor: Actor, services: Services) -> Response:
    refuse_unknown(request, LIST, LIST_PREFIXES)
    schema, entity = await services.records.entity(*entity_candidates(request.path_params["entity_name"]))
    params = request.query_params
    expand = expansions(entity, params.get("expand"))
    listed = parse_list(
        params.multi_items(), entity, schema, translator(entity, schema), services.query.limits
    )
    window = QueryRequest(
        listed.query,
        level=EXPANDED if expand else 0,
        after=listed.after,
        before=listed.before,
        from_end=listed.from_end,
        last=listed.last,
        path_depth=DEEPEST,
        reveal=listed.load_paths,
    )
    page = await services.query.run(entity.id, window, actor)
    data = [render(page.entity, record, expand, actor.permissions) for record in page.records]
    if listed.load_only is not None:
        data = [project(item, listed.load_only) for item in data]
    return JSONResponse({"success": True, "total": page.total, "page_info": page_info(page), "data": data})


def page_info(page: QueryPage) -> dict[str, Any]:
    return {
        "start_cursor": page.start_cursor,
        "end_cursor": page.end_cursor,
        "has_next_page": page.has_next,
        "has_previous_page": page.has_previous,
    }


def translator(entity: Entity, schema: Schema) -> Callable[[str], tuple[str, ...]]:
    """Wire path -> core path: `owner.name` -> ("owner", "name"), `created` -> ("CreateTime",).

    A name that matches nothing is passed on as written, for the planner to report.
    """

    def translate(path: str) -> tuple[str, ...]:
        out: list[str] = []
        current: Entity | None = entity
        for part in path.split("."):
            found = None if current is None else _field(current, part)
            out.append(SYSTEM_NAMES.get(part) or (found.name if found else part))
            target = found.reference_entity if found and found.type is FieldType.RELATIONSHIP else None
            current = schema.find_entity(target) if target else None
        return tuple(out)

    return translate


def _field(entity: Entity, name: str) -> Field | None:
    """The field a wire name means: its own name, `<relation>_id`, or the relation's key."""
    return entity.field(name) or next(
        (f for f in entity.fields if name in (wire_name(f), relation_key(f))), None
    )


def project(item: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """`load-only`: the listed keys (and `id`); `owner.name` keeps `name` inside an expanded `owner`."""
    nested: dict[str, list[str]] = {}
    for name in names:
        head, _, rest = name.partition(".")
        nested.setdefault(head, [])
        if rest:
            nested[head].append(rest)
    out: dict[str, Any] = {"id": item["id"]}
    for head, rests in nested.items():
        for key in (head, f"{head}_id"):
            if key in item:
                value = item[key]
                out[key] = project(value, tuple(rests)) if rests and isinstance(value, Mapping) else value
    return out
