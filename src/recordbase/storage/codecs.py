"""How each field type's core value travels to and from each backend's driver.

asyncpg speaks native dates, timestamps, decimals and booleans; SQLite stores dates
and date-times as fixed-width ISO text (which sorts correctly) and decimals as REAL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from recordbase.core.fields.temporal import format_datetime
from recordbase.core.schema import Field, FieldType

Codec = Callable[[Any], Any]


def identity(value: Any) -> Any:
    return value


def _json_text(value: Any) -> str:
    return orjson.dumps(list(value) if isinstance(value, tuple) else value).decode()


def _from_json_text(value: Any) -> Any:
    return orjson.loads(value)


def _choice_tuple(value: Any) -> tuple[int, ...]:
    return tuple(orjson.loads(value))


def _sqlite_datetime_in(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _decimal_out(places: int) -> Codec:
    quantum = Decimal(1).scaleb(-places)
    return lambda value: (
        Decimal(repr(value)).quantize(quantum) if isinstance(value, float) else Decimal(value)
    )


SQLITE_ENCODE: dict[FieldType, Codec] = {
    FieldType.DECIMAL: float,
    FieldType.BOOLEAN: int,
    FieldType.DATE: date.isoformat,
    FieldType.DATETIME: format_datetime,
    FieldType.MULTI_CHOICE_SET: _json_text,
    FieldType.FILE: _json_text,
}
SQLITE_DECODE: dict[FieldType, Codec] = {
    FieldType.BOOLEAN: bool,
    FieldType.DATE: date.fromisoformat,
    FieldType.DATETIME: _sqlite_datetime_in,
    FieldType.MULTI_CHOICE_SET: _choice_tuple,
    FieldType.FILE: _from_json_text,
}
POSTGRES_ENCODE: dict[FieldType, Codec] = {
    FieldType.MULTI_CHOICE_SET: _json_text,
    FieldType.FILE: _json_text,
}
POSTGRES_DECODE: dict[FieldType, Codec] = {
    FieldType.MULTI_CHOICE_SET: _choice_tuple,
    FieldType.FILE: _from_json_text,
}


def encoder(backend: str, field: Field) -> Codec:
    table = SQLITE_ENCODE if backend == "sqlite" else POSTGRES_ENCODE
    return table.get(field.type, identity)


def decoder(backend: str, field: Field) -> Codec:
    if field.type is FieldType.DECIMAL:
        return _decimal_out(field.decimal_places or 0)
    table = SQLITE_DECODE if backend == "sqlite" else POSTGRES_DECODE
    return table.get(field.type, identity)


def timestamp_encoder(backend: str) -> Codec:
    return format_datetime if backend == "sqlite" else identity


def timestamp_decoder(backend: str) -> Codec:
    return _sqlite_datetime_in if backend == "sqlite" else identity
