"""Per-request stage timings (the `Server-Timing` header), markable from any layer.

The HTTP middleware starts a `Timings` for each request; handlers, services and storage
mark stages (`parse`, `plan`, `db`, `render`, ...) with `stage(name)` without knowing HTTP.
Outside a request nothing is recorded and `stage` costs one context-variable read.
A stage entered several times (one query per relationship field) adds up.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from time import perf_counter
from types import TracebackType


@dataclass
class Timings:
    """Seconds spent per stage since `started` (a `perf_counter` reading)."""

    started: float = field(default_factory=perf_counter)
    stages: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.stages[name] = self.stages.get(name, 0.0) + seconds

    def elapsed(self) -> float:
        return perf_counter() - self.started


_current: ContextVar[Timings | None] = ContextVar("recordbase_timings", default=None)


def start() -> tuple[Timings, Token[Timings | None]]:
    """Begin timing the current request; pass the token to `finish`."""
    timings = Timings()
    return timings, _current.set(timings)


def finish(token: Token[Timings | None]) -> None:
    _current.reset(token)


def current() -> Timings | None:
    return _current.get()


class stage:  # noqa: N801  (used as a function: `with stage("db"):`)
    """Add the time spent inside the block to stage `name` of the current request, if any.

    A class, not `@contextmanager`: it wraps every statement, and a generator-based context
    manager costs several times more per use."""

    __slots__ = ("begun", "name", "timings")

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        self.timings = _current.get()
        self.begun = perf_counter()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.timings is not None:
            self.timings.add(self.name, perf_counter() - self.begun)
