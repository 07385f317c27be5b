"""Files of a record (upload, download, remove), CSV import with its error file, CSV/JSONL export."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from starlette.datastructures import UploadFile
from starlette.responses import Response

from recordbase.console.records import records_api
from recordbase.console.web import ApiError, Console, page, raise_for, see_other

PASSED_HEADERS = ("content-type", "content-disposition", "x-content-type-options", "content-security-policy")


def _attachment_path(console: Console) -> str:
    params = console.request.path_params
    return f"/api/Attachment/{quote(params['name'])}/{quote(params['record_id'])}/{quote(params['field'])}"


def _detail_url(console: Console) -> str:
    params = console.request.path_params
    return f"/console/data/{quote(params['name'])}/r/{quote(params['record_id'])}"


def _passed(response: httpx.Response) -> Response:
    """An API download handed to the browser with its own type, name and safety headers."""
    raise_for(response)
    headers = {k: v for k, v in response.headers.items() if k.lower() in PASSED_HEADERS}
    return Response(response.content, headers={**headers, "Cache-Control": "no-store"})


async def _upload(console: Console) -> tuple[str, bytes, str]:
    """The uploaded file, held in memory only up to `files_max_bytes` (the API's own limit)."""
    limit: int = console.request.app.state.services.settings.files_max_bytes
    async with console.request.form(max_files=1, max_fields=5) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ApiError(400, "Choose a file to upload.", [])
        content = await upload.read(limit + 1)
        if len(content) > limit:
            raise ApiError(413, f"The file is larger than {limit} bytes (files_max_bytes).", [])
        return upload.filename, content, upload.content_type or "application/octet-stream"


@page
async def download_file(console: Console) -> Response:
    return _passed(await console.api.call("GET", _attachment_path(console)))


@page
async def upload_file(console: Console) -> Response:
    await console.api.json("POST", _attachment_path(console), files={"file": await _upload(console)})
    return see_other(_detail_url(console))


@page
async def remove_file(console: Console) -> Response:
    await console.api.json("DELETE", _attachment_path(console))
    return see_other(_detail_url(console))


@page
async def import_page(console: Console) -> Response:
    name = console.request.path_params["name"]
    return console.render("import.html", entity_name=name, result=None)


@page
async def import_csv(console: Console) -> Response:
    """POST a CSV: the API's bulk upload; the result page links the error file when rows were rejected."""
    name = console.request.path_params["name"]
    result = await console.api.json(
        "POST", records_api(name, "/bulk-upload"), files={"file": await _upload(console)}
    )
    link = result.get("errorFileLink")
    error_id = link.rsplit("/", 1)[-1] if link else None
    return console.render("import.html", entity_name=name, result=result, error_id=error_id)


@page
async def import_errors(console: Console) -> Response:
    params = console.request.path_params
    path = records_api(params["name"], f"/bulk-upload/errors/{quote(params['error_id'])}")
    return _passed(await console.api.call("GET", path))


@page
async def export(console: Console) -> Response:
    """The whole entity as CSV or JSON Lines, as the API exports it (held in memory on the way)."""
    name = console.request.path_params["name"]
    kind = "jsonl" if console.request.query_params.get("format") == "jsonl" else "csv"
    return _passed(await console.api.call("GET", records_api(name, "/export"), params={"format": kind}))
