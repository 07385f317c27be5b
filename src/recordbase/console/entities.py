"""Entities: list, create, edit (fields, choice sets, relationships, flags), delete, via the schema API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.responses import Response

from recordbase.console.fields import FIELD_TYPES, LABELS, WIRE, choice_values, kind_of
from recordbase.console.web import ApiError, Console, page, see_other

ENTITY_API = "/api/Entity"


async def _lists(console: Console) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    entities = await console.api.json("GET", ENTITY_API)
    choice_sets = await console.api.json("GET", f"{ENTITY_API}/choiceset")
    return entities, choice_sets


async def _list_page(console: Console, status: int = 200, **values: Any) -> Response:
    entities, choice_sets = await _lists(console)
    for choice_set in choice_sets:
        choice_set["values"] = await choice_values(console.api, choice_set["id"])
    return console.render("entities.html", status, entities=entities, choice_sets=choice_sets, **values)


@page
async def list_entities(console: Console) -> Response:
    return await _list_page(console)


@page
async def create_entity(console: Console) -> Response:
    form = await _form(console)
    name = str(form.get("name", "")).strip()
    definition = {"name": name, "fields": [], "isRbacEnabled": form.get("isRbacEnabled") == "on"}
    body = {"displayName": str(form.get("displayName") or name), "entityDefinition": definition}
    try:
        await console.api.json("POST", ENTITY_API, json=body)
    except ApiError as error:
        return await _list_page(console, error.status, error=error)
    return see_other(f"/console/entities/{quote(name)}")


@page
async def create_choice_set(console: Console) -> Response:
    form = await _form(console)
    values = [line.strip() for line in str(form.get("values", "")).splitlines() if line.strip()]
    body = {"name": str(form.get("name", "")).strip(), "values": values}
    try:
        await console.api.json("POST", f"{ENTITY_API}/choiceset", json=body)
    except ApiError as error:
        return await _list_page(console, error.status, error=error)
    return see_other("/console/entities")


async def _entity(console: Console) -> dict[str, Any]:
    name = console.request.path_params["name"]
    entity: dict[str, Any] = await console.api.json("GET", f"{ENTITY_API}/{quote(name)}/metadata")
    return entity


async def _edit_page(console: Console, status: int = 200, **values: Any) -> Response:
    entity = await _entity(console)
    entities, choice_sets = await _lists(console)
    return console.render(
        "entity.html",
        status,
        entity=entity,
        fields=[f for f in entity["fields"] if not f.get("isSystemField")],
        entities=entities,
        choice_sets=choice_sets,
        field_types=FIELD_TYPES,
        type_label=lambda field: LABELS[kind_of(field)],
        **values,
    )


@page
async def edit_entity(console: Console) -> Response:
    return await _edit_page(console)


async def _patch(console: Console, body: dict[str, Any], path_tail: str = "") -> Response:
    entity = await _entity(console)
    try:
        await console.api.json("PATCH", f"{ENTITY_API}/{entity['id']}{path_tail}", json=body)
    except ApiError as error:
        return await _edit_page(console, error.status, error=error)
    return see_other(f"/console/entities/{quote(entity['name'])}")


@page
async def add_field(console: Console) -> Response:
    form = await _form(console)
    try:
        body = field_body(form)
    except ValueError as error:
        return await _edit_page(console, 400, error=ApiError(400, str(error), []))
    return await _patch(console, {"addFields": [body]})


@page
async def remove_field(console: Console) -> Response:
    return await _patch(console, {"removeFields": [{"name": console.request.path_params["field"]}]})


@page
async def update_metadata(console: Console) -> Response:
    form = await _form(console)
    body = {
        "displayName": str(form.get("displayName", "")),
        "description": str(form.get("description", "")),
        "isRbacEnabled": form.get("isRbacEnabled") == "on",
    }
    return await _patch(console, body, "/metadata")


@page
async def delete_entity(console: Console) -> Response:
    entity = await _entity(console)
    try:
        await console.api.json("DELETE", f"{ENTITY_API}/{entity['id']}")
    except ApiError as error:
        return await _edit_page(console, error.status, error=error)
    return see_other("/console/entities")


async def _form(console: Console) -> FormData:
    async with console.request.form(max_files=0, max_fields=50) as form:
        return form


def field_body(form: FormData) -> dict[str, Any]:
    """A field definition in UiPath's shape from the add-field form; the API validates the rest."""
    kind = str(form.get("type", ""))
    if kind not in WIRE:
        raise ValueError(f"Unknown field type {kind!r}.")
    sql_name, display = WIRE[kind]
    name = str(form.get("name", "")).strip()
    sql_type: dict[str, Any] = {"name": sql_name}
    for key, wire in (("maxLength", "lengthLimit"), ("min", "minValue"), ("max", "maxValue")):
        sql_type[wire] = _number(form, key)
    sql_type["decimalPrecision"] = _number(form, "decimalPlaces")
    body: dict[str, Any] = {
        "name": name,
        "displayName": str(form.get("displayName") or name),
        "sqlType": {k: v for k, v in sql_type.items() if v is not None},
        "fieldDisplayType": display,
        "isRequired": form.get("isRequired") == "on",
        "isUnique": form.get("isUnique") == "on",
        "isRbacEnabled": form.get("isRbacEnabled") == "on",
    }
    if form.get("defaultValue"):
        body["defaultValue"] = str(form.get("defaultValue"))
    if kind in ("choice_set", "multi_choice_set"):
        body["choiceSetId"] = str(form.get("choiceSetId", ""))
    if kind == "relationship":
        body["referenceEntityName"] = str(form.get("references", ""))
    return body


def _number(form: FormData, key: str) -> int | float | None:
    text = str(form.get(key, "")).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{key} must be a number.") from None
