"""Parse one SQL statement with sqlglot (SQLite's dialect, as UiPath's engine speaks) and refuse
everything that is not a read.

What passes: one SELECT (or UNION / INTERSECT / EXCEPT of SELECTs), with joins, GROUP BY, HAVING,
aggregates, ORDER BY, LIMIT/OFFSET, subqueries, CTEs (also recursive) and window functions, calling
only the functions in `FUNCTIONS`. What is refused, naming the construct: a second statement, any
write or schema change (also inside a CTE), `SELECT … INTO`, `FOR UPDATE`, bind parameters, and any
function not in the allow-list (`pg_read_file`, `load_extension`, `randomblob`, …).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from recordbase.errors import SqlParsing, SqlRefused

DIALECT = "sqlite"
MAX_SQL_CHARS = 100_000

FUNCTIONS = frozenset(
    {
        # aggregates
        "Count", "Sum", "Avg", "Min", "Max", "GroupConcat",
        # numbers
        "Abs", "Round", "Ceil", "Floor", "Greatest", "Least", "Sign",
        # text
        "Lower", "Upper", "Length", "Substring", "Trim", "Concat", "Replace", "StrPosition",
        # nulls and conditions
        "Coalesce", "Nullif", "If", "Case", "Cast", "TryCast", "Exists",
        # dates
        "TimeToStr", "CurrentDate", "CurrentTimestamp", "Extract", "Year", "Month", "Day",
        # operators sqlglot models as functions
        "And", "Or", "Xor", "Collate",
        # windows
        "RowNumber", "Rank", "DenseRank", "Lag", "Lead", "FirstValue", "LastValue",
    }
)  # fmt: skip
"""sqlglot's classes for the functions a statement may call; each exists on SQLite and PostgreSQL
(sqlglot writes each backend's spelling). Any other function, above all one sqlglot does not know
(`Anonymous`), is refused: the allow-list is what keeps file and server functions out."""

TYPES = frozenset(
    {"INT", "BIGINT", "SMALLINT", "TEXT", "VARCHAR", "CHAR", "DOUBLE", "FLOAT", "DECIMAL", "BOOLEAN", "DATE",
     "TIMESTAMP", "TIMESTAMPTZ"}
)  # fmt: skip
"""Types a CAST may name; others (PostgreSQL's `regclass`, `oid`, …) would read the system catalog."""

REFUSED: tuple[tuple[type[exp.Expr], str], ...] = (
    (exp.DML, "a write (INSERT, UPDATE, DELETE, MERGE)"),
    (exp.DDL, "a schema change (CREATE, DROP, ALTER)"),
    (exp.Command, "a command"),
    (exp.Pragma, "a PRAGMA"),
    (exp.Into, "SELECT … INTO"),
    (exp.Lock, "a row lock (FOR UPDATE / FOR SHARE)"),
    (exp.Placeholder, "a bind parameter"),
    (exp.Parameter, "a parameter"),
)


def parse_sql(text: object) -> exp.Query:
    """The statement's syntax tree; SqlParsing when it does not parse, SqlRefused when it is no read."""
    if not isinstance(text, str) or not text.strip():
        raise SqlRefused("'query' must be a non-empty SQL SELECT statement.")
    if len(text) > MAX_SQL_CHARS:
        raise SqlRefused(f"The SQL text is longer than {MAX_SQL_CHARS} characters.")
    try:
        statements = [s for s in sqlglot.parse(text.strip().rstrip(";"), read=DIALECT) if s is not None]
    except SqlglotError as error:
        raise SqlParsing(f"The SQL does not parse: {_first_line(error)}") from None
    if len(statements) != 1:
        raise SqlRefused("Send exactly one SQL statement.")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise SqlRefused(f"Only SELECT statements are allowed, not {tree.key.upper()}.")
    check(tree)
    return tree


def check(tree: exp.Expr) -> None:
    """Refuse the first construct or function that is not allowed, naming it."""
    for node in tree.walk():
        for kind, what in REFUSED:
            if isinstance(node, kind):
                raise SqlRefused(f"The statement contains {what}; only reads are allowed.")
        if isinstance(node, exp.DataType) and node.this.name not in TYPES:
            raise SqlRefused(f"Type {node.sql(dialect=DIALECT)} is not allowed in a CAST.")
        if isinstance(node, exp.Func) and type(node).__name__ not in FUNCTIONS:
            name = _function_name(node)
            raise SqlRefused(f"Function {name}() is not allowed (docs/sql.md lists those that are).")


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).upper()
    return node.sql_name()


def _first_line(error: SqlglotError) -> str:
    text = str(error).splitlines()[0] if str(error) else "syntax error"
    return text[:300]
