"""CSV import and CSV/JSONL export of records (docs/import-export.md).

Import: the header row names fields (by name, display name, or name ignoring case); system,
auto-number and file columns are accepted and ignored; an unknown column refuses the file.
Each row becomes an insert `Item`, and rows go through `RecordService.batch` in chunks,
each chunk its own transaction with partial success. An empty cell is null.

Export: every record the actor may read, in `Id` order, page by page through the query
service (keyset cursor), so memory stays flat whatever the size of the entity.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import orjson

from recordbase.core.actors import Actor
from recordbase.core.batch import Item, Mode, Op, Outcome
from recordbase.core.expand import plain
from recordbase.core.permissions import Action, Permissions
from recordbase.core.query.ast import Query
from recordbase.core.query.service import QueryRequest, QueryService
from recordbase.core.records import RecordService
from recordbase.core.schema import SYSTEM_FIELDS, Entity, Field, FieldType, Schema
from recordbase.errors import BadRequest, FieldError, RecordbaseError, ValidationFailed

IGNORED_TYPES = (FieldType.AUTO_NUMBER, FieldType.FILE)
TRUE_WORDS = frozenset({"true", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})
EXPORT_PAGE = 1000
ERROR_COLUMN = "Error"
"""The reason column of a rejects file; ignored on import (unless the entity has such a field)."""
IMPORT_KEY = re.compile(r"^[A-Za-z0-9-]{8,64}$")
STAMPED = re.compile(r"^[0-9a-f]{12}")


class InvalidColumnHeader(BadRequest):
    """A bulk upload's header names a column that is no field of the entity."""

    code = "INVALID_COLUMN_HEADER"


# --- import: header and cells -------------------------------------------------------------


def match_columns(entity: Entity, header: Sequence[str]) -> list[Field | None]:
    """The field each column fills; None for a column that is read and ignored."""
    if not header:
        raise BadRequest("Bulk upload failed. The file has no header row.")
    return [_column(entity, name.strip()) for name in header]


def _column(entity: Entity, name: str) -> Field | None:
    if name in SYSTEM_FIELDS:
        return None
    found = entity.field(name) or next((f for f in entity.fields if f.display_name == name), None)
    found = found or entity.field_ci(name)
    if found is None and name == ERROR_COLUMN:
        return None  # a fixed rejects file goes back in as it is
    if found is None:
        raise InvalidColumnHeader(f"Bulk upload failed. Invalid column header “{name}” found.")
    return None if found.type in IGNORED_TYPES else found


def decode_cell(f: Field, text: str, schema: Schema) -> Any:
    """A CSV cell as the wire value the field type coerces; the empty cell is null."""
    if text == "":
        return None
    if f.type is FieldType.BOOLEAN:
        lowered = text.strip().lower()
        return True if lowered in TRUE_WORDS else False if lowered in FALSE_WORDS else text
    if f.type is FieldType.CHOICE_SET:
        return _choice(f, text.strip(), schema)
    if f.type is FieldType.MULTI_CHOICE_SET:
        return _choices(f, text.strip(), schema)
    return text


def _choice(f: Field, text: str, schema: Schema) -> Any:
    """A choice by NumberId, name or display name; anything else is left for the type to refuse."""
    if text.lstrip("-").isdigit():
        return int(text)
    values = schema.choice_set(f.choice_set_id or "").values
    lowered = text.lower()
    found = next((v for v in values if lowered in (v.name.lower(), v.display_name.lower())), None)
    return text if found is None else found.number_id


def _choices(f: Field, text: str, schema: Schema) -> Any:
    """`[1,3]` (JSON, as exported) or names and NumberIds separated by `;`."""
    if text.startswith("["):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    return [_choice(f, part.strip(), schema) for part in text.split(";") if part.strip()]


def row_item(
    columns: Sequence[Field | None], row: Sequence[str], schema: Schema, record_id: str | None = None
) -> Item:
    """One CSV row as an insert; a row with the wrong number of cells is refused as it stands."""
    if len(row) != len(columns):
        problem = FieldError(
            "", "INVALID_ROW", f"The row has {len(row)} cells; the header has {len(columns)}."
        )
        return Item(Op.INSERT, {}, id=record_id, errors=(problem,))
    body = {f.name: decode_cell(f, text, schema) for f, text in zip(columns, row, strict=True) if f}
    return Item(Op.INSERT, body, id=record_id)


@dataclass(frozen=True)
class ImportKey:
    """Makes a resumed import exact: row n of import `key` (by one principal) always gets the same
    Id, so a chunk sent again after an interruption inserts only the rows that are not there yet.

    `offset` is the file row (after the header) of the request's first row.
    """

    key: str
    offset: int

    def __post_init__(self) -> None:
        if not IMPORT_KEY.match(self.key):
            raise BadRequest("'importKey' must be 8 to 64 letters, digits or '-'.")
        if not 0 <= self.offset <= 2**31:
            raise BadRequest("'importOffset' must be an integer from 0 to 2147483648.")

    def row_id(self, actor: Actor, row: int) -> str:
        """A UUIDv7-shaped id that sorts like the rows: the key's leading 12 hex digits (the
        client's start time in ms) as the time, the row number, and bits of the key and actor."""
        digest = hashlib.sha256(f"{actor.id}/{self.key}".encode()).digest()
        stamp = int(self.key[:12], 16) if STAMPED.match(self.key) else int.from_bytes(digest[:6])
        number = self.offset + row
        salt = int.from_bytes(digest[6:10]) & 0x3FFFFFFF
        value = (stamp << 80) | (0x7 << 76) | ((number >> 32) & 0xFFF) << 64
        value |= (0b10 << 62) | ((number & 0xFFFFFFFF) << 30) | salt
        return str(uuid.UUID(int=value))


