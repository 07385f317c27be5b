"""Statements built with SQLAlchemy Core, compiled once, executed through the raw driver.

SQLAlchemy's execution layer costs more than half of a point read's throughput
(reference/stack-floor.md), so it only builds and compiles SQL here; the driver runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class Prepared:
    """A compiled statement and the order of its parameters."""

    compiled: SQLCompiler
    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]
    expanding: bool

    def bind(self, params: Mapping[str, Any] | None = None) -> tuple[str, tuple[Any, ...]]:
        """The SQL text and the positional arguments for these named parameters."""
        given = params or {}
        if self.expanding:
            state = self.compiled.construct_expanded_state(dict(given))
            return state.statement, tuple(state.positional_parameters)
        return self.sql, tuple(given[n] if n in given else self.defaults[n] for n in self.names)


def prepare(statement: ClauseElement, dialect: Dialect) -> Prepared:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    names = tuple(compiled.positiontup or ())
    expanding = any(bind.expanding for bind in compiled.binds.values())
    defaults = {} if expanding else compiled.construct_params(_check=False)
    return Prepared(compiled, compiled.string, names, defaults, expanding)
