"""Dates (`YYYY-MM-DD`) and date-times (ISO-8601, stored in UTC to the millisecond)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from recordbase.core.fields.base import FieldValueError, PlainKind, type_error
from recordbase.core.schema import Field, Schema
from recordbase.errors import FIELD

DATE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_FORMAT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}:?\d{2})?$"
)


class DateKind(PlainKind):
    def coerce(self, field: Field, value: Any, schema: Schema) -> Any:
        if not isinstance(value, str) or not DATE_FORMAT.match(value):
            raise type_error(field, "a date as YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise FieldValueError(
                "INVALID_VALUE", f"Field '{FIELD}': '{value}' is not a date.", field.name
            ) from None

    def render(self, field: Field, value: Any) -> Any:
        return value.isoformat()


class DateTimeKind(PlainKind):
    def coerce(self, field: Field, value: Any, schema: Schema) -> Any:
        if not isinstance(value, str) or not DATETIME_FORMAT.match(value):
            raise type_error(field, "an ISO-8601 date-time such as 2024-05-01T12:30:00Z")
        return parse_datetime(field, value)

    def render(self, field: Field, value: Any) -> Any:
        return format_datetime(value)


def parse_datetime(field: Field, value: str) -> datetime:
    """Parse an ISO-8601 date-time; one without an offset is taken as UTC."""
    text = value
    match = re.search(r"\.(\d+)", text)
    if match and len(match.group(1)) > 6:
        text = text[: match.start(1) + 6] + text[match.end(1) :]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise FieldValueError(
            "INVALID_VALUE", f"Field '{FIELD}': '{value}' is not a date-time.", field.name
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return truncate_ms(parsed.astimezone(UTC))
    except OverflowError:  # year 1 or 9999 pushed out of range by its offset
        raise FieldValueError(
            "INVALID_VALUE", f"Field '{FIELD}': '{value}' is out of the supported range.", field.name
        ) from None


def truncate_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def format_datetime(moment: datetime) -> str:
    """The wire form: UTC, milliseconds, `Z`. Formatted by hand: every record answered carries two
    of these, and `isoformat(timespec=...)` on an aware value costs four times as much (it also
    pads years before 1000, which `strftime("%Y")` does not). The records of one batch share their
    time stamps (one object), so the last one formatted is kept."""
    global _last_formatted  # noqa: PLW0603 - one (value, text) pair, replaced whole: safe across threads
    last = _last_formatted
    if last[0] is moment:
        return last[1]
    utc = moment if moment.tzinfo is None or moment.tzinfo is UTC else moment.astimezone(UTC)
    text = "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (  # noqa: UP031 - the fastest of the ways measured
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond // 1000,
    )  # fmt: skip
    _last_formatted = (moment, text)
    return text


_last_formatted: tuple[datetime | None, str] = (None, "")
