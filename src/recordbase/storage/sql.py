"""Statements built with SQLAlchemy Core, compiled once, executed through the raw driver.

SQLAlchemy's execution layer costs more than half of a point read's throughput
(reference: docs/benchmarks.md), so it only builds and compiles SQL here; the driver runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class Prepared:
    """A compiled statement and the order of its parameters.

    `point` marks a statement that reads or writes a handful of rows through a key (a primary or
    unique index): a backend may run it without leaving the event loop (SQLite does).
    """

    compiled: SQLCompiler
    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]
    expanding: tuple[str, ...]
    point: bool = False
    _layouts: dict[tuple[int, ...], tuple[str, tuple[tuple[str, int], ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def bind(self, params: Mapping[str, Any] | None = None) -> tuple[str, tuple[Any, ...]]:
        """The SQL text and the positional arguments for these named parameters."""
        given = params or {}
        if self.expanding:
            return self._bind_expanding(given)
        return self.sql, tuple(given[n] if n in given else self.defaults[n] for n in self.names)

    def _bind_expanding(self, given: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
        """`IN (?, ?, …)` lists: SQLAlchemy expands the text once per combination of list lengths;
        the text and where each argument comes from (a parameter, or one element of a list) are
        kept, so a later call with lists of the same lengths only gathers its arguments."""
        lengths = tuple(len(given[n]) for n in self.expanding)
        layout = self._layouts.get(lengths)
        if layout is None:
            if len(self._layouts) > 64:
                self._layouts.clear()
            layout = self._layouts[lengths] = self._layout(given)
        text, sources = layout
        values = {**self.defaults, **given}
        return text, tuple(values[name] if index < 0 else values[name][index] for name, index in sources)

    def _layout(self, given: Mapping[str, Any]) -> tuple[str, tuple[tuple[str, int], ...]]:
        state = self.compiled.construct_expanded_state({**self.defaults, **given})
        element = {
            expanded: (name, index)
            for name, names in state.parameter_expansion.items()
            for index, expanded in enumerate(names)
        }
        sources = tuple(element.get(name, (name, -1)) for name in state.positiontup or ())
        return state.statement, sources


def prepare(statement: ClauseElement, dialect: Dialect, *, point: bool = False) -> Prepared:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    names = tuple(compiled.positiontup or ())
    expanding = tuple(name for name, bind in compiled.binds.items() if bind.expanding)
    defaults = compiled.construct_params(_check=False)
    return Prepared(compiled, compiled.string, names, defaults, expanding, point)
