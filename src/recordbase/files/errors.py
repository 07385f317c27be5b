"""Errors of file fields and their blob stores; codes are listed in docs/errors.md.

They extend the one hierarchy in `recordbase.errors`, so the API renders them like any other.
"""

from __future__ import annotations

from recordbase.errors import BadRequest, NotFound, PayloadTooLarge, RecordbaseError


class NotAFileField(BadRequest):
    """The Attachment endpoints address a field that exists but is not of type file."""

    code = "NOT_A_FILE_FIELD"


class FileNotFound(NotFound):
    """The file field holds no file."""

    code = "FILE_NOT_FOUND"


class FileTooLarge(PayloadTooLarge):
    """The uploaded file is larger than `files_max_bytes`; nothing was stored."""

    code = "FILE_TOO_LARGE"


class FilePartMissing(BadRequest):
    """A multipart upload without a part named `file`."""

    code = "FILE_PART_MISSING"


class UploadIncomplete(BadRequest):
    """The upload body ended (or the client went away) before the file part was complete."""

    code = "UPLOAD_INCOMPLETE"


class RangeNotSatisfiable(RecordbaseError):
    """A `Range` that selects no byte of the file (rendered as 416 with `Content-Range: bytes */size`)."""

    code = "RANGE_NOT_SATISFIABLE"

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class FileStorageError(RecordbaseError):
    """The blob store failed (unreachable, refused the credentials, no bucket, out of space); nothing
    was changed. The message says what failed in a few words; endpoint, bucket, keys and the store's
    own report go to the log only."""

    code = "FILE_STORAGE_UNAVAILABLE"


class FileContentMissing(RecordbaseError):
    """A record names a blob the store does not have (should never happen; see docs/files.md)."""

    code = "FILE_CONTENT_MISSING"


class BlobNotFound(Exception):
    """A blob store has no blob under the key asked for (internal; never shown to clients as is)."""
