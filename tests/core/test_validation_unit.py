"""core/validation.py alone: every problem of a body collected, server-managed keys accepted only when
they repeat the stored value, and field texts that leave the field's name to the renderer."""

from __future__ import annotations

from decimal import Decimal

from recordbase.core.schema import FieldType, Schema
from recordbase.core.validation import check_insert, check_update
from tests.core.fakes import entity, field

PERSON = entity(
    "Person",
    field("name", required=True, max_length=5),
    field("age", FieldType.INTEGER, min_value=Decimal(0), max_value=Decimal(150)),
    field("nickname", default="none"),
)
SCHEMA = Schema(1, (PERSON,))


def codes(problems: list[object]) -> list[tuple[str, str]]:
    return sorted((p.field, p.code) for p in problems)  # type: ignore[attr-defined]


def test_insert_collects_every_problem_at_once() -> None:
    checked = check_insert(PERSON, {"name": "toolong", "age": 200, "color": "red"}, SCHEMA)
    assert codes(checked.errors) == [
        ("age", "OUT_OF_RANGE"),
        ("color", "UNKNOWN_FIELD"),
        ("name", "TOO_LONG"),
    ]


def test_insert_applies_defaults_and_requires_required_fields() -> None:
    checked = check_insert(PERSON, {"age": 3}, SCHEMA)
    assert checked.values["nickname"] == "none" and checked.values["age"] == 3
    (missing,) = checked.errors
    assert (missing.field, missing.code) == ("name", "REQUIRED")
    assert (
        missing.message == "Field 'name' is required."
        and missing.named("NAME") == "Field 'NAME' is required."
    )


def test_a_body_that_is_not_an_object_is_one_problem() -> None:
    checked = check_insert(PERSON, ["name"], SCHEMA)
    assert codes(checked.errors) == [("", "INVALID_TYPE")] and checked.values == {}


def test_update_keeps_absent_keys_and_clears_with_null() -> None:
    checked = check_update(PERSON, {"age": None}, SCHEMA, lambda: {})
    assert checked.values == {"age": None} and checked.errors == []
    refused = check_update(PERSON, {"name": None}, SCHEMA, lambda: {})
    assert codes(refused.errors) == [("name", "REQUIRED")]


def test_server_managed_keys_are_ignored_but_an_update_may_not_change_its_id() -> None:
    stored = {"Id": "a", "CreatedBy": "u-1", "UpdateTime": "2024-01-01T00:00:00Z"}
    reads: list[int] = []

    def current() -> dict[str, str]:
        reads.append(1)
        return stored

    echoed = check_update(PERSON, {"Id": "a", "CreatedBy": "u-9", "age": 4}, SCHEMA, current)
    assert echoed.errors == [] and echoed.values == {"age": 4}
    moved = check_update(PERSON, {"Id": "b"}, SCHEMA, current)
    assert codes(moved.errors) == [("Id", "READ_ONLY")]
    assert moved.errors[0].named("id") == "Field 'id' names the record and cannot be changed."
    assert check_update(PERSON, {"age": 5}, SCHEMA, current).errors == [] and len(reads) == 2
    assert check_insert(PERSON, {"name": "Ann", "Id": None, "CreateTime": "x"}, SCHEMA).errors == []
