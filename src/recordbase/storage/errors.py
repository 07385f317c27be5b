"""What a driver error means, independent of the driver; the record store maps these to core errors."""

from __future__ import annotations


class StorageError(Exception):
    pass


class UniqueViolation(StorageError):
    def __init__(self, constraint: str) -> None:
        super().__init__(constraint)
        self.constraint = constraint


class ForeignKeyViolation(StorageError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UndefinedObject(StorageError):
    """A table or column is missing: another process changed the schema."""
