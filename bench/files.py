"""Files benchmark: upload and download MB/s through a real `recordbase serve` process, beside writing and
reading the same bytes directly to the same blob store in the same run; and the server's resident memory
growth over a large (default 1 GB) upload and download, which must stay under 50 MB.

    .venv/bin/python bench/files.py                 # local and S3 (SeaweedFS), 1 MB and 200 MB, RSS at 1 GB
    .venv/bin/python bench/files.py --store local   # one store
    .venv/bin/python bench/files.py --smoke         # seconds: 1 MB and 20 MB, RSS at 50 MB (CI)

Exit status 1 when the memory growth reaches the limit.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import LiveServer
from tests.files.live import client, document_entity, file_server, round_trip
from tests.files.seaweed import SeaweedServer

from recordbase.files.factory import open_blob_store
from recordbase.files.store import BlobStore
from recordbase.settings import Settings

MB = 1000 * 1000
WIRE_CHUNK = 64 * 1024  # what uvicorn hands the app; the direct writes get the same pieces
RSS_LIMIT_MIB = 50


@dataclass
class Rates:
    store: str
    size: int
    repeats: int
    server_up: float
    server_down: float
    direct_up: float
    direct_down: float

    def rows(self) -> list[str]:
        label = f"{self.size / MB:g} MB x{self.repeats}"
        head = f"| {self.store} | {label}"
        return [
            f"{head} | through the server | {self.server_up:.0f} | {self.server_down:.0f} |",
            f"{head} | store directly | {self.direct_up:.0f} | {self.direct_down:.0f} |",
            f"| {self.store} | {label} | server / direct | {self.server_up / self.direct_up:.2f} "
            f"| {self.server_down / self.direct_down:.2f} |",
        ]


def mbps(size: int, repeats: int, seconds: float) -> float:
    return size * repeats / seconds / MB


def through_server(http: httpx.Client, path: str, data: bytes, repeats: int) -> tuple[float, float]:
    started = time.perf_counter()
    for _ in range(repeats):
        # A file object, as clients upload files: httpx then sends it in 64 KiB pieces.
        source = io.BytesIO(data)
        answer = http.post(path, files={"file": ("bench.bin", source, "application/octet-stream")})
        assert answer.status_code == 200, answer.text
    uploaded = time.perf_counter()
    for _ in range(repeats):
        received = 0
        with http.stream("GET", path) as response:
            for piece in response.iter_bytes(1024 * 1024):
                received += len(piece)
        assert received == len(data)
    downloaded = time.perf_counter()
    return mbps(len(data), repeats, uploaded - started), mbps(len(data), repeats, downloaded - uploaded)


async def pieces(data: bytes) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), WIRE_CHUNK):
        yield bytes(view[start : start + WIRE_CHUNK])


async def directly(store: BlobStore, data: bytes, repeats: int) -> tuple[float, float]:
    keys = [f"bench/direct/{i}/{time.time_ns()}" for i in range(repeats)]
    started = time.perf_counter()
    for key in keys:
        await store.put(key, pieces(data))
    uploaded = time.perf_counter()
    for key in keys:
        blob = await store.open(key)
        received = 0
        async for piece in blob.chunks:
            received += len(piece)
        assert received == len(data)
    downloaded = time.perf_counter()
    await store.delete(keys)
    return mbps(len(data), repeats, uploaded - started), mbps(len(data), repeats, downloaded - uploaded)


@contextmanager
def running(store: str, workdir: Path, max_bytes: int) -> Iterator[tuple[LiveServer, Settings]]:
    weed = None
    if store == "s3":
        weed = SeaweedServer()
        weed.start()
    settings = Settings(data_dir=workdir / "data", database_url="")
    server, store_settings = file_server(settings, weed, files_max_bytes=str(max_bytes))
    server.start()
    try:
        yield server, store_settings
    finally:
        server.stop()
        if weed is not None:
            weed.stop()


def bench_store(store: str, sizes: list[tuple[int, int]], rss_size: int) -> tuple[list[Rates], str, bool]:
    with (
        tempfile.TemporaryDirectory(prefix="recordbase-bench-") as tmp,
        running(store, Path(tmp), max(rss_size, *(s for s, _ in sizes))) as (server, store_settings),
    ):
        blobs = open_blob_store(store_settings)
        rates = []
        with client(server) as http:
            _, record_id = document_entity(http)
            path = f"/Attachment/Document/{record_id}/content"
            for size, repeats in sizes:
                data = bytes(range(256)) * (size // 256) + bytes(size % 256)
                up, down = through_server(http, path, data, repeats)
                direct_up, direct_down = anyio.run(directly, blobs, data, repeats)
                rates.append(Rates(store, size, repeats, up, down, direct_up, direct_down))
            assert server.process is not None
            measured = round_trip(http, path, server.process.pid, rss_size)
        ok = measured.growth_mib < RSS_LIMIT_MIB
        verdict = "OK" if ok else "OVER THE LIMIT"
        line = (
            f"{store}: {rss_size / MB:g} MB upload + download through the server: RSS "
            f"{measured.baseline_kib / 1024:.1f} MiB before, {measured.peak_kib / 1024:.1f} MiB peak, "
            f"growth {measured.growth_mib:.1f} MiB (limit {RSS_LIMIT_MIB}) {verdict}; "
            f"{measured.rate(measured.upload_seconds):.0f} MB/s up, "
            f"{measured.rate(measured.download_seconds):.0f} MB/s down"
        )
        return rates, line, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["local", "s3", "both"], default="both")
    parser.add_argument("--smoke", action="store_true", help="seconds-long run for CI")
    parser.add_argument("--rss-mb", type=int, default=1000, help="size of the memory round trip, in MB")
    args = parser.parse_args()
    sizes = [(1 * MB, 5), (20 * MB, 1)] if args.smoke else [(1 * MB, 50), (200 * MB, 2)]
    rss_size = 50 * MB if args.smoke else args.rss_mb * MB
    stores = ["local", "s3"] if args.store == "both" else [args.store]
    all_rates, lines, ok = [], [], True
    for store in stores:
        rates, line, fine = bench_store(store, sizes, rss_size)
        all_rates += rates
        lines.append(line)
        ok = ok and fine
    print("| store | file | path | upload MB/s | download MB/s |")
    print("|---|---|---|---|---|")
    for rate in all_rates:
        print("\n".join(rate.rows()))
    print()
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
