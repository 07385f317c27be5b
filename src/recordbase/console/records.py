"""The records of one entity: grid (cursor pages, sort, filters, columns), detail, forms, batch delete."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.datastructures import FormData, QueryParams
from starlette.responses import JSONResponse, Response

from recordbase.console.fields import Column, columns, form_value, wire_value
from recordbase.console.web import ApiError, Console, page, see_other
from recordbase.core.permissions import Action
from recordbase.core.schema import Entity, FieldType, Schema

PAGE_SIZE = 25
FILTER_ROWS = 3
NULL_CHECKS = frozenset({"=", "!="})


def records_api(name: str, tail: str = "") -> str:
    return f"/api/EntityService/{quote(name)}{tail}"


async def entity_columns(console: Console) -> tuple[dict[str, Any], list[Column]]:
    """The entity and the columns of the fields whose values the caller may read.

    View All Schema lists every field definition; a field whose values the caller may not read
    would only be an empty column and a filter the API refuses, so it is left out.
    """
    name = console.request.path_params["name"]
    entity: dict[str, Any] = await console.api.json("GET", f"/api/Entity/{quote(name)}/metadata")
    core = _core_entity(console, entity["name"])
    readable = console.actor.permissions.readable_fields(core) if core else frozenset()
    found = await columns(console.api, entity)
    return entity, [c for c in found if c.system or c.name in readable]


def _core_entity(console: Console, name: str) -> Entity | None:
    schema: Schema = console.request.app.state.services.schemas.current
    return schema.find_entity(name)


def allowed(console: Console, name: str) -> set[str]:
    """The record actions the caller's roles grant on the entity: which buttons to show."""
    entity = _core_entity(console, name)
    if entity is None:
        return set()
    rules = console.actor.permissions
    return {action.value for action in Action if rules.row_rule(entity, action) is not None}


def query_body(params: QueryParams, by_name: dict[str, Column]) -> dict[str, Any]:
    """The grid's query string as a UiPath query body (the API checks operators and values)."""
    filters = [
        _filter(field, op, value)
        for field, op, value in zip(
            params.getlist("f"), params.getlist("op"), params.getlist("v"), strict=False
        )
        if field in by_name
    ]
    body: dict[str, Any] = {"limit": PAGE_SIZE}
    if filters:
        body["filterGroup"] = {"logicalOperator": 0, "queryFilters": filters}
    if params.get("sort") in by_name:
        body["sortOptions"] = [{"fieldName": params["sort"], "isDescending": params.get("desc") == "1"}]
    selected = [c for c in params.getlist("cols") if c in by_name]
    if selected:
        body["selectedFields"] = selected
    if params.get("cursor"):
        body["cursor"] = params["cursor"]
    return body


def _filter(field: str, op: str, value: str) -> dict[str, Any]:
    if op in ("in", "not in"):
        return {"fieldName": field, "operator": op, "valueList": [v.strip() for v in value.split(",")]}
    if value == "" and op in NULL_CHECKS:
        return {"fieldName": field, "operator": op}
    return {"fieldName": field, "operator": op, "value": value}


@page
async def grid(console: Console) -> Response:
    entity, cols = await entity_columns(console)
    params = console.request.query_params
    by_name = {c.name: c for c in cols}
    error: ApiError | None = None
    result: dict[str, Any] = {"value": [], "totalRecordCount": 0}
    try:
        result = await console.api.json(
            "POST", records_api(entity["name"], "/query"), params={"expansionLevel": 1},
            json=query_body(params, by_name),
        )  # fmt: skip
    except ApiError as caught:
        error = caught
    shown = [by_name[c] for c in params.getlist("cols") if c in by_name] or [c for c in cols if not c.system]
    return console.render(
        "records.html",
        400 if error else 200,
        entity=entity,
        columns=cols,
        shown=shown,
        rows=result["value"],
        total=result.get("totalRecordCount", 0),
        next_url=_next_url(params, result.get("nextCursor")),
        first_url="?" + urlencode([(k, v) for k, v in params.multi_items() if k != "cursor"]),
        filters=_filter_rows(params),
        params=params,
        sort_url=lambda name: _sort_url(params, name),
        allowed=allowed(console, entity["name"]),
        error=error,
    )


def _filter_rows(params: QueryParams) -> list[tuple[str, str, str]]:
    rows = list(zip(params.getlist("f"), params.getlist("op"), params.getlist("v"), strict=False))
    return (rows + [("", "=", "")] * FILTER_ROWS)[: max(FILTER_ROWS, len(rows))]


