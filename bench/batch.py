"""Batch benchmark: records per second for insert-batch, update-batch, delete-batch (UiPath) and
batch-modify (Pipeliner, half updates and half creates) of 1,000 records through a real
`recordbase serve` process, on SQLite and on PostgreSQL, each beside the raw driver (sqlite3 /
asyncpg `executemany` of the same rows into a table of the same shape) measured in the same run.

    .venv/bin/python bench/batch.py            # 1,000 records, 7 rounds, both backends
    .venv/bin/python bench/batch.py --smoke    # seconds: 50 records, 1 round (CI)

PostgreSQL comes from RECORDBASE_TEST_POSTGRES_URL (default 127.0.0.1:5432, database `test`); each
run uses fresh schemas and drops them afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import POSTGRES_URL, LiveServer

from recordbase.settings import Settings

OPS = ("insert-batch", "update-batch", "delete-batch", "batch-modify")
COLUMNS = (
    '"Id" {uuid} PRIMARY KEY, created_by {uuid}, create_time {stamp}, updated_by {uuid}, '
    "update_time {stamp}, rev BIGINT, name TEXT, qty BIGINT, price {decimal}, active BOOLEAN, "
    "day {date}, code TEXT UNIQUE"
)
ACTOR = "00000000-0000-0000-0000-000000000001"


@dataclass
class Timings:
    server: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPS})
    raw: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPS})


def body(start: int, count: int) -> list[dict[str, Any]]:
    """UiPath/Pipeliner record bodies: six fields, one of them unique."""
    return [
        {
            "name": f"record {n}",
            "qty": n,
            "price": round(n * 1.25, 2),
            "active": n % 2 == 0,
            "day": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}",
            "code": f"C{n:08d}",
        }
        for n in range(start, start + count)
    ]


def raw_rows(records: list[dict[str, Any]], backend: str) -> list[tuple[Any, ...]]:
    """The same records as rows for the raw driver (ids and system values included)."""
    now = datetime.now(UTC)
    stamp: Any = now if backend == "postgres" else now.isoformat()
    rows = []
    for r in records:
        day: Any = date.fromisoformat(r["day"]) if backend == "postgres" else r["day"]
        price: Any = Decimal(str(r["price"])) if backend == "postgres" else r["price"]
        values = (r["name"], r["qty"], price, r["active"], day, r["code"])
        rows.append((str(uuid.uuid4()), ACTOR, stamp, ACTOR, stamp, 1, *values))
    return rows


class Server:
    """recordbase over HTTP: one entity `Bench`, reached through both dialects."""

    def __init__(self, live: LiveServer) -> None:
        token = live.command("token", "create", "--admin")
        self.http = httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
        self.define()

    def define(self) -> None:
        def f(name: str, sql: str, **extra: Any) -> dict[str, Any]:
            return {"name": name, "displayName": name, "sqlType": {"name": sql}, "fieldDisplayType": "Basic",
                    "isRequired": False, "isUnique": False, "isRbacEnabled": False, **extra}  # fmt: skip

        fields = [f("name", "NVARCHAR", isRequired=True), f("qty", "INT"), f("price", "DECIMAL"),
                  f("active", "BIT"), f("day", "DATE"), f("code", "NVARCHAR", isUnique=True)]  # fmt: skip
        definition = {"displayName": "Bench", "entityDefinition": {"name": "Bench", "fields": fields}}
        assert self.http.post("/api/Entity", json=definition).status_code == 200

    def post(self, path: str, payload: Any) -> tuple[float, Any]:
        content = orjson.dumps(payload)
        started = time.perf_counter()
        response = self.http.post(path, content=content, headers={"content-type": "application/json"})
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text[:500]
        return elapsed, response.json()

    def round(self, start: int, count: int, timings: Timings) -> None:
        """Insert, update and delete `count` records, then batch-modify half updates, half creates."""
        base = "/api/EntityService/Bench"
        seconds, answer = self.post(f"{base}/insert-batch?expansionLevel=0", body(start, count))
        timings.server["insert-batch"].append(seconds)
        ids = [r["Id"] for r in answer["successRecords"]]
        changes = [{"Id": i, "qty": n, "price": n / 4} for n, i in enumerate(ids)]
        timings.server["update-batch"].append(self.post(f"{base}/update-batch?expansionLevel=0", changes)[0])
        half = count // 2
        modify = [{"id": i, "qty": 7} for i in ids[:half]] + body(start + count, count - half)
        pipeliner = "/api/v100/rest/spaces/bench/entities/Bench/batch-modify"
        seconds, answer = self.post(pipeliner, modify)
        timings.server["batch-modify"].append(seconds)
        created = [i for i in answer["data"] if i not in set(ids[:half])]
        timings.server["delete-batch"].append(self.post(f"{base}/delete-batch", ids)[0])
        self.post(f"{base}/delete-batch", created)


class RawSQLite:
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            self.db.execute(f"PRAGMA {pragma}")
        types = {"uuid": "TEXT", "stamp": "TEXT", "decimal": "REAL", "date": "TEXT"}
        self.db.execute(f"CREATE TABLE raw ({COLUMNS.format(**types)})")

    def timed(self, statement: str, rows: list[tuple[Any, ...]]) -> float:
        started = time.perf_counter()
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany(statement, rows)
        self.db.execute("COMMIT")
        return time.perf_counter() - started


class RawPostgres:
    def __init__(self, connection: asyncpg.Connection, loop: asyncio.AbstractEventLoop) -> None:
        self.connection = connection
        self.loop = loop

    async def create(self) -> None:
        types = {"uuid": "UUID", "stamp": "TIMESTAMPTZ", "decimal": "NUMERIC(28,2)", "date": "DATE"}
        await self.connection.execute(f"CREATE TABLE raw ({COLUMNS.format(**types)})")
        await self.connection.set_type_codec(
            "uuid", encoder=str, decoder=str, schema="pg_catalog", format="text"
        )

    def timed(self, statement: str, rows: list[tuple[Any, ...]]) -> float:
        """`statement` with `?` placeholders, run as asyncpg's `$n`."""

        async def run() -> float:
            started = time.perf_counter()
            async with self.connection.transaction():
                await self.connection.executemany(numbered(statement), rows)
            return time.perf_counter() - started

        return self.loop.run_until_complete(run())


