# ruff: noqa: N999 - the file is named for the issue's `bench/import`
"""Import benchmark: rows per second and the server's peak memory for a CSV `bulk-upload` of N rows
through a real `recordbase serve` process, on SQLite and on PostgreSQL, beside loading the same CSV
straight through the driver in the same run (sqlite3 `executemany` of the parsed rows; asyncpg
`COPY … FROM` the file on PostgreSQL) into a table of the same shape.

    .venv/bin/python bench/import.py                 # 1,000,000 rows, both backends
    .venv/bin/python bench/import.py --rows 100000
    .venv/bin/python bench/import.py --smoke         # seconds: 2,000 rows (CI)

PostgreSQL comes from RECORDBASE_TEST_POSTGRES_URL (default 127.0.0.1:5432, database `test`); each
run uses fresh schemas and drops them afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import POSTGRES_URL, LiveServer

from recordbase.settings import Settings

HEADER = ("name", "qty", "price", "active", "day")
TYPES = {"name": "NVARCHAR", "qty": "INT", "price": "DECIMAL", "active": "BIT", "day": "DATE"}


@dataclass
class Result:
    backend: str
    rows: int
    server_seconds: float
    raw_seconds: float
    peak_rss_mb: float
    inserted: int


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(HEADER)
        for n in range(rows):
            text = f'record {n}, "quoted"' if n % 10 == 0 else f"record {n}"
            writer.writerow(
                (text, n, f"{n % 1000}.{n % 100:02d}", "true" if n % 2 else "false", "2024-05-01")
            )


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the highest resident set size the process has had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def through_server(live: LiveServer, source: Path) -> tuple[float, int]:
    live.token = live.command("token", "create", "--admin")
    headers = {"Authorization": f"Bearer {live.token}"}
    with httpx.Client(base_url=f"{live.url}/api", headers=headers, timeout=3600) as http:
        fields = [{"name": n, "sqlType": {"name": t}, "fieldDisplayType": "Basic"} for n, t in TYPES.items()]
        fields[2]["sqlType"]["decimalPrecision"] = 2  # type: ignore[index]
        created = http.post("/Entity", json={"entityDefinition": {"name": "Row", "fields": fields}})
        assert created.status_code == 200, created.text
        started = time.perf_counter()
        with source.open("rb") as data:
            answer = http.post(
                "/EntityService/Row/bulk-upload", files={"file": ("rows.csv", data, "text/csv")}
            )
        seconds = time.perf_counter() - started
    assert answer.status_code == 200, answer.text
    return seconds, int(answer.json()["insertedRecords"])


def raw_sqlite(path: Path, source: Path) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        'CREATE TABLE t ("Id" TEXT PRIMARY KEY, name TEXT, qty INTEGER, price NUMERIC, '
        "active INTEGER, day TEXT)"
    )
    started = time.perf_counter()
    with source.open(encoding="utf-8", newline="") as text:
        rows = csv.reader(text)
        next(rows)
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)",
            ((str(uuid.uuid4()), r[0], int(r[1]), r[2], r[3] == "true", r[4]) for r in rows),
        )
        db.execute("COMMIT")
    seconds = time.perf_counter() - started
    db.close()
    return seconds


async def raw_postgres(schema: str, source: Path) -> float:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        await connection.execute(
            f'CREATE TABLE "{schema}".t ("Id" UUID PRIMARY KEY DEFAULT gen_random_uuid(), name TEXT, '
            "qty BIGINT, price NUMERIC(28,2), active BOOLEAN, day DATE)"
        )
        started = time.perf_counter()
        await connection.copy_to_table(
            "t", source=source, schema_name=schema, columns=list(HEADER), format="csv", header=True
        )
        return time.perf_counter() - started
    finally:
        await connection.close()


async def drop_schemas(*names: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        for name in names:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await connection.close()


def run_backend(backend: str, source: Path, rows: int, workdir: Path) -> Result:
    schema = "bench_" + uuid.uuid4().hex[:12]
    url = POSTGRES_URL if backend == "postgres" else ""
    live = LiveServer(Settings(data_dir=workdir / backend, database_url=url, database_schema=schema))
    live.env["RECORDBASE_FILES_MAX_BYTES"] = str(source.stat().st_size * 2 + 2**20)
    live.start()
    try:
        seconds, inserted = through_server(live, source)
        assert live.process is not None
        rss = peak_rss_mb(live.process.pid)
    finally:
        live.stop()
    try:
        if backend == "sqlite":
            raw = raw_sqlite(workdir / "raw.sqlite3", source)
        else:
            raw = asyncio.run(raw_postgres(schema + "_raw", source))
    finally:
        if backend == "postgres":
            asyncio.run(drop_schemas(schema, schema + "_raw"))
    return Result(backend, rows, seconds, raw, rss, inserted)


def table(results: list[Result]) -> list[str]:
    lines = [
        "| backend | rows | recordbase rows/s | server peak RSS | raw driver rows/s | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        ours, raw = r.rows / r.server_seconds, r.rows / r.raw_seconds
        memory = f"{r.peak_rss_mb:,.0f} MB"
        lines.append(f"| {r.backend} | {r.rows:,} | {ours:,.0f} | {memory} | {raw:,.0f} | {ours / raw:.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="2,000 rows (seconds)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    rows = 2000 if args.smoke else args.rows
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        source = workdir / "rows.csv"
        write_csv(source, rows)
        results = [run_backend(b, source, rows, workdir) for b in backends]
    for line in table(results):
        print(line)
    bad = [r for r in results if r.inserted != rows]
    if bad:
        print(f"not every row was inserted: {[(r.backend, r.inserted) for r in bad]}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