def _next_url(params: QueryParams, cursor: str | None) -> str | None:
    if not cursor:
        return None
    kept = [(k, v) for k, v in params.multi_items() if k != "cursor"]
    return "?" + urlencode([*kept, ("cursor", cursor)])


def _sort_url(params: QueryParams, name: str) -> str:
    descending = params.get("sort") == name and params.get("desc") != "1"
    kept = [(k, v) for k, v in params.multi_items() if k not in ("cursor", "sort", "desc")]
    return "?" + urlencode([*kept, ("sort", name), ("desc", "1" if descending else "0")])


async def _record(console: Console, name: str) -> dict[str, Any]:
    record_id = console.request.path_params["record_id"]
    record: dict[str, Any] = await console.api.json(
        "GET", records_api(name, f"/read/{quote(record_id)}"), params={"expansionLevel": 1}
    )
    return record


@page
async def detail(console: Console) -> Response:
    entity, cols = await entity_columns(console)
    record = await _record(console, entity["name"])
    return console.render(
        "record.html", entity=entity, columns=cols, record=record, allowed=allowed(console, entity["name"])
    )


async def _form_page(
    console: Console, record: dict[str, Any] | None, status: int = 200, error: ApiError | None = None
) -> Response:
    entity, cols = await entity_columns(console)
    values = {c.name: form_value(c, (record or {}).get(c.name)) for c in cols}
    return console.render(
        "record_form.html",
        status,
        entity=entity,
        columns=writable(console, entity["name"], cols),
        record=record,
        values=values,
        error=error,
        field_errors={e.get("field"): e.get("message") for e in (error.field_errors if error else [])},
    )


@page
async def new_record(console: Console) -> Response:
    return await _form_page(console, None)


@page
async def edit_record(console: Console) -> Response:
    return await _form_page(console, await _record(console, console.request.path_params["name"]))


@page
async def save_record(console: Console) -> Response:
    """POST the create or edit form: one insert or update, the API's messages shown beside the fields."""
    entity, cols = await entity_columns(console)
    async with console.request.form(max_files=0, max_fields=500) as form:
        body = record_body(form, writable(console, entity["name"], cols))
    record_id = console.request.path_params.get("record_id")
    tail = f"/update/{quote(record_id)}" if record_id else "/insert"
    try:
        saved = await console.api.json("POST", records_api(entity["name"], tail), json=body)
    except ApiError as error:
        typed = {"Id": record_id, **body} if record_id else body
        return await _form_page(console, typed, error.status, error)
    return see_other(f"/console/data/{quote(entity['name'])}/r/{saved['Id']}")


def writable(console: Console, name: str, cols: list[Column]) -> list[Column]:
    """The form's fields: those the caller may write (a field it may only read is left untouched)."""
    core = _core_entity(console, name)
    rules = console.actor.permissions
    return [c for c in cols if c.writable and core is not None and rules.can_write_field(core, c.name)]


def record_body(form: FormData, writable: list[Column]) -> dict[str, Any]:
    return {c.name: wire_value(c, [str(v) for v in form.getlist(c.name)]) for c in writable}


@page
async def delete_record(console: Console) -> Response:
    name, record_id = console.request.path_params["name"], console.request.path_params["record_id"]
    await console.api.json("DELETE", records_api(name, f"/delete/{quote(record_id)}"))
    return see_other(f"/console/data/{quote(name)}")


@page
async def delete_selected(console: Console) -> Response:
    """Batch delete of the rows ticked in the grid (one delete-batch call)."""
    name = console.request.path_params["name"]
    async with console.request.form(max_files=0, max_fields=PAGE_SIZE + 5) as form:
        ids = [str(v) for v in form.getlist("id")]
    if ids:
        await console.api.json("POST", records_api(name, "/delete-batch"), json=ids)
    return see_other(f"/console/data/{quote(name)}")


@page
async def search(console: Console) -> Response:
    """Records of an entity whose first text field starts with `q`: the relationship picker's options."""
    entity, cols = await entity_columns(console)
    text = next((c for c in cols if c.kind is FieldType.TEXT), None)
    query: dict[str, Any] = {"limit": 10}
    q = console.request.query_params.get("q", "")
    if text is not None and q:
        query["filterGroup"] = {
            "queryFilters": [{"fieldName": text.name, "operator": "contains", "value": q}]
        }
    found = await console.api.json("POST", records_api(entity["name"], "/query"), json=query)
    label = text.name if text else "Id"
    return JSONResponse([{"id": r["Id"], "label": str(r.get(label) or r["Id"])} for r in found["value"]])