def numbered(statement: str) -> str:
    """`?` placeholders as `$1, $2, …` for asyncpg."""
    parts = statement.split("?")
    return "".join(part + (f"${n}" if n < len(parts) else "") for n, part in enumerate(parts, start=1))


def raw_round(timed: Callable[[str, list[tuple[Any, ...]]], float], backend: str, start: int, count: int,
              timings: Timings) -> None:  # fmt: skip
    """The same four operations as `Server.round`, as executemany of the same rows."""
    rows = raw_rows(body(start, count), backend)
    insert = "INSERT INTO raw VALUES (" + ", ".join("?" * 12) + ")"
    update = (
        'UPDATE raw SET qty = ?, price = ?, updated_by = ?, update_time = ?, rev = rev + 1 WHERE "Id" = ?'
    )
    stamp = rows[0][2]
    price = (lambda n: Decimal(n) / 4) if backend == "postgres" else (lambda n: n / 4)
    timings.raw["insert-batch"].append(timed(insert, rows))
    timings.raw["update-batch"].append(
        timed(update, [(n, price(n), ACTOR, stamp, r[0]) for n, r in enumerate(rows)])
    )
    half = count // 2
    created = raw_rows(body(start + count, count - half), backend)
    modify = timed(update, [(7, price(7), ACTOR, stamp, r[0]) for r in rows[:half]]) + timed(insert, created)
    timings.raw["batch-modify"].append(modify)
    timings.raw["delete-batch"].append(timed('DELETE FROM raw WHERE "Id" = ?', [(r[0],) for r in rows]))
    timed('DELETE FROM raw WHERE "Id" = ?', [(r[0],) for r in created])


def run_backend(backend: str, count: int, rounds: int, workdir: Path) -> Timings:
    schema = "bench_" + uuid.uuid4().hex[:12]
    url = POSTGRES_URL if backend == "postgres" else ""
    settings = Settings(data_dir=workdir / backend, database_url=url, database_schema=schema)
    live = LiveServer(settings)
    live.start()
    loop = asyncio.new_event_loop()
    timings = Timings()
    try:
        server = Server(live)
        timed = raw_timer(backend, workdir, schema, loop)
        for n in range(rounds + 1):  # round 0 warms both up and is not counted
            target = timings if n else Timings()
            server.round(n * 10 * count, count, target)
            raw_round(timed, backend, n * 10 * count, count, target)
    finally:
        live.stop()
        if backend == "postgres":
            loop.run_until_complete(drop_schema(schema))
        loop.close()
    return timings


def raw_timer(
    backend: str, workdir: Path, schema: str, loop: asyncio.AbstractEventLoop
) -> Callable[[str, list[tuple[Any, ...]]], float]:
    if backend == "sqlite":
        return RawSQLite(workdir / "raw.sqlite3").timed
    raw_schema = schema + "_raw"
    connection = loop.run_until_complete(
        asyncpg.connect(POSTGRES_URL, server_settings={"search_path": raw_schema})
    )
    loop.run_until_complete(connection.execute(f'CREATE SCHEMA "{raw_schema}"'))
    postgres = RawPostgres(connection, loop)
    loop.run_until_complete(postgres.create())
    return postgres.timed


async def drop_schema(schema: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        for name in (schema, schema + "_raw"):
            await connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await connection.close()


def table(results: dict[str, Timings], count: int) -> list[str]:
    lines = [
        "| backend | operation | recordbase records/s | raw driver records/s | ratio |",
        "|---|---|---|---|---|",
    ]
    for backend, timings in results.items():
        for op in OPS:
            ours = count / statistics.median(timings.server[op])
            raw = count / statistics.median(timings.raw[op])
            lines.append(f"| {backend} | {op} | {ours:,.0f} | {raw:,.0f} | {ours / raw:.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="50 records, one round (seconds)")
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    count, rounds = (50, 1) if args.smoke else (args.records, args.rounds)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    os.environ.pop("RECORDBASE_DATABASE_URL", None)
    with tempfile.TemporaryDirectory() as workdir:
        results = {b: run_backend(b, count, rounds, Path(workdir)) for b in backends}
    print(f"\n{count} records per batch, median of {rounds} round(s)\n")
    print("\n".join(table(results, count)))


if __name__ == "__main__":
    main()
