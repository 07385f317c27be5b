"""Events benchmark: insert-batch throughput without and with one webhook subscription, and the
event-to-delivery latency (commit to the receiver's arrival), through a real `recordbase serve`
and a receiver on 127.0.0.1, on SQLite and on PostgreSQL.

    .venv/bin/python bench/events.py            # 1,000-record batches, 10 rounds per side
    .venv/bin/python bench/events.py --smoke    # seconds: 50-record batches, 2 rounds (CI)

Rounds alternate (subscription disabled, then enabled) so both sides see the same machine load.
PostgreSQL comes from RECORDBASE_TEST_POSTGRES_URL (default 127.0.0.1:5432, database `test`); each
run uses a fresh schema and drops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import POSTGRES_URL, LiveServer

from recordbase.settings import Settings

FIELDS = [
    {"name": n, "displayName": n, "sqlType": {"name": t}, "fieldDisplayType": "Basic"}
    for n, t in (("name", "NVARCHAR"), ("qty", "INT"), ("note", "NVARCHAR"))
]


class Arrivals:
    """A receiver that answers 204 and notes, per request, the delay since the event's commit."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.lock = threading.Lock()
        arrivals = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                at = datetime.fromisoformat(orjson.loads(body)["data"]["at"].replace("Z", "+00:00"))
                with arrivals.lock:
                    arrivals.delays.append(time.time() - at.timestamp())
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def batch(round_: int, size: int) -> list[dict[str, Any]]:
    return [{"name": f"r{round_}-{i}", "qty": i, "note": "x" * 40} for i in range(size)]


def run(settings: Settings, size: int, rounds: int) -> dict[str, Any]:
    server = LiveServer(settings)
    server.env["RECORDBASE_EVENTS_POLL_INTERVAL"] = "0.2"
    server.start()
    arrivals = Arrivals()
    try:
        token = (settings.data_dir / "admin-token").read_text().strip()
        http = httpx.Client(
            base_url=f"{server.url}/api", headers={"Authorization": f"Bearer {token}"}, timeout=120
        )
        with http:
            entity = {"displayName": "Item", "entityDefinition": {"name": "Item", "fields": FIELDS}}
            assert http.post("/Entity", json=entity).status_code == 200
            hook = http.post("/admin/webhooks", json={"url": arrivals.url, "events": ["Item.created"]}).json()
            timings: dict[bool, list[float]] = {False: [], True: []}
            for round_ in range(rounds * 2):
                subscribed = round_ % 2 == 1
                http.patch(f"/admin/webhooks/{hook['id']}", json={"disabled": not subscribed})
                started = time.perf_counter()
                assert (
                    http.post("/EntityService/Item/insert-batch", json=batch(round_, size)).status_code == 200
                )
                timings[subscribed].append(time.perf_counter() - started)
            http.patch(f"/admin/webhooks/{hook['id']}", json={"disabled": False})
            deadline = time.monotonic() + 60
            while len(arrivals.delays) < size * rounds and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        server.stop()
        arrivals.server.shutdown()
    return summary(size, timings, sorted(arrivals.delays))


def summary(size: int, timings: dict[bool, list[float]], delays: list[float]) -> dict[str, Any]:
    without, with_one = (size / statistics.median(timings[s]) for s in (False, True))
    pick = (
        (lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]) if delays else (lambda q: float("nan"))
    )
    return {
        "records_per_s_without": round(without),
        "records_per_s_with_one_subscription": round(with_one),
        "cost_percent": round(100 * (1 - with_one / without), 1),
        "delivered": len(delays),
        "latency_p50_ms": round(pick(0.5) * 1000, 1),
        "latency_p99_ms": round(pick(0.99) * 1000, 1),
    }


async def drop_schema(schema: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny loops, for CI")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    size, rounds = (50, 2) if args.smoke else (1000, 10)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        with tempfile.TemporaryDirectory() as directory:
            data = Path(directory) / "data"
            if backend == "sqlite":
                print("sqlite", run(Settings(data_dir=data), size, rounds))
                continue
            schema = "bench_" + uuid.uuid4().hex[:12]
            try:
                settings = Settings(data_dir=data, database_url=POSTGRES_URL, database_schema=schema)
                print("postgres", run(settings, size, rounds))
            finally:
                asyncio.run(drop_schema(schema))


if __name__ == "__main__":
    main()
