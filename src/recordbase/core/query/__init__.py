"""The query engine's pure stages: parse (wire -> AST), plan (AST + schema -> Plan), evaluate.

    query = parse_query(body)                 # UiPath POST .../query body
    query = parse_odata(request.query_params) # list endpoint: $filter, $orderby, $select, $expand
    plan = plan_query(query, entity, schema, expansion_level=2)
    # storage.query.compile_query(plan, tables, backend, after=cursor) builds the SQL

`evaluate`/`sort_key`/`run` are the reference semantics the SQL is tested against.
"""

from recordbase.core.query.ast import Condition, Group, Logic, Node, Operator, Query, Sort
from recordbase.core.query.cursor import Cursor, cursor_of, decode_cursor, encode_cursor
from recordbase.core.query.evaluate import evaluate, matches, run, sort_key
from recordbase.core.query.limits import DEFAULT_LIMITS, QueryLimits
from recordbase.core.query.matrix import matrix_markdown
from recordbase.core.query.odata import parse_odata
from recordbase.core.query.plan import (
    FieldRef,
    Plan,
    PlanGroup,
    PlanNode,
    Predicate,
    SortKey,
    plan_query,
    restrict,
)
from recordbase.core.query.uipath import parse_query

__all__ = [
    "DEFAULT_LIMITS",
    "Condition",
    "Cursor",
    "FieldRef",
    "Group",
    "Logic",
    "Node",
    "Operator",
    "Plan",
    "PlanGroup",
    "PlanNode",
    "Predicate",
    "Query",
    "QueryLimits",
    "Sort",
    "SortKey",
    "cursor_of",
    "decode_cursor",
    "encode_cursor",
    "evaluate",
    "matches",
    "matrix_markdown",
    "parse_odata",
    "parse_query",
    "plan_query",
    "restrict",
    "run",
    "sort_key",
]
