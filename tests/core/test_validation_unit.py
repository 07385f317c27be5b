"""core/validation.py alone: every problem of a body collected, server-managed keys accepted only when
they repeat the stored value, and field texts that leave the field's name to the renderer."""

from __future__ import annotations

from decimal import Decimal

from recordbase.core.fields import KINDS
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


AMOUNTS = entity(
    "Amounts",
    *(
        KINDS[f.type].check_definition(f, Schema())
        for f in (
            field("count", FieldType.INTEGER, min_value=Decimal(-5), max_value=Decimal(1000)),
            field("price", FieldType.DECIMAL, decimal_places=2),
        )
    ),
)


def test_numbers_convert_alike_whatever_path_they_take() -> None:
    """An int in range skips the conversion to Decimal; every other value goes through it."""
    accepted = {
        ("count", 7): 7, ("count", -5): -5, ("count", "12"): 12, ("count", 8.0): 8, ("count", 1000): 1000,
        ("price", 79.19): Decimal("79.19"), ("price", 2): Decimal("2.00"), ("price", "3.1"): Decimal("3.10"),
        ("price", -0.5): Decimal("-0.50"), ("price", 99_999_999_999.99): Decimal("99999999999.99"),
    }  # fmt: skip
    for (name, sent), stored in accepted.items():
        checked = check_insert(AMOUNTS, {name: sent}, Schema(1, (AMOUNTS,)))
        assert checked.errors == [] and checked.values[name] == stored, (name, sent)
        assert type(checked.values[name]) is type(stored), (name, sent)


def test_numbers_refused_name_their_rule_even_beyond_what_a_decimal_context_holds() -> None:
    refused = {
        ("count", 1001): "OUT_OF_RANGE", ("count", -6): "OUT_OF_RANGE", ("count", True): "INVALID_TYPE",
        ("count", 7.5): "TOO_MANY_DECIMALS", ("count", 2**80): "OUT_OF_RANGE",
        ("price", 0.125): "TOO_MANY_DECIMALS", ("price", 0.1 + 0.2): "TOO_MANY_DECIMALS",
        ("price", 1e30): "OUT_OF_RANGE", ("price", "123456789012345678901234567.891"): "OUT_OF_RANGE",
        ("price", 10_000_000_000_000.5): "OUT_OF_RANGE", ("price", "1e3"): "INVALID_TYPE",
    }  # fmt: skip
    for (name, sent), code in refused.items():
        checked = check_insert(AMOUNTS, {name: sent}, Schema(1, (AMOUNTS,)))
        assert codes(checked.errors) == [(name, code)], (name, sent)
