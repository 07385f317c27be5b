"""Numbers: integers, decimals with a fixed number of places, and auto-numbers.

Values must fit 15 significant digits (integers: up to 2^53 - 1), so that both backends
store them exactly; a value with more decimal places than the field allows is refused,
never rounded.
"""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from recordbase.core.fields.base import FieldDefinitionError, FieldValueError, PlainKind, type_error
from recordbase.core.schema import Field, FieldType, Schema
from recordbase.errors import FIELD

MAX_SAFE = Decimal(2**53 - 1)
MAX_PLACES = 10
MAX_DIGITS = 15
QUANTA = tuple(Decimal(1).scaleb(-places) for places in range(MAX_PLACES + 1))
"""What a value is rounded to, by decimal places: `quantize` to it changes no value that fits."""
DIGIT_LIMITS = tuple(Decimal(10) ** (MAX_DIGITS - places) for places in range(MAX_PLACES + 1))
"""The least value, by decimal places, that has more than MAX_DIGITS significant digits."""
NUMERALS = (int, float, str)


class NumberKind(PlainKind):
    def check_definition(self, field: Field, schema: Schema) -> Field:
        places = 0 if field.type is FieldType.INTEGER else field.decimal_places
        places = 2 if places is None else places
        if not 0 <= places <= MAX_PLACES:
            raise FieldDefinitionError(
                f"Field '{field.name}': decimal places must be between 0 and {MAX_PLACES}."
            )
        low = -MAX_SAFE if field.min_value is None else Decimal(field.min_value)
        high = MAX_SAFE if field.max_value is None else Decimal(field.max_value)
        if not -MAX_SAFE <= low < high <= MAX_SAFE:
            raise FieldDefinitionError(
                f"Field '{field.name}': need minimum < maximum, both within ±{MAX_SAFE}."
            )
        return replace(field, decimal_places=places, min_value=low, max_value=high)

    def coerce(self, field: Field, value: Any, schema: Schema) -> Any:
        places = field.decimal_places or 0
        if type(value) is int and not places and _within(field, value):
            return value  # the common case, with nothing to convert
        number = _to_decimal(field, value)
        try:
            quantized: Decimal | None = number.quantize(QUANTA[places])
        except InvalidOperation:  # more digits than any field keeps: out of range, said below
            quantized = None
        if quantized is not None and quantized != number:
            raise FieldValueError(
                "TOO_MANY_DECIMALS", f"Field '{FIELD}' allows at most {places} decimal places.", field.name
            )
        self._check_range(field, number)
        if places == 0:
            return int(number)
        if quantized is None or abs(quantized) >= DIGIT_LIMITS[places]:
            raise FieldValueError(
                "OUT_OF_RANGE", f"Field '{FIELD}' keeps at most {MAX_DIGITS} significant digits.", field.name
            )
        return quantized

    def render(self, field: Field, value: Any) -> Any:
        if field.decimal_places:
            return float(value)
        return int(value)

    @staticmethod
    def _check_range(field: Field, number: Decimal) -> None:
        if not _within(field, number):
            low, high = field.min_value, field.max_value
            raise FieldValueError(
                "OUT_OF_RANGE", f"Field '{FIELD}' must be between {low} and {high}.", field.name
            )


class AutoNumberKind(PlainKind):
    """Numbers the server assigns in insertion order; clients only read them."""

    def check_definition(self, field: Field, schema: Schema) -> Field:
        start = 1 if field.start_value is None else field.start_value
        if not 1 <= start <= int(MAX_SAFE):
            raise FieldDefinitionError(f"Field '{field.name}': start value must be between 1 and {MAX_SAFE}.")
        return replace(field, start_value=start)

    def coerce(self, field: Field, value: Any, schema: Schema) -> Any:
        raise FieldValueError(
            "READ_ONLY", f"Field '{FIELD}' is an auto-number and is set by the server.", field.name
        )

    def render(self, field: Field, value: Any) -> Any:
        return int(value)


def _within(field: Field, number: int | Decimal) -> bool:
    low, high = field.min_value, field.max_value
    return (low is None or number >= low) and (high is None or number <= high)


def _to_decimal(field: Field, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, NUMERALS):
        raise type_error(field, "a number")
    if isinstance(value, str):
        # Strings are accepted only when they are plain decimal numerals: some clients
        # quote numbers, none mean "1e3" or "NaN".
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise type_error(field, "a number") from None
        if not value.strip().replace(".", "", 1).lstrip("-").isdigit():
            raise type_error(field, "a number")
        return number
    if isinstance(value, float) and not math.isfinite(value):
        raise type_error(field, "a finite number")
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)
