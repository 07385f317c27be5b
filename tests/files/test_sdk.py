"""The official `uipath` SDK, unchanged, uploads, downloads and deletes a file on a real recordbase process.

Every UIPATH_* variable is removed first (wire doc §7); the token is a recordbase admin token.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recordbase.settings import Settings
from tests.files.live import client, document_entity, file_server

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

for _name in [k for k in os.environ if k.startswith("UIPATH_")] + ["UNATTENDED_USER_ACCESS_TOKEN"]:
    os.environ.pop(_name, None)

from uipath.platform import UiPath  # noqa: E402
from uipath.platform.errors import EnrichedException  # noqa: E402


async def test_sdk_uploads_downloads_and_deletes_a_file(settings: Settings, tmp_path: Path) -> None:
    server, _ = file_server(settings, None)
    server.start()
    sdk = None
    try:
        with client(server) as http:
            entity_id, record_id = document_entity(http)
        sdk = UiPath(base_url=f"{server.url}/someorg/sometenant", secret=server.token).entities

        data = os.urandom(300_000)
        answer = sdk.upload_attachment(entity_id, record_id, "content", file=data)
        assert answer["content"]["Size"] == len(data)
        assert sdk.download_attachment(entity_id, record_id, "content") == data

        path = tmp_path / "Quarterly report.pdf"
        path.write_bytes(b"%PDF-1.7 not really")
        sdk.upload_attachment(entity_id, record_id, "content", file_path=str(path), expansion_level=1)
        record = sdk.get_record_v3(entity_id, record_id, expansion_level=1)
        content = record.model_dump()["content"] if hasattr(record, "model_dump") else record["content"]
        assert content["Name"] == "Quarterly report.pdf" and content["Type"] == "application/pdf"
        assert sdk.download_attachment(entity_id, record_id, "content") == path.read_bytes()

        sdk.delete_attachment(entity_id, record_id, "content")
        with pytest.raises(EnrichedException) as missing:
            sdk.download_attachment(entity_id, record_id, "content")
        assert missing.value.status_code == 404
        with pytest.raises(EnrichedException) as wrong_field:
            sdk.upload_attachment(entity_id, record_id, "title", file=b"x")
        assert wrong_field.value.status_code == 400
    finally:
        if sdk is not None:
            await sdk.aclose()  # the SDK's httpx clients, which it never closes itself
        server.stop()
