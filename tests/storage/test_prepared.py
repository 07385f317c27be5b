"""`Prepared.bind` gives exactly SQLAlchemy's own expansion of `IN` lists, from its cached layout."""

from __future__ import annotations

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg

from recordbase.storage.sql import prepare

TABLE = sa.Table(
    "t", sa.MetaData(), sa.Column("Id", sa.String), sa.Column("a", sa.Integer), sa.Column("b", sa.String)
)
STATEMENT = (
    sa.select(TABLE)
    .where(TABLE.c.a == sa.bindparam("x"))
    .where(TABLE.c.Id.in_(sa.bindparam("ids", expanding=True)))
    .where(TABLE.c.b.in_(["p", "q"]))  # a literal list: an anonymous expanding parameter
    .where(TABLE.c.a < sa.bindparam("y"))
)
PREPARED = [prepare(STATEMENT, sqlite.dialect(paramstyle="qmark")), prepare(STATEMENT, asyncpg.dialect())]


@given(
    calls=st.lists(
        st.tuples(st.integers(), st.lists(st.text(max_size=3), max_size=4), st.integers()),
        min_size=1,
        max_size=6,
    )
)
def test_bind_matches_sqlalchemy_for_every_list_length(calls: list[tuple[int, list[str], int]]) -> None:
    for prepared in PREPARED:
        for x, ids, y in calls:
            params = {"x": x, "ids": ids, "y": y}
            expected = prepared.compiled.construct_expanded_state(dict(params))
            assert prepared.bind(params) == (expected.statement, tuple(expected.positional_parameters))
