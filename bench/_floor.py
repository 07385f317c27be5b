"""The floor of this stack: recordbase's single-record requests with nothing of recordbase in them.

uvicorn (uvloop, httptools) + Starlette + the raw driver + orjson, answering the same URLs and bodies
as recordbase's get by id, insert one and update one (bench/wrk.lua's `rb_get`, `rb_insert` and
`rb_update`) on the raw driver's tables (bench/harness.py `raw_sqlite_build`, `raw_postgres_build`):
no token check, no validation, no permissions, no change events, no metrics, one statement each.
The harness serves it as it serves recordbase (same workers, same load) and prints it beside
PocketBase: where this floor is itself below PocketBase, no Python server on this stack reaches
PocketBase on that request; where it is above, the distance to recordbase is recordbase's own work.

Configured by the environment: `FLOOR_SQLITE` (a database file) or `FLOOR_POSTGRES` (a URL) with
`FLOOR_SCHEMA`, and `FLOOR_POOL` (connections per worker).

    FLOOR_SQLITE=raw.sqlite3 python -m uvicorn bench._floor:app --workers 2 --no-access-log
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

COLUMNS = ("id", "name", "category", "price", "qty", "active")
TABLES = {"Item": "items", "BulkItem": "bulk_items"}


class SqliteRows:
    """One `sqlite3` connection per worker, used on the event loop (the fastest way a Python server
    reads SQLite: stack-floor.md); writes wait for the file's lock in SQLite's busy handler."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, timeout=60, check_same_thread=False)
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.row_factory = sqlite3.Row

    async def get(self, table: str, key: str) -> dict[str, Any] | None:
        found = self.connection.execute(f"SELECT * FROM {table} WHERE id = ?", (key,)).fetchone()
        return dict(found) if found else None

    async def insert(self, table: str, values: tuple[Any, ...]) -> None:
        self.connection.execute("BEGIN IMMEDIATE")
        self.connection.execute(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?)", values)
        self.connection.execute("COMMIT")

    async def update(self, table: str, key: str, qty: int) -> dict[str, Any] | None:
        self.connection.execute("BEGIN IMMEDIATE")
        found = self.connection.execute(
            f"UPDATE {table} SET qty = ? WHERE id = ? RETURNING *", (qty, key)
        ).fetchone()
        self.connection.execute("COMMIT")
        return dict(found) if found else None

    async def close(self) -> None:
        self.connection.close()


class PostgresRows:
    """An asyncpg pool that, like recordbase's, resets nothing when a connection comes back."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    @classmethod
    async def open(cls, url: str, schema: str, size: int) -> PostgresRows:
        import asyncpg

        async def keep(_: Any) -> None:
            return None

        pool = await asyncpg.create_pool(url, min_size=1, max_size=size, reset=keep,
                                         server_settings={"search_path": schema})  # fmt: skip
        return cls(pool)

    async def get(self, table: str, key: str) -> dict[str, Any] | None:
        found = await self.pool.fetchrow(f"SELECT * FROM {table} WHERE id = $1", key)
        return dict(found) if found else None

    async def insert(self, table: str, values: tuple[Any, ...]) -> None:
        await self.pool.execute(f"INSERT INTO {table} VALUES ($1, $2, $3, $4, $5, $6)", *values)

    async def update(self, table: str, key: str, qty: int) -> dict[str, Any] | None:
        found = await self.pool.fetchrow(f"UPDATE {table} SET qty = $1 WHERE id = $2 RETURNING *", qty, key)
        return dict(found) if found else None

    async def close(self) -> None:
        await self.pool.close()


def answer(found: dict[str, Any] | None) -> Response:
    if found is None:
        return Response(b'{"error":"not found"}', status_code=404, media_type="application/json")
    return Response(orjson.dumps(found, default=str), media_type="application/json")


async def read(request: Request) -> Response:
    table = TABLES[request.path_params["entity"]]
    return answer(await request.app.state.rows.get(table, request.path_params["id"]))


async def insert(request: Request) -> Response:
    body = orjson.loads(await request.body())
    record = {"id": str(uuid.uuid4()), **{name: body.get(name) for name in COLUMNS[1:]}}
    await request.app.state.rows.insert(TABLES[request.path_params["entity"]], tuple(record.values()))
    return answer(record)


async def update(request: Request) -> Response:
    body = orjson.loads(await request.body())
    table = TABLES[request.path_params["entity"]]
    return answer(await request.app.state.rows.update(table, request.path_params["id"], int(body["qty"])))


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    if "FLOOR_SQLITE" in os.environ:
        app.state.rows = SqliteRows(os.environ["FLOOR_SQLITE"])
    else:
        url, schema = os.environ["FLOOR_POSTGRES"], os.environ["FLOOR_SCHEMA"]
        app.state.rows = await PostgresRows.open(url, schema, int(os.environ.get("FLOOR_POOL", "10")))
    yield
    await app.state.rows.close()


app = Starlette(
    routes=[
        Route("/api/EntityService/{entity}/read/{id}", read, methods=["GET"]),
        Route("/api/EntityService/{entity}/insert", insert, methods=["POST"]),
        Route("/api/EntityService/{entity}/update/{id}", update, methods=["POST"]),
        Route("/readyz", lambda _: Response(b"ok")),
    ],
    lifespan=lifespan,
)
