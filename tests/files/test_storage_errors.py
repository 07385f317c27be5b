"""A file store that cannot be used (wrong S3 secret, no such bucket) against a real SeaweedFS, on
both databases: uploads answer 503 `FILE_STORAGE_UNAVAILABLE` with a short message that holds no
endpoint, bucket or key; `/readyz` names the cause in words; the start-up check logs it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from pydantic import SecretStr

from recordbase.app import create_app
from recordbase.files.objectstore import describe
from recordbase.settings import Settings
from tests.api.helpers import DS, create_entity, field
from tests.conftest import Api
from tests.files.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY, SeaweedServer, seaweed

__all__ = ["seaweed"]
pytestmark = pytest.mark.anyio


def s3_settings(settings: Settings, server: SeaweedServer, **changes: str) -> Settings:
    s3 = {
        "files_storage": "s3",
        "files_s3_endpoint": server.endpoint,
        "files_s3_bucket": BUCKET,
        "files_s3_region": "us-east-1",
        "files_s3_access_key_id": ACCESS_KEY,
        "files_s3_secret_access_key": SecretStr(SECRET_KEY),
        "files_s3_prefix": "storage-errors",
    }
    s3.update({k: SecretStr(v) if "secret" in k else v for k, v in changes.items()})
    return settings.model_copy(update=s3)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Api]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        token = await app.state.services.tokens.create_admin_token("tests")
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as client:
            yield Api(client, app.state.services, token)


def assert_nothing_leaks(text: str, server: SeaweedServer, secret: str) -> None:
    for secret_thing in (server.endpoint, "127.0.0.1", BUCKET, ACCESS_KEY, secret, "storage-errors"):
        assert secret_thing not in text, f"{secret_thing!r} leaked: {text}"


async def test_a_missing_bucket_is_named_at_start_up_and_in_readyz(
    settings: Settings, seaweed: SeaweedServer, caplog: pytest.LogCaptureFixture
) -> None:
    # (SeaweedFS creates a bucket on the first write, so only the check sees it missing.)
    broken = s3_settings(settings, seaweed, files_s3_bucket=f"missing-{uuid.uuid4().hex[:12]}")
    with caplog.at_level(logging.ERROR, logger="recordbase.files"):
        async with serving(broken) as api:
            assert any("bucket does not exist" in r.getMessage() for r in caplog.records), caplog.text
            ready = await api.get("/readyz")
    assert ready.status_code == 503 and "bucket does not exist" in ready.json()["checks"]["files"]
    assert broken.files_s3_bucket not in ready.text and seaweed.endpoint not in ready.text


async def test_a_wrong_secret_is_503_in_words(
    settings: Settings, seaweed: SeaweedServer, caplog: pytest.LogCaptureFixture
) -> None:
    cause = "refused the credentials"
    secret = "wrong-secret-value"
    broken = s3_settings(settings, seaweed, files_s3_secret_access_key=secret)
    with caplog.at_level(logging.ERROR, logger="recordbase.files"):
        async with serving(broken) as api:
            assert any(cause in r.getMessage() for r in caplog.records), caplog.text  # the start-up check
            ready = await api.get("/readyz")
            assert ready.status_code == 503 and cause in ready.json()["checks"]["files"], ready.text
            assert ready.json()["checks"]["database"] == "ok"
            assert_nothing_leaks(ready.text, seaweed, secret)
            await create_entity(api, "Doc", [field("title"), field("scan", "UNIQUEIDENTIFIER", "File")])
            record = (await api.post(f"{DS}/EntityService/Doc/insert", json={"title": "a"})).json()["Id"]
            upload = await api.post(
                f"{DS}/Attachment/Doc/{record}/scan", files={"file": ("a.txt", b"hello", "text/plain")}
            )
            assert upload.status_code == 503, upload.text
            body = upload.json()
            assert body["code"] == "FILE_STORAGE_UNAVAILABLE" and cause in body["error"] and body["traceId"]
            assert len(upload.content) < 300
            assert_nothing_leaks(upload.text, seaweed, secret)
            assert (await api.get(f"{DS}/EntityService/Doc/read/{record}")).json().get("scan") is None


async def test_working_storage_is_ready(settings: Settings, seaweed: SeaweedServer) -> None:
    async with serving(s3_settings(settings, seaweed)) as api:
        ready = await api.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"]["files"] == "ok"


def test_a_report_is_described_by_its_codes_not_by_digits_it_quotes() -> None:
    """The store's report quotes request ids and bucket names: a `403` inside them is not a refusal
    (a run once named a missing bucket's error as refused credentials that way)."""
    missing = Exception(
        'Generic S3 error: status: 404, body: "<Error><Code>NoSuchBucket</Code>'
        '<RequestId>18ED114D9D9C403E0FCB5FAE</RequestId><BucketName>missing-a403b</BucketName></Error>"'
    )
    refused = Exception('Generic S3 error: status: 403, body: "<Error><Code>Denied</Code></Error>"')
    assert describe(missing) == "the file storage bucket does not exist"
    assert describe(refused) == "the file storage refused the credentials"
    assert describe(Exception("request 403 of 1000 failed oddly")) == "the file storage failed"
