"""Read-only SQL over entities (`POST …/query/execute`, docs/sql.md): parse -> check -> rewrite -> run.

    tree = parse_sql("SELECT fullName FROM Customer WHERE age > 30")   # one SELECT, or SQL_* errors
    tables = visible_tables(schema, actor.permissions)                 # what the caller may read
    statement = rewrite(tree, tables, physical, backend, max_rows)     # entity refs -> filtered subqueries

sqlglot is the parser; nothing here knows SQLAlchemy or a driver. storage/sql_store.py runs the
statement with a row and a time limit in a read-only transaction.
"""

from recordbase.core.sql.catalog import SqlTable, visible_tables
from recordbase.core.sql.parse import parse_sql
from recordbase.core.sql.rewrite import Output, Physical, SqlStatement, rewrite

__all__ = ["Output", "Physical", "SqlStatement", "SqlTable", "parse_sql", "rewrite", "visible_tables"]
