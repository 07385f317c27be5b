"""Memory stays flat whatever the file size: a 200 MB upload and download through a real server grows its
resident memory by less than 50 MB (bench/files.py measures the same at 1 GB)."""

from __future__ import annotations

from pathlib import Path

import pytest

from recordbase.settings import Settings
from tests.files.live import client, document_entity, file_server, round_trip
from tests.files.seaweed import SeaweedServer, seaweed

__all__ = ["seaweed"]
pytestmark = [pytest.mark.anyio, pytest.mark.slow]

SIZE = 200 * 1000 * 1000
LIMIT_MIB = 50


@pytest.mark.parametrize("store", ["local", "s3"])
def test_200_mb_round_trip_keeps_memory_flat(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    weed: SeaweedServer | None = request.getfixturevalue("seaweed") if store == "s3" else None
    settings = Settings(data_dir=tmp_path / "data", database_url="")
    server, _ = file_server(settings, weed, files_max_bytes=str(SIZE))
    server.start()
    try:
        assert server.process is not None
        with client(server) as http:
            _, record_id = document_entity(http)
            path = f"/Attachment/Document/{record_id}/content"
            round_trip(http, path, server.process.pid, 8 * 1000 * 1000)  # warm up every code path
            measured = round_trip(http, path, server.process.pid, SIZE)
    finally:
        server.stop()
    print(
        f"\n{store}: 200 MB up {measured.rate(measured.upload_seconds):.0f} MB/s, "
        f"down {measured.rate(measured.download_seconds):.0f} MB/s, RSS growth {measured.growth_mib:.1f} MiB"
    )
    assert measured.growth_mib < LIMIT_MIB
