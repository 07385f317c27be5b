"""Rewrite a checked statement so that it can only read what the caller may read, then write it out
in the backend's dialect.

- Every table reference must name an entity the caller may read (or a CTE of the statement): it is
  replaced by a subquery over the entity's real table that exposes the readable columns only, under
  their field names, and keeps only the caller's own records when a role says "own records only".
  The caller's SQL can neither name the real table nor see past the subquery: a hidden field is no
  column, another's record no row. With an own-records filter the subquery is an optimisation fence
  (`OFFSET 0`), so no condition of the caller's runs on rows the filter drops (a cast error could
  otherwise show another's value).
- CTE names are replaced by generated ones, so a CTE can never stand for a real table.
- Identifiers are folded to lower case (SQL's rule, and SQLite's): `fullname` and `FullName` both
  name the field `fullName`; each output column keeps the name the caller wrote (or the field's).
- The statement gets `LIMIT max_rows + 1` unless it already asks for fewer rows, so that storage can
  tell "too many" from "exactly enough" without reading more.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlglot import exp

from recordbase.core.schema import Entity, Field
from recordbase.core.sql.catalog import SqlTable
from recordbase.core.sql.keywords import KEYWORDS
from recordbase.errors import SqlRefused, UnknownEntity

PLAIN = re.compile(r"^[a-z_][a-z0-9_]*$")
DIALECTS = {"sqlite": "sqlite", "postgresql": "postgres"}
SAME_TYPE = (exp.Min, exp.Max)
"""Aggregates whose result has the type of their argument (so a field's rendering applies)."""


@dataclass(frozen=True)
class Physical:
    """Where an entity lives: its table and, by field name, its columns."""

    table: str
    columns: Mapping[str, str]


@dataclass(frozen=True)
class Output:
    """One column of the result: the key it gets, and the field it reads when it is a plain column."""

    name: str
    field: Field | None = None


@dataclass(frozen=True)
class SqlStatement:
    """The SQL to run, and how to name and render each result column.

    `outputs` is None when the projection has a `*`: columns are then named by the database and
    matched to fields by name (`by_name`)."""

    sql: str
    outputs: tuple[Output, ...] | None
    by_name: Mapping[str, Field]
    max_rows: int


def rewrite(
    tree: exp.Query,
    tables: Mapping[str, SqlTable],
    physical: Callable[[Entity], Physical],
    backend: str,
    max_rows: int,
) -> SqlStatement:
    """`tree` (from `parse_sql`, changed in place) as the caller may run it on `backend`."""
    ctes = _rename_ctes(tree)
    sources = _sources(_first_select(tree), tables, ctes)
    outputs = _outputs(_first_select(tree), sources)
    by_name = _by_name(sources)
    references = _entity_references(tree, tables, ctes)
    _fold_identifiers(tree)
    for node, table in references:
        node.replace(_subquery(node, table, physical(table.entity)))
    _limit(tree, max_rows)
    return SqlStatement(tree.sql(dialect=DIALECTS[backend]), outputs, by_name, max_rows)


def _rename_ctes(tree: exp.Expr) -> dict[str, str]:
    """Give every CTE a generated name (same old name, same new name) and return old -> new."""
    token = secrets.token_hex(4)
    names: dict[str, str] = {}
    for cte in tree.find_all(exp.CTE):
        old = cte.alias.lower()
        new = names.setdefault(old, f"q_{token}_{len(names)}")
        cte.set("alias", _table_alias(new, cte.args.get("alias")))
    return names


def _table_alias(name: str, old: exp.Expr | None) -> exp.TableAlias:
    alias = old.copy() if isinstance(old, exp.TableAlias) else exp.TableAlias()
    alias.set("this", exp.to_identifier(name))
    return alias


def _entity_references(
    tree: exp.Expr, tables: Mapping[str, SqlTable], ctes: Mapping[str, str]
) -> list[tuple[exp.Table, SqlTable]]:
    """Each table reference that names an entity; CTE references are renamed; anything else refused."""
    found: list[tuple[exp.Table, SqlTable]] = []
    for node in list(tree.find_all(exp.Table)):
        name = _table_name(node)
        if name.lower() in ctes:
            if not node.alias:
                node.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
            node.set("this", exp.to_identifier(ctes[name.lower()]))
            continue
        table = tables.get(name.lower())
        if table is None:
            raise UnknownEntity(f"Unknown entity '{name}'.")
        found.append((node, table))
    return found


def _table_name(node: exp.Table) -> str:
    """The plain name of a table reference; a qualified name or a table function names no entity."""
    if not isinstance(node.this, exp.Identifier):
        raise SqlRefused("Table functions are not allowed; name an entity.")
    if node.args.get("db") or node.args.get("catalog"):
        raise UnknownEntity(f"Unknown entity '{node.sql(dialect='sqlite')}'.")
    return str(node.name)


def _fold_identifiers(tree: exp.Expr) -> None:
    """Lower-case every identifier; quote only those that need it (an unknown quoted name would be
    a string literal to SQLite, not an error)."""
    for identifier in tree.find_all(exp.Identifier):
        text = str(identifier.this).lower()
        identifier.set("this", text)
        identifier.set("quoted", _needs_quotes(text))


def _subquery(node: exp.Table, table: SqlTable, where: Physical) -> exp.Subquery:
    columns = [
        exp.alias_(exp.column(exp.to_identifier(where.columns[f.name], quoted=True)), _name(f.name))
        for f in table.columns
    ]
    select = exp.select(*columns).from_(exp.Table(this=exp.to_identifier(where.table, quoted=True)))
    if table.owner is not None:
        owner = exp.column(exp.to_identifier("CreatedBy", quoted=True)).eq(exp.Literal.string(table.owner))
        select = select.where(owner).offset(0)
    alias = node.args.get("alias")
    if not isinstance(alias, exp.TableAlias):
        alias = exp.TableAlias(this=_name(str(node.name)))
    return exp.Subquery(this=select, alias=alias)


def _name(text: str) -> exp.Identifier:
    lowered = text.lower()
    return exp.to_identifier(lowered, quoted=_needs_quotes(lowered))


def _needs_quotes(text: str) -> bool:
    return text in KEYWORDS or not PLAIN.match(text)


def _limit(tree: exp.Query, max_rows: int) -> None:
    """At most `max_rows + 1` rows: the caller's own LIMIT when it is lower."""
    limit = tree.args.get("limit")
    if limit is not None:
        if not isinstance(limit, exp.Limit):
            raise SqlRefused("Use LIMIT n to bound the rows.")
        value = limit.expression
        if not (isinstance(value, exp.Literal) and value.is_int):
            raise SqlRefused("LIMIT must be a whole number.")
        if 0 <= int(value.this) <= max_rows:
            return
    tree.set("limit", exp.Limit(expression=exp.Literal.number(max_rows + 1)))


def _first_select(tree: exp.Expr) -> exp.Select | None:
    """The leftmost SELECT: its projection names the result's columns."""
    node: exp.Expr | None = tree
    while isinstance(node, exp.SetOperation | exp.Subquery):
        node = node.this
    return node if isinstance(node, exp.Select) else None


def _sources(
    select: exp.Select | None, tables: Mapping[str, SqlTable], ctes: Mapping[str, str]
) -> dict[str, SqlTable]:
    """The entities a SELECT reads directly (FROM and JOIN), by the name its columns use for them."""
    if select is None:
        return {}
    nodes = [select.args.get("from_"), *(select.args.get("joins") or [])]
    found: dict[str, SqlTable] = {}
    for node in nodes:
        target = node.this if node is not None else None
        if not isinstance(target, exp.Table) or not isinstance(target.this, exp.Identifier):
            continue
        name = str(target.name).lower()
        if name in tables and name not in ctes and not target.args.get("db"):
            found[str(target.alias_or_name).lower()] = tables[name]
    return found


def _outputs(select: exp.Select | None, sources: Mapping[str, SqlTable]) -> tuple[Output, ...] | None:
    if select is None or any(isinstance(e, exp.Star) or e.is_star for e in select.expressions):
        return None
    return tuple(_output(e, sources) for e in select.expressions)


def _output(expression: exp.Expr, sources: Mapping[str, SqlTable]) -> Output:
    inner = expression.this if isinstance(expression, exp.Alias) else expression
    if isinstance(inner, SAME_TYPE) and isinstance(inner.this, exp.Column):
        field = _column_field(inner.this, sources)
    else:
        field = _column_field(inner, sources) if isinstance(inner, exp.Column) else None
    if isinstance(expression, exp.Alias):
        return Output(expression.alias, field)
    if isinstance(inner, exp.Column):
        return Output(field.name if field is not None else str(inner.name), field)
    return Output(expression.sql(dialect="sqlite"), field)


def _column_field(column: exp.Column, sources: Mapping[str, SqlTable]) -> Field | None:
    qualifier = str(column.table).lower()
    if qualifier:
        table = sources.get(qualifier)
        return None if table is None else table.column(str(column.name))
    found = [f for f in (t.column(str(column.name)) for t in sources.values()) if f is not None]
    return found[0] if len(found) == 1 else None


def _by_name(sources: Mapping[str, SqlTable]) -> dict[str, Field]:
    """Column name (lower case) -> field, for names that only one source has."""
    seen: dict[str, list[Field]] = {}
    for table in sources.values():
        for f in table.columns:
            seen.setdefault(f.name.lower(), []).append(f)
    return {name: fields[0] for name, fields in seen.items() if len(fields) == 1}
