"""The blob store the settings choose."""

from __future__ import annotations

from recordbase.files.objectstore import LocalBlobStore, s3_blob_store
from recordbase.files.store import BlobStore
from recordbase.settings import Settings


def open_blob_store(settings: Settings) -> BlobStore:
    """S3-compatible storage when `files_storage` is `s3`, else a directory (default: data_dir/files)."""
    if settings.files_storage == "s3":
        return s3_blob_store(
            settings.files_s3_bucket,
            endpoint=settings.files_s3_endpoint,
            region=settings.files_s3_region,
            access_key_id=settings.files_s3_access_key_id,
            secret_access_key=settings.files_s3_secret_access_key.get_secret_value(),
            prefix=settings.files_s3_prefix,
        )
    return LocalBlobStore(settings.files_dir or settings.data_dir / "files")
