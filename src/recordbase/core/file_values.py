"""The values of file fields: blob keys, the stored file value, upload intake, byte ranges.

Nothing here does I/O; `core/files.py` orchestrates the store and the database around them.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import unicodedata
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import uuid_utils

from recordbase.core.schema import Entity, Field
from recordbase.files.errors import FileTooLarge, RangeNotSatisfiable
from recordbase.files.store import OpenBlob

DEFAULT_TYPE = "application/octet-stream"
MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")


# Keys ---------------------------------------------------------------------------------------------


def segment(value: str) -> str:
    """A key segment from a server-made id: the canonical UUID, or a digest of anything else."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return hashlib.sha256(value.encode()).hexdigest()[:32]


def field_prefix(entity: Entity, field: Field) -> str:
    return f"{segment(entity.id)}/{segment(field.id)}"


def record_prefix(entity: Entity, field: Field, record_id: str) -> str:
    return f"{field_prefix(entity, field)}/{segment(record_id)}"


def new_blob_key(entity: Entity, field: Field, record_id: str) -> str:
    """`entity/field/record/blob`, every segment a server-made UUID: never a client-supplied name."""
    return f"{record_prefix(entity, field, record_id)}/{uuid_utils.uuid7()}"


# Values -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    """What a file field holds; `Id`, `Name`, `Path`, `Size` and `Type` are what clients see."""

    id: str
    name: str
    path: str
    size: int
    type: str
    key: str
    sha256: str
    uploaded: str

    def to_value(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "Name": self.name,
            "Path": self.path,
            "Size": self.size,
            "Type": self.type,
            "Key": self.key,
            "Sha256": self.sha256,
            "UploadTime": self.uploaded,
        }

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> StoredFile:
        return cls(
            id=str(value.get("Id", "")),
            name=str(value.get("Name", "")),
            path=str(value.get("Path", "")),
            size=int(value.get("Size") or 0),
            type=str(value.get("Type") or DEFAULT_TYPE),
            key=str(value.get("Key", "")),
            sha256=str(value.get("Sha256", "")),
            uploaded=str(value.get("UploadTime", "")),
        )


class Upload(Protocol):
    """An incoming file: its bytes as they arrive, and the client's name and media type (metadata only,
    known once the first chunk has been read)."""

    name: str
    content_type: str

    def chunks(self) -> AsyncIterator[bytes]: ...


@dataclass(frozen=True)
class ByteRange:
    """`first`-`last` inclusive; `first` None means the last `last` bytes; `last` None means to the end."""

    first: int | None
    last: int | None


@dataclass(frozen=True)
class Conditions:
    """A download's preconditions: entity tags (SHA-256 hex, or `*`) and an optional byte range."""

    if_none_match: frozenset[str] = frozenset()
    if_range: str | None = None
    range: ByteRange | None = None


@dataclass(frozen=True)
class Download:
    file: StoredFile
    blob: OpenBlob | None = None
    partial: bool = False
    """`blob` is None when the client's copy is current (304)."""


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int = 10 * 1024 * 1024
    sweep_interval: timedelta = timedelta(hours=1)
    sweep_grace: timedelta = timedelta(hours=1)


def clean_name(raw: str) -> str:
    """The client's file name without directories, control or format characters; `file` if nothing is left."""
    name = unicodedata.normalize("NFC", raw.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] if name not in ("", ".", "..") else "file"


def clean_type(raw: str, name: str) -> str:
    """The part's media type without parameters if well-formed, else a guess from the name."""
    media = raw.split(";", 1)[0].strip().lower()
    if MEDIA_TYPE.match(media):
        return media
    return mimetypes.guess_type(name)[0] or DEFAULT_TYPE


class Intake:
    """Counts and hashes the bytes of an upload as they pass, refusing them past the size limit."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.digest = hashlib.sha256()

    async def read(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise FileTooLarge(f"The file is larger than the limit of {self.max_bytes} bytes.")
            self.digest.update(chunk)
            yield chunk


def byte_span(conditions: Conditions, file: StoredFile) -> tuple[int, int]:
    """The [start, stop) to send: the whole file, or the requested range if it still applies."""
    wanted, size = conditions.range, file.size
    if wanted is None or (conditions.if_range is not None and conditions.if_range != file.sha256):
        return 0, size
    if wanted.first is None:
        length = min(wanted.last or 0, size)
        if length <= 0:
            raise RangeNotSatisfiable(f"The range selects no byte of this {size}-byte file.", size)
        return size - length, size
    if wanted.first >= size:
        raise RangeNotSatisfiable(f"The range starts beyond the end of this {size}-byte file.", size)
    last = size - 1 if wanted.last is None else min(wanted.last, size - 1)
    return wanted.first, last + 1
