"""Field types as the console shows them: form inputs, values between the form and the wire, operators.

The wire names and the operator matrix come from the modules the API itself uses, so the
console offers exactly the types and operators the API accepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from recordbase.api.dataservice.schema_wire import BY_DISPLAY_TYPE, BY_SQL_TYPE, WIRE_TYPES
from recordbase.console.web import Api
from recordbase.core.query.ast import UIPATH_OPERATORS
from recordbase.core.query.matrix import ALLOWED, sortable
from recordbase.core.schema import FieldType

LABELS = {
    FieldType.TEXT: "Text",
    FieldType.MULTILINE_TEXT: "Multi-line text",
    FieldType.INTEGER: "Number (integer)",
    FieldType.DECIMAL: "Decimal",
    FieldType.BOOLEAN: "Yes/No",
    FieldType.DATE: "Date",
    FieldType.DATETIME: "Date-time",
    FieldType.CHOICE_SET: "Choice set",
    FieldType.MULTI_CHOICE_SET: "Multi-choice set",
    FieldType.RELATIONSHIP: "Relationship",
    FieldType.FILE: "File",
    FieldType.AUTO_NUMBER: "Auto-number",
    FieldType.UUID: "Unique ID",
}
FIELD_TYPES = [(kind.value, label) for kind, label in LABELS.items()]
WIRE = {kind.value: WIRE_TYPES[kind] for kind in FieldType}
SYSTEM_TYPES = {"Id": FieldType.UUID, "CreatedBy": FieldType.UUID, "UpdatedBy": FieldType.UUID}
NOT_WRITTEN = frozenset({FieldType.AUTO_NUMBER, FieldType.FILE})


@dataclass(frozen=True)
class Column:
    """One field of an entity as the grid and the forms use it."""

    name: str
    label: str
    kind: FieldType
    system: bool
    required: bool
    choices: tuple[dict[str, Any], ...] = ()
    references: str = ""

    @property
    def operators(self) -> list[str]:
        allowed = ALLOWED[self.kind]
        return [op.value for op in UIPATH_OPERATORS if op in allowed] or ["=", "!="]

    @property
    def sortable(self) -> bool:
        return sortable(self.kind)

    @property
    def writable(self) -> bool:
        return not self.system and self.kind not in NOT_WRITTEN

    def label_of(self, number_id: Any) -> str:
        for choice in self.choices:
            if choice["NumberId"] == number_id:
                return str(choice.get("DisplayName") or choice["Name"])
        return "" if number_id is None else str(number_id)


def kind_of(field: dict[str, Any]) -> FieldType:
    if field.get("isSystemField"):
        return SYSTEM_TYPES.get(field["name"], FieldType.DATETIME)
    display = str(field.get("fieldDisplayType") or "").lower()
    if display in BY_DISPLAY_TYPE:
        return BY_DISPLAY_TYPE[display]
    return BY_SQL_TYPE.get(str(field.get("sqlType", {}).get("name", "")).upper(), FieldType.TEXT)


async def choice_values(api: Api, choice_set_id: str) -> list[dict[str, Any]]:
    answer = await api.json("POST", f"/api/EntityService/entity/{choice_set_id}/query_expansion", json={})
    values: list[dict[str, Any]] = json.loads(answer["jsonValue"])
    return values


async def columns(api: Api, entity: dict[str, Any]) -> list[Column]:
    """The entity's fields (those the caller may read), with choice-set values looked up once each."""
    found: list[Column] = []
    cache: dict[str, tuple[dict[str, Any], ...]] = {}
    for field in entity["fields"]:
        kind = kind_of(field)
        choices: tuple[dict[str, Any], ...] = ()
        if field.get("choiceSetId"):
            set_id = str(field["choiceSetId"])
            if set_id not in cache:
                cache[set_id] = tuple(await choice_values(api, set_id))
            choices = cache[set_id]
        found.append(_column(field, kind, choices))
    return found


def _column(field: dict[str, Any], kind: FieldType, choices: tuple[dict[str, Any], ...]) -> Column:
    return Column(
        name=field["name"],
        label=field.get("displayName") or field["name"],
        kind=kind,
        system=bool(field.get("isSystemField")),
        required=bool(field.get("isRequired")),
        choices=choices,
        references=str(field.get("referenceName") or ""),
    )


def form_value(column: Column, value: Any) -> Any:
    """A wire value as the form input shows it."""
    if value is None:
        return ""
    if column.kind is FieldType.RELATIONSHIP and isinstance(value, dict):
        return value.get("Id", "")
    if column.kind is FieldType.DATETIME and isinstance(value, str):
        return value[:23]  # datetime-local to the millisecond (step 0.001), in UTC: an edit loses nothing
    return value


def wire_value(column: Column, values: list[str]) -> Any:
    """The form's text (a list for a multi-choice set) as the API's wire value; empty is null."""
    text = values[0].strip() if values else ""
    if column.kind is FieldType.MULTI_CHOICE_SET:
        return [int(v) for v in values if v.strip()] or None
    if column.kind is FieldType.BOOLEAN:
        return None if text == "" else text == "true"
    if not text:
        return None
    if column.kind in (FieldType.INTEGER, FieldType.CHOICE_SET):
        return int(text) if text.lstrip("-").isdigit() else text
    if column.kind is FieldType.DECIMAL:
        return _decimal(text)
    if column.kind is FieldType.DATETIME:
        return _utc(text)
    return text


def _utc(text: str) -> str:
    """datetime-local gives `YYYY-MM-DDTHH:MM` without an offset: the console shows and sends UTC."""
    if text.endswith("Z") or "+" in text[10:]:
        return text
    return (f"{text}:00" if len(text) == 16 else text) + "Z"


def _decimal(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text  # the API names what is wrong with it
