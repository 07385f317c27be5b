"""Streaming multipart/form-data: the part named `file`, read as it arrives, never held whole.

python-multipart's push parser is fed each chunk of `request.stream()`; the bytes of the
file part come out as they are parsed, so memory stays flat whatever the size. The name
and media type the client gave (from the part's headers) are metadata only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from recordbase.errors import BadRequest, UnsupportedMediaType
from recordbase.files.errors import FilePartMissing, FileTooLarge, UploadIncomplete

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

PART_NAME = b"file"
FRAMING_ALLOWANCE = 64 * 1024
"""Bytes a body may have beyond the file itself: boundaries, part headers, small other fields."""


def boundary_of(request: Request) -> bytes:
    media, options = parse_options_header(request.headers.get("content-type", ""))
    if media != b"multipart/form-data" or not options.get(b"boundary"):
        raise UnsupportedMediaType("Upload the file as multipart/form-data with one part named 'file'.")
    return options[b"boundary"]


def decode_filename(raw: bytes) -> str:
    """Browsers and httpx send UTF-8 in the quoted filename, with `"` as %22; old clients Latin-1."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.replace("%22", '"')


class FilePart:
    """The `file` part of a multipart request, as an `Upload` for the file service."""

    def __init__(self, request: Request, max_file_bytes: int) -> None:
        self.name = ""
        self.content_type = ""
        self._max_body = max_file_bytes + FRAMING_ALLOWANCE
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_body:
            raise FileTooLarge(f"The file is larger than the limit of {max_file_bytes} bytes.")
        self._source = request.stream()
        self._received = 0
        self._pending: deque[bytes] = deque()
        self._headers: dict[bytes, bytes] = {}
        self._header = [b"", b""]
        self._state = "before"  # before -> inside -> done (the file part)
        self._current_is_file = False
        self._parser = MultipartParser(boundary_of(request), self._callbacks())

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes; raises if the body ends before the part does, or holds no such part."""
        while True:
            while self._pending:
                yield self._pending.popleft()
            if self._state == "done":
                break
            if not await self._feed():
                if self._state == "before":
                    raise FilePartMissing("The upload has no multipart part named 'file'.")
                raise UploadIncomplete("The upload ended before the file part was complete.")
        while await self._feed():  # read the rest of the body, so that the connection stays usable
            self._pending.clear()

    async def _feed(self) -> bool:
        try:
            chunk = await anext(self._source)
        except StopAsyncIteration:
            return False
        except ClientDisconnect:
            raise UploadIncomplete("The client went away during the upload.") from None
        self._received += len(chunk)
        if self._received > self._max_body:
            raise FileTooLarge(f"The upload is larger than the limit of {self._max_body} bytes.")
        try:
            self._parser.write(chunk)
        except FormParserError as error:
            raise BadRequest(f"The multipart body is malformed: {error}") from None
        return True

    def _callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._header = [b"", b""]

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header[0].strip().lower()] = self._header[1].strip()
        self._header = [b"", b""]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b"").decode("latin-1"))
        self._current_is_file = self._state == "before" and options.get(b"name") == PART_NAME
        if self._current_is_file:
            self._state = "inside"
            self.name = decode_filename(options.get(b"filename", b""))
            self.content_type = self._headers.get(b"content-type", b"").decode("latin-1")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current_is_file:
            self._pending.append(bytes(data[start:end]))

    def _part_end(self) -> None:
        if self._current_is_file:
            self._current_is_file = False
            self._state = "done"
