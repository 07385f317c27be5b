"""CSV bulk upload (UiPath's `bulk-upload`), its error file, and export (recordbase's `export`).

The upload is spooled to a temporary file under `data_dir` as it arrives, then read row by
row: memory stays flat whatever the size. Rejected rows are written to an error file that
only the uploading principal may download, from the link in the answer.
"""

from __future__ import annotations

import csv
import io
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import IO, Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from recordbase.api.dataservice.params import entity_ref
from recordbase.api.http import JSONResponse, bool_param, int_param
from recordbase.api.uploads import FilePart
from recordbase.core import transfer
from recordbase.core.actors import Actor
from recordbase.core.query import parse_odata
from recordbase.errors import BadRequest, NotFound
from recordbase.services import Services

ERROR_DIR = "import-errors"
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


class ErrorFileNotFound(NotFound):
    """No error file with this id was made by this caller for this entity."""

    code = "ERROR_FILE_NOT_FOUND"


async def bulk_upload(request: Request, actor: Actor, services: Services) -> Response:
    """`{totalRecords, insertedRecords, errorFileLink}`; the link is null when every row went in.

    recordbase's `importKey` and `importOffset` parameters make a resent chunk insert only the rows
    not yet stored (`recordbase import --resume`); the answer then adds `skippedRecords`.
    """
    settings, ref = services.settings, entity_ref(request)
    key = import_key(request)
    _, entity = await transfer.prepare_import(services.records, ref, actor)
    errors_file = ErrorFile(_dir(services, ERROR_DIR), entity.id, actor.id)
    with tempfile.TemporaryFile(dir=_dir(services, "imports")) as spool, errors_file:
        async for chunk in FilePart(request, settings.files_max_bytes).chunks():
            spool.write(chunk)
        spool.seek(0)
        summary = await _import(spool, ref, actor, services, errors_file.add, key)
    link = None if errors_file.id is None else f"{request.url.replace(query='')}/errors/{errors_file.id}"
    body: dict[str, Any] = {
        "totalRecords": summary.total,
        "insertedRecords": summary.inserted,
        "errorFileLink": link,
    }
    if key is not None:
        body["skippedRecords"] = summary.skipped
    return JSONResponse(body)


def import_key(request: Request) -> transfer.ImportKey | None:
    raw = request.query_params.get("importKey")
    if raw is None:
        return None
    return transfer.ImportKey(raw, int_param(request, "importOffset", 0, 0, 2**31))


async def _import(
    spool: IO[bytes],
    ref: str,
    actor: Actor,
    services: Services,
    reject: transfer.RejectSink,
    key: transfer.ImportKey | None,
) -> transfer.ImportSummary:
    csv.field_size_limit(services.settings.files_max_bytes)
    text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
    try:
        rows = csv.reader(text, strict=True)
        limit = services.settings.batch_limit
        return await transfer.import_rows(services.records, ref, rows, actor, limit, reject, key)
    except UnicodeDecodeError:
        raise BadRequest("Bulk upload failed. The file is not UTF-8 text.") from None
    except csv.Error as error:
        raise BadRequest(f"Bulk upload failed. The file is not valid CSV: {error}.") from None
    finally:
        text.detach()


def _dir(services: Services, name: str) -> Path:
    path = Path(services.settings.data_dir) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


class ErrorFile:
    """The rejected rows as they were sent plus an `Error` column, written as they come; made on the
    first reject. Its `.owner` file names the entity and the principal who may read it."""

    def __init__(self, folder: Path, entity_id: str, actor_id: str) -> None:
        self.folder, self.entity_id, self.actor_id = folder, entity_id, actor_id
        self.id: str | None = None
        self._out: IO[str] | None = None
        self._writer: Any = None

    def add(self, header: Sequence[str], row: list[str]) -> None:
        if self._writer is None:
            self.id = str(uuid.uuid4())
            self._out = open(self.folder / f"{self.id}.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115
            self._writer = csv.writer(self._out, lineterminator="\r\n")
            self._writer.writerow([*header, "Error"])
            owner = f"{self.entity_id}\n{self.actor_id}\n"
            (self.folder / f"{self.id}.owner").write_text(owner, encoding="utf-8")
        self._writer.writerow(row)

    def __enter__(self) -> ErrorFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._out is not None:
            self._out.close()


async def errors(request: Request, actor: Actor, services: Services) -> Response:
    """The error file of an earlier upload, to the principal who uploaded, while they may still import."""
    _, entity = await transfer.prepare_import(services.records, entity_ref(request), actor)
    error_id = request.path_params["error_id"]
    folder = _dir(services, ERROR_DIR)
    owner = folder / f"{error_id}.owner"
    if not _is_uuid(error_id) or not owner.exists() or owner.read_text().split() != [entity.id, actor.id]:
        raise ErrorFileNotFound(f"Error file '{error_id}' does not exist.")
    headers = {"Content-Disposition": f'attachment; filename="{entity.name}-errors.csv"'}
    return FileResponse(folder / f"{error_id}.csv", media_type=FORMATS["csv"], headers=headers)


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


async def export(request: Request, actor: Actor, services: Services) -> Response:
    """Every record the caller may read (optionally `$filter`ed), streamed as CSV or JSON Lines.

    The first page is read before the answer starts, so a bad filter or a refusal is a normal
    error answer rather than a broken stream.
    """
    kind = request.query_params.get("format", "csv")
    if kind not in FORMATS:
        raise BadRequest("'format' must be csv or jsonl.")
    params = {k: v for k, v in request.query_params.items() if k in ("$filter", "$orderby")}
    query = parse_odata(params, services.query.limits)
    escape = bool_param(request, "escapeFormulas", services.settings.export_escape_formulas)
    if kind == "csv":
        stream = transfer.export_csv(
            services.query, entity_ref(request), query, actor, escape_formulas=escape
        )
    else:
        stream = transfer.export_jsonl(services.query, entity_ref(request), query, actor)
    first = await anext(stream, b"")
    name = entity_ref(request)
    headers = {"Content-Disposition": f'attachment; filename="{name}.{kind}"'}
    return StreamingResponse(_chain(first, stream), media_type=FORMATS[kind], headers=headers)


async def _chain(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk
