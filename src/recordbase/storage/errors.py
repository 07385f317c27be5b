"""What a driver error means, independent of the driver; the record store maps these to core errors."""

from __future__ import annotations

from types import TracebackType

Traceback = TracebackType | None


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


class ErrorTranslation:
    """A block in which an error of one kind is raised as another that says what went wrong
    (`translate` decides; None lets the error through unchanged). For `with` and `async with`.

    A class rather than `@contextmanager`: one wraps every statement a request runs, and entering
    and leaving a generator-based one costs several times more (as with `recordbase.timing.stage`)."""

    __slots__ = ()

    def translate(self, error: BaseException) -> Exception | None:
        raise NotImplementedError

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: Traceback
    ) -> None:
        if error is not None:
            translated = self.translate(error)
            if translated is not None:
                raise translated from error

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: Traceback
    ) -> None:
        self.__exit__(kind, error, trace)
