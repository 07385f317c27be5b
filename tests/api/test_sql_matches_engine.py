"""Property: for the same filter, `query/execute` finds exactly the records the query engine finds
(both backends, through HTTP). Filters are generated; each is sent as a UiPath query body and as the SQL
WHERE clause with the engine's null rule (a negative operator also matches null)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.helpers import DF, create_entity, field
from tests.conftest import Api

pytestmark = pytest.mark.anyio

CUSTOMER = f"{DF}/EntityService/Customer"
ROWS = [
    {"fullName": "ab", "age": 1, "balance": 1.5, "active": True},
    {"fullName": "ba", "age": 3, "balance": -2, "active": False},
    {"fullName": "Ab", "age": None, "balance": 0, "active": None},
    {"fullName": "aab", "age": 3, "balance": None, "active": True},
    {"fullName": None, "age": -1, "balance": 7.25, "active": False},
    {"fullName": "b", "age": 0, "balance": 1.5, "active": None},
]
NUMBERS = {"age": st.integers(-2, 4).map(str), "balance": st.sampled_from(["-2", "0", "1.5", "3"])}
TEXT = st.text(alphabet="abA", min_size=1, max_size=2)


def number_leaf(name: str) -> st.SearchStrategy[dict[str, Any]]:
    ops = st.sampled_from(["=", "!=", ">", "<", ">=", "<="])
    valued = st.builds(lambda op, v: {"fieldName": name, "operator": op, "value": v}, ops, NUMBERS[name])
    listed = st.builds(
        lambda op, vs: {"fieldName": name, "operator": op, "valueList": vs},
        st.sampled_from(["in", "not in"]),
        st.lists(NUMBERS[name], min_size=1, max_size=3, unique=True),
    )
    return valued | listed | null_leaf(name)


def null_leaf(name: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda op: {"fieldName": name, "operator": op}, st.sampled_from(["=", "!="]))


TEXT_LEAF = st.builds(
    lambda op, v: {"fieldName": "fullName", "operator": op, "value": v},
    st.sampled_from(["=", "!=", "contains", "not contains", "startswith", "endswith"]),
    TEXT,
)
BOOL_LEAF = st.builds(
    lambda op, v: {"fieldName": "active", "operator": op, "value": v},
    st.sampled_from(["=", "!="]),
    st.sampled_from(["true", "false"]),
)
LEAF = number_leaf("age") | number_leaf("balance") | TEXT_LEAF | BOOL_LEAF | null_leaf("fullName")
FLAT = st.builds(
    lambda fs, op: {"logicalOperator": op, "queryFilters": fs},
    st.lists(LEAF, min_size=1, max_size=3),
    st.sampled_from([0, 1]),
)
GROUP = st.recursive(
    FLAT,
    lambda inner: st.builds(
        lambda fs, gs, op: {"logicalOperator": op, "queryFilters": fs, "filterGroups": gs},
        st.lists(LEAF, max_size=2), st.lists(inner, min_size=1, max_size=2), st.sampled_from([0, 1]),
    ),
    max_leaves=4,
)  # fmt: skip


def literal(name: str, value: str) -> str:
    if name == "fullName":
        return "'" + value.replace("'", "''") + "'"
    if name == "active":
        return "TRUE" if value == "true" else "FALSE"
    return value


def condition(leaf: dict[str, Any]) -> str:
    """One filter in SQL, with the engine's null rule: negative operators also match null."""
    name, op = leaf["fieldName"], leaf["operator"]
    if "value" not in leaf and "valueList" not in leaf:
        return f"{name} IS NULL" if op == "=" else f"{name} IS NOT NULL"
    if "valueList" in leaf:
        values = ", ".join(literal(name, v) for v in leaf["valueList"])
        return f"{name} IN ({values})" if op == "in" else f"({name} NOT IN ({values}) OR {name} IS NULL)"
    value = literal(name, leaf["value"])
    size = len(leaf["value"])
    positive = {
        "contains": f"instr({name}, {value}) > 0",
        "not contains": f"instr({name}, {value}) > 0",
        "startswith": f"substr({name}, 1, {size}) = {value}",
        "endswith": f"substr({name}, length({name}) - {size} + 1) = {value} AND length({name}) >= {size}",
        "!=": f"{name} = {value}",
    }.get(op, f"{name} {op} {value}")
    if op in ("!=", "not contains"):
        return f"(NOT ({positive}) OR {name} IS NULL)"
    return f"({positive})"


def where(group: dict[str, Any]) -> str:
    """A group as the engine reads it here: every child joined by the group's logicalOperator."""
    parts = [condition(f) for f in group.get("queryFilters", [])]
    parts += [where(g) for g in group.get("filterGroups", [])]
    joiner = " AND " if group.get("logicalOperator", 0) == 0 else " OR "
    return "(" + joiner.join(parts) + ")" if parts else "(1 = 1)"


async def seed(api: Api) -> None:
    if getattr(api, "seeded", False):
        return
    await create_entity(
        api,
        "Customer",
        [field("fullName"), field("age", "INT"),
         field("balance", "DECIMAL", sql_type={"decimalPrecision": 2}), field("active", "BIT")],
    )  # fmt: skip
    for row in ROWS:
        created = await api.post(f"{CUSTOMER}/insert", json={k: v for k, v in row.items() if v is not None})
        assert created.status_code == 200, created.text
    api.seeded = True  # type: ignore[attr-defined]


@settings(
    max_examples=int(os.environ.get("SQL_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(group=GROUP)
async def test_sql_finds_what_the_query_engine_finds(api: Api, group: dict[str, Any]) -> None:
    await seed(api)
    engine = await api.post(f"{CUSTOMER}/query", json={"filterGroup": group, "limit": 1000})
    assert engine.status_code == 200, engine.text
    expected = sorted(r["Id"] for r in engine.json()["value"])
    sql = f"SELECT Id FROM Customer WHERE {where(group)} ORDER BY Id"
    answer = await api.post(f"{DF}/v1/query/execute", json={"query": sql})
    assert answer.status_code == 200, (sql, answer.text)
    assert [r["Id"] for r in answer.json()["results"]] == expected, sql
