"""Attachment endpoints: upload, download and delete the file of a record's file field.

Downloads are served so that they can never run as a page of the API's origin: always
`Content-Disposition: attachment`, `X-Content-Type-Options: nosniff` and a sandboxing
`Content-Security-Policy`, whatever media type the uploader claimed.
"""

from __future__ import annotations

import urllib.parse
import uuid

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from recordbase.api.dataservice.params import entity_ref, level
from recordbase.api.errors import dataservice_body
from recordbase.api.http import JSONResponse
from recordbase.api.observability import current_request_id
from recordbase.api.uploads import FilePart
from recordbase.core.actors import Actor
from recordbase.core.expand import plain
from recordbase.core.file_values import ByteRange, Conditions, Download, StoredFile
from recordbase.files.errors import RangeNotSatisfiable
from recordbase.services import Services

SAFETY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cache-Control": "private, no-cache",
}


def _target(request: Request) -> tuple[str, str, str]:
    params = request.path_params
    return entity_ref(request), params["record_id"], params["field_name"]


async def upload_attachment(request: Request, actor: Actor, services: Services) -> Response:
    depth = level(request)
    part = FilePart(request, services.settings.files_max_bytes)
    entity, record = await services.files.upload(*_target(request), part, actor, depth)
    return JSONResponse(plain(entity, record, depth, actor.permissions))


async def delete_attachment(request: Request, actor: Actor, services: Services) -> Response:
    depth = level(request)
    entity, record = await services.files.delete(*_target(request), actor, depth)
    return JSONResponse(plain(entity, record, depth, actor.permissions))


async def download_attachment(request: Request, actor: Actor, services: Services) -> Response:
    try:
        found = await services.files.download(*_target(request), conditions(request), actor)
    except RangeNotSatisfiable as error:
        body = dataservice_body(error, current_request_id() or uuid.uuid4().hex)
        headers = {"Content-Range": f"bytes */{error.size}", **SAFETY_HEADERS}
        return JSONResponse(body, status_code=416, headers=headers)
    return render(found)


def render(found: Download) -> Response:
    headers = {**SAFETY_HEADERS, **file_headers(found.file)}
    if found.blob is None:
        return Response(status_code=304, headers=headers)
    blob = found.blob
    headers["Content-Length"] = str(blob.length)
    headers["Content-Type"] = found.file.type  # as stored: Starlette would append a charset to text/*
    if found.partial:
        headers["Content-Range"] = f"bytes {blob.start}-{blob.stop - 1}/{blob.size}"
    return StreamingResponse(blob.chunks, status_code=206 if found.partial else 200, headers=headers)


def file_headers(file: StoredFile) -> dict[str, str]:
    return {
        "ETag": f'"{file.sha256}"',
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(file.name),
    }


def content_disposition(name: str) -> str:
    """`attachment` with the name twice (RFC 6266): an ASCII stand-in, and the exact name UTF-8 encoded."""
    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\%' else "_" for ch in name) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"


def conditions(request: Request) -> Conditions:
    headers = request.headers
    return Conditions(
        if_none_match=entity_tags(headers.get("if-none-match", "")),
        if_range=_if_range(headers.get("if-range")),
        range=parse_range(headers.get("range", "")),
    )


def entity_tags(value: str) -> frozenset[str]:
    return frozenset(t.strip().removeprefix("W/").strip('"') for t in value.split(",") if t.strip())


def _if_range(value: str | None) -> str | None:
    """Only a strong entity tag can match; a date never does (there is no Last-Modified to compare)."""
    if value is None:
        return None
    value = value.strip()
    return value.strip('"') if value.startswith('"') else ""


def parse_range(value: str) -> ByteRange | None:
    """One `bytes=` range; anything else (several ranges, other units, bad syntax) is ignored (RFC 9110)."""
    unit, _, spec = value.partition("=")
    first, dash, last = spec.strip().partition("-")
    if unit.strip().lower() != "bytes" or not dash or "," in spec:
        return None
    if not (first.isdigit() or first == "") or not (last.isdigit() or last == "") or first == last == "":
        return None
    wanted = ByteRange(int(first) if first else None, int(last) if last else None)
    if wanted.first is not None and wanted.last is not None and wanted.last < wanted.first:
        return None
    return wanted