def error_text(error: RecordbaseError) -> str:
    return error.message if not isinstance(error, ValidationFailed) else str(error)


# --- import: the run ------------------------------------------------------------------------


@dataclass
class ImportSummary:
    """What a bulk upload did: rows read, rows inserted, rows rejected (each handed to the sink)."""

    header: list[str] = field(default_factory=list)
    total: int = 0
    inserted: int = 0
    rejected: int = 0
    skipped: int = 0
    """Rows an earlier run of the same import key already inserted (not inserted again)."""


RejectSink = Callable[[Sequence[str], list[str]], None]
"""Receives the header and each rejected row as sent plus its reason, as soon as it is known."""


async def prepare_import(records: RecordService, ref: str, actor: Actor) -> tuple[Schema, Entity]:
    """The entity to import into; importing needs Read and Create on it (docs/compat-uipath.md#import)."""
    schema, entity = await records.entity(ref)
    actor.permissions.require(entity, Action.READ)
    actor.permissions.require(entity, Action.CREATE)
    return schema, entity


async def import_rows(
    records: RecordService,
    ref: str,
    rows: Iterator[list[str]],
    actor: Actor,
    chunk: int,
    reject: RejectSink,
    key: ImportKey | None = None,
) -> ImportSummary:
    """Insert every row after the header, `chunk` rows per transaction; rejects go to `reject`.

    With `key`, each row's Id comes from the key and its row number, and rows already stored under
    their Id are skipped: sending the same rows again never inserts them twice.
    """
    schema, entity = await prepare_import(records, ref, actor)
    summary = ImportSummary(header=next(rows, []))
    columns = match_columns(entity, summary.header)
    for block in chunks(rows, chunk):
        ids = [key.row_id(actor, summary.total + n) if key else None for n in range(len(block))]
        done = await _already_imported(records, schema, entity, ids)
        items = [
            row_item(columns, row, schema, i) for row, i in zip(block, ids, strict=True) if i not in done
        ]
        kept = [row for row, i in zip(block, ids, strict=True) if i not in done]
        result = await records.batch(ref, items, actor, Mode.PARTIAL, 0) if items else None
        summary.total += len(block)
        summary.skipped += len(block) - len(kept)
        summary.inserted += len(result.successes) if result else 0
        for outcome in result.failures if result else []:
            summary.rejected += 1
            reject(summary.header, _rejected(kept, outcome))
    return summary


async def _already_imported(
    records: RecordService, schema: Schema, entity: Entity, ids: list[str | None]
) -> set[str | None]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return set()
    return set(await records.store.fetch_by_ids(schema, entity, wanted))


def _rejected(block: Sequence[list[str]], outcome: Outcome) -> list[str]:
    assert outcome.error is not None
    return [*block[outcome.index], error_text(outcome.error)]


def chunks(rows: Iterable[list[str]], size: int) -> Iterator[list[list[str]]]:
    block: list[list[str]] = []
    for row in rows:
        block.append(row)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


# --- export ---------------------------------------------------------------------------------


def export_fields(entity: Entity, permissions: Permissions) -> list[str]:
    """The exported columns: `Id`, then every field the actor may read, in schema order."""
    return ["Id", *(f.name for f in entity.fields if permissions.can_read_field(entity, f.name))]


def encode_cell(value: Any) -> str:
    """A plain (level 0) wire value as CSV text: null is the empty cell, arrays are JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    if isinstance(value, float):
        return f"{Decimal(repr(value)):f}"  # never "1e-05", which the number type refuses
    return str(value)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(text: str) -> str:
    """OWASP's CSV-injection advice: a cell a spreadsheet would evaluate gets a leading `'`."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def export_cell(value: Any, escape: bool) -> str:
    """A cell of the export; only text values are escaped, so numbers like -3 stay numbers."""
    text = encode_cell(value)
    return escape_formula(text) if escape and isinstance(value, str) else text


def csv_line(cells: Iterable[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue().encode()


async def export_pages(
    query: QueryService, ref: str, filters: Query, actor: Actor
) -> AsyncIterator[tuple[Entity, list[dict[str, Any]]]]:
    """Every readable record matching `filters`, page by page, as plain level-0 records."""
    cursor: str | None = None
    filters = replace(filters, start=0, limit=EXPORT_PAGE)
    while True:
        page = await query.run(ref, QueryRequest(filters, level=0, after=cursor), actor)
        yield page.entity, [plain(page.entity, r, 0, actor.permissions) for r in page.records]
        cursor = page.next_cursor
        if cursor is None:
            return


async def export_csv(
    query: QueryService, ref: str, filters: Query, actor: Actor, *, escape_formulas: bool = True
) -> AsyncIterator[bytes]:
    """CSV with a header row; text cells that start like a formula are escaped unless turned off."""
    names: list[str] | None = None
    async for entity, records in export_pages(query, ref, filters, actor):
        if names is None:
            names = export_fields(entity, actor.permissions)
            yield csv_line(names)
        yield b"".join(csv_line(export_cell(r.get(n), escape_formulas) for n in names) for r in records)


async def export_jsonl(query: QueryService, ref: str, filters: Query, actor: Actor) -> AsyncIterator[bytes]:
    async for _, records in export_pages(query, ref, filters, actor):
        yield b"".join(orjson.dumps(r) + b"\n" for r in records)
