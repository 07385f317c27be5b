"""Turn a filter value from the wire into the core value of its field (UiPath sends every value as text).

Query values are coerced more loosely than record values: a filter may compare with a number
that has more decimal places than the field stores, or a text longer than its limit; it simply
matches nothing. What is refused is a value that cannot mean anything for the type, and
numbers beyond 15 significant digits, the precision both backends compare exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from recordbase.core.fields.base import FieldValueError
from recordbase.core.fields.choice import ChoiceKind, MultiChoiceKind
from recordbase.core.fields.number import MAX_DIGITS, MAX_SAFE
from recordbase.core.fields.relationship import parse_uuid
from recordbase.core.fields.temporal import DATE_FORMAT, DateKind, DateTimeKind
from recordbase.core.query.ast import CASE_INSENSITIVE, Operator, WireValue, fold_case
from recordbase.core.schema import Field, FieldType, Schema

NUMERAL = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
WHOLE = re.compile(r"^[+-]?[0-9]+$")
BOOLEANS = {"true": True, "false": False}


def invalid(field: Field, operator: Operator, expected: str, value: object) -> FieldValueError:
    return FieldValueError(
        "INVALID_VALUE", f"Field '{field.name}' with operator '{operator}' expects {expected}, not {value!r}."
    )


def coerce(field: Field, operator: Operator, value: WireValue, schema: Schema) -> Any:
    """The core value `value` stands for when compared with `field` by `operator`."""
    coercer = COERCERS[field.type]
    return coercer(field, operator, value, schema)


def _text(field: Field, operator: Operator, value: WireValue, schema: Schema) -> str:
    """Text as given; folded once here for the case-insensitive operators (the column is folded in SQL)."""
    if not isinstance(value, str):
        raise invalid(field, operator, "text (quote it)", value)
    if "\x00" in value:
        raise invalid(field, operator, "text without the NUL character", value)
    return fold_case(value) if operator in CASE_INSENSITIVE else value


def _decimal(field: Field, operator: Operator, value: WireValue) -> Decimal:
    if isinstance(value, str) and NUMERAL.match(value.strip()):
        value = Decimal(value.strip())
    if not isinstance(value, Decimal) or not value.is_finite():
        raise invalid(field, operator, 'a number such as "42" or "9.5"', value)
    if abs(value) > MAX_SAFE or len(value.normalize().as_tuple().digits) > MAX_DIGITS:
        raise invalid(
            field, operator, f"a number within ±{MAX_SAFE} and {MAX_DIGITS} significant digits", value
        )
    return value


def _number(field: Field, operator: Operator, value: WireValue, schema: Schema) -> Decimal | int:
    number = _decimal(field, operator, value)
    if field.type is FieldType.DECIMAL:
        return number
    if number != number.to_integral_value():
        raise invalid(field, operator, "a whole number", value)
    return int(number)


def _boolean(field: Field, operator: Operator, value: WireValue, schema: Schema) -> bool:
    if isinstance(value, bool):
        return value
    found = BOOLEANS.get(value.strip().lower()) if isinstance(value, str) else None
    if found is None:
        raise invalid(field, operator, '"true" or "false"', value)
    return found


def _date(field: Field, operator: Operator, value: WireValue, schema: Schema) -> Any:
    if not isinstance(value, str):
        raise invalid(field, operator, "a date as YYYY-MM-DD", value)
    return _rephrased(field, operator, lambda: DateKind().coerce(field, value, schema))


def _datetime(field: Field, operator: Operator, value: WireValue, schema: Schema) -> Any:
    """A date-time; offsets are converted to UTC, a bare date means its midnight UTC."""
    if isinstance(value, str) and DATE_FORMAT.match(value):
        day = _date(field, operator, value, schema)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    if not isinstance(value, str):
        raise invalid(field, operator, "an ISO-8601 date-time such as 2024-05-01T12:30:00Z", value)
    return _rephrased(field, operator, lambda: DateTimeKind().coerce(field, value, schema))


def _choice(field: Field, operator: Operator, value: WireValue, schema: Schema) -> int:
    """A choice NumberId ("1"), or a value's name or display name ("Open", any letter case)."""
    if isinstance(value, str) and WHOLE.match(value.strip()):
        value = Decimal(value.strip())
    elif isinstance(value, str):
        return int(_rephrased(field, operator, lambda: ChoiceKind().coerce(field, value, schema)))
    if isinstance(value, bool) or not isinstance(value, Decimal) or value != value.to_integral_value():
        raise invalid(field, operator, 'a choice NumberId such as "1" or a value\'s name', value)
    number = int(value)
    return int(_rephrased(field, operator, lambda: ChoiceKind().coerce(field, number, schema)))


def _multi_choice(field: Field, operator: Operator, value: WireValue, schema: Schema) -> Any:
    """`=`/`!=` take a whole set as "[1,3]"; `contains`/`not contains` one bare NumberId "3"."""
    bracketed = isinstance(value, str) and value.strip().startswith("[")
    if operator in (Operator.EQ, Operator.NE):
        if not bracketed:
            raise invalid(field, operator, 'a set of NumberIds such as "[1,3]"', value)
        return _rephrased(field, operator, lambda: MultiChoiceKind().coerce(field, value, schema))
    if bracketed:
        raise invalid(field, operator, "one NumberId such as \"3\" (use '=' to compare whole sets)", value)
    return _choice(field, operator, value, schema)


def _uuid(field: Field, operator: Operator, value: WireValue, schema: Schema) -> str:
    if not isinstance(value, str):
        raise invalid(field, operator, "a record Id (UUID)", value)
    return str(_rephrased(field, operator, lambda: parse_uuid(field, value.strip())))


def _file(field: Field, operator: Operator, value: WireValue, schema: Schema) -> Any:
    raise invalid(field, operator, "no value (file fields only answer '=' / '!=' without a value)", value)


def _rephrased(field: Field, operator: Operator, convert: Callable[[], Any]) -> Any:
    """Run a record-value coercion, naming the operator in its error too."""
    try:
        return convert()
    except FieldValueError as error:
        raise FieldValueError(error.code, f"{error.message} (operator '{operator}')") from None


Coercer = Callable[[Field, Operator, WireValue, Schema], Any]
COERCERS: dict[FieldType, Coercer] = {
    FieldType.TEXT: _text,
    FieldType.MULTILINE_TEXT: _text,
    FieldType.INTEGER: _number,
    FieldType.DECIMAL: _number,
    FieldType.AUTO_NUMBER: _number,
    FieldType.BOOLEAN: _boolean,
    FieldType.DATE: _date,
    FieldType.DATETIME: _datetime,
    FieldType.CHOICE_SET: _choice,
    FieldType.MULTI_CHOICE_SET: _multi_choice,
    FieldType.RELATIONSHIP: _uuid,
    FieldType.UUID: _uuid,
    FieldType.FILE: _file,
}
