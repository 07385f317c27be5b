"""Attachment API scenarios on SQLite and PostgreSQL, each on the local store and on S3 (a real SeaweedFS).

Every write is checked afterwards in the database (the record's stored file value) and in the
blob store (which blobs exist), including after injected failures of storage and of the commit.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from recordbase.app import create_app
from recordbase.core.file_values import StoredFile, new_blob_key
from recordbase.files.errors import FileStorageError
from recordbase.files.store import BlobStore
from recordbase.services import Services
from recordbase.settings import Settings
from tests.api.helpers import DF, DS, create_entity, field, standard_entities
from tests.conftest import Api
from tests.files.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY, SeaweedServer, seaweed

__all__ = ["seaweed"]
pytestmark = pytest.mark.anyio

DATA = os.urandom(200_000)


@pytest.fixture(params=["local", "s3"])
async def files_api(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Api]:
    """The `api` fixture, with the blob store of the requested kind."""
    if request.param == "s3":
        server: SeaweedServer = request.getfixturevalue("seaweed")
        settings = settings.model_copy(
            update={
                "files_storage": "s3",
                "files_s3_endpoint": server.endpoint,
                "files_s3_bucket": BUCKET,
                "files_s3_access_key_id": ACCESS_KEY,
                "files_s3_secret_access_key": SecretStr(SECRET_KEY),
                "files_s3_prefix": f"api-{uuid.uuid4().hex}",
            }
        )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        token = await services.tokens.create_admin_token("tests")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            yield Api(client, services, token)


def url(record_id: str, field_name: str = "photo", entity: str = "Customer") -> str:
    return f"{DS}/Attachment/{entity}/{record_id}/{field_name}"


async def new_customer(api: Api) -> str:
    await standard_entities(api)
    response = await api.post(f"{DS}/EntityService/Customer/insert", json={"fullName": "Ann"})
    assert response.status_code == 200, response.text
    return str(response.json()["Id"])


async def upload(
    api: Api,
    record_id: str,
    data: bytes = DATA,
    name: str = "report.txt",
    media: str = "text/plain",
    **kw: Any,
) -> httpx.Response:
    return await api.post(url(record_id, **kw), files={"file": (name, data, media)})


async def stored(api: Api, record_id: str, field_name: str = "photo") -> StoredFile | None:
    """The file value as the database holds it."""
    schema, entity = await api.services.records.entity("Customer")
    record = (await api.services.files.store.fetch_by_ids(schema, entity, [record_id]))[record_id]
    value = record[field_name]
    return None if value is None else StoredFile.from_value(value)


async def blob_keys(api: Api) -> set[str]:
    return {info.key async for info in api.services.files.blobs.list()}


async def test_upload_download_delete_round_trip(files_api: Api) -> None:
    api = files_api
    rid = await new_customer(api)
    response = await upload(api, rid)
    assert response.status_code == 200, response.text
    photo = response.json()["photo"]
    assert set(photo) == {"Id", "Name", "Path", "Size", "Type"}
    assert photo["Name"] == "report.txt" and photo["Size"] == len(DATA) and photo["Type"] == "text/plain"
    assert photo["Path"] == f"Customer/{rid}/photo"
    held = await stored(api, rid)
    assert held is not None and held.sha256 == hashlib.sha256(DATA).hexdigest()
    assert await blob_keys(api) == {held.key}
    assert held.key.split("/")[2] == rid and "report" not in held.key

    read = await api.get(f"{DS}/EntityService/Customer/read/{rid}")
    assert read.json()["photo"] == photo
    level0 = await api.get(f"{DS}/EntityService/Customer/read/{rid}?expansionLevel=0")
    assert level0.json()["photo"] == photo["Id"]

    download = await api.get(url(rid))
    assert download.status_code == 200
    assert download.content == DATA
    headers = download.headers
    assert headers["content-type"] == "text/plain"
    assert headers["content-length"] == str(len(DATA))
    assert headers["etag"] == f'"{held.sha256}"'
    assert (
        headers["content-disposition"] == "attachment; filename=\"report.txt\"; filename*=UTF-8''report.txt"
    )
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"].startswith("sandbox")
    assert headers["accept-ranges"] == "bytes"

    deleted = await api.delete(url(rid))
    assert deleted.status_code == 200 and deleted.json()["photo"] is None
    assert await stored(api, rid) is None
    assert await blob_keys(api) == set()
    gone = await api.get(url(rid))
    assert gone.status_code == 404 and gone.json()["code"] == "FILE_NOT_FOUND"
    again = await api.delete(url(rid))
    assert again.status_code == 404 and again.json()["code"] == "FILE_NOT_FOUND"


async def test_upload_replaces_and_removes_the_old_blob(files_api: Api) -> None:
    api = files_api
    rid = await new_customer(api)
    first = (await upload(api, rid, b"first version")).json()["photo"]
    old = await stored(api, rid)
    second = (await upload(api, rid, b"second", name="v2.bin", media="application/octet-stream")).json()
    assert second["photo"]["Id"] == first["Id"]  # the handle survives a replacement, as in UiPath
    assert second["photo"]["Name"] == "v2.bin" and second["photo"]["Size"] == 6
    new = await stored(api, rid)
    assert old is not None and new is not None and new.key != old.key
    assert await blob_keys(api) == {new.key}
    assert (await api.get(url(rid))).content == b"second"


async def test_by_id_route_and_empty_file(files_api: Api) -> None:
    api = files_api
    rid = await new_customer(api)
    entity_id = (await api.services.records.entity("Customer"))[1].id
    path = f"{DF}/Attachment/entity/{entity_id}/{rid}/photo"
    response = await api.post(path, files={"file": ("empty.dat", b"", "application/octet-stream")})
    assert response.status_code == 200, response.text
    assert response.json()["photo"]["Size"] == 0
    download = await api.get(path)
    assert download.status_code == 200 and download.content == b""
    assert download.headers["content-length"] == "0"


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/Attachment/Customer/{rid}/photo_missing", 404, "FIELD_NOT_FOUND"),
        ("/Attachment/Customer/{rid}/Photo", 404, "FIELD_NOT_FOUND"),  # field names are case-sensitive
        ("/Attachment/Customer/{rid}/fullName", 400, "NOT_A_FILE_FIELD"),
        ("/Attachment/Customer/{missing}/photo", 404, "RECORD_NOT_FOUND"),
        ("/Attachment/Customer/not-a-uuid/photo", 404, "RECORD_NOT_FOUND"),
        ("/Attachment/Nobody/{rid}/photo", 404, "ENTITY_NOT_FOUND"),
    ],
)
async def test_wrong_targets_are_clear_4xx(files_api: Api, path: str, status: int, code: str) -> None:
    api = files_api
    rid = await new_customer(api)
    target = DS + path.format(rid=rid, missing=uuid.uuid4())
    for method in ("POST", "GET", "DELETE"):
        kwargs: dict[str, Any] = {"files": {"file": ("a.txt", b"abc")}} if method == "POST" else {}
        response = await api.request(method, target, **kwargs)
        assert response.status_code == status, (method, response.text)
        body = response.json()
        assert body["code"] == code and body["error"] and body["traceId"], body
    assert await blob_keys(api) == set()


async def test_malformed_uploads(files_api: Api) -> None:
    api = files_api
    rid = await new_customer(api)
    not_multipart = await api.post(url(rid), content=b"raw bytes", headers={"content-type": "text/plain"})
    assert not_multipart.status_code == 415 and not_multipart.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    other_part = await api.post(url(rid), files={"document": ("a.txt", b"abc")})
    assert other_part.status_code == 400 and other_part.json()["code"] == "FILE_PART_MISSING"
    boundary = "xyz"
    truncated = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc'
    response = await api.post(
        url(rid),
        content=truncated.encode(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 400 and response.json()["code"] == "UPLOAD_INCOMPLETE"
    assert await stored(api, rid) is None
    assert await blob_keys(api) == set()


async def test_too_large_is_413_and_stores_nothing(files_api: Api) -> None:
    api = files_api
    api.services.files.limits = type(api.services.files.limits)(max_bytes=100_000)
    rid = await new_customer(api)
    assert (await upload(api, rid, b"small and kept")).status_code == 200
    kept = await blob_keys(api)
    response = await upload(api, rid, os.urandom(100_001))
    assert response.status_code == 413 and response.json()["code"] == "FILE_TOO_LARGE"

    async def streamed() -> AsyncIterator[bytes]:  # no Content-Length: caught while streaming
        boundary = b"--b0und"
        yield boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n'
        for _ in range(20):
            yield os.urandom(10_000)
        yield b"\r\n" + boundary + b"--\r\n"

    response = await api.post(
        url(rid), content=streamed(), headers={"content-type": "multipart/form-data; boundary=b0und"}
    )
    assert response.status_code == 413 and response.json()["code"] == "FILE_TOO_LARGE"
    assert await blob_keys(api) == kept
    assert (await api.get(url(rid))).content == b"small and kept"


async def test_ranges_and_conditional_requests(files_api: Api) -> None:
    api = files_api
    rid = await new_customer(api)
    await upload(api, rid)
    etag = f'"{hashlib.sha256(DATA).hexdigest()}"'
    cases = [
        ("bytes=0-9", 206, DATA[:10], f"bytes 0-9/{len(DATA)}"),
        ("bytes=100-", 206, DATA[100:], f"bytes 100-{len(DATA) - 1}/{len(DATA)}"),
        ("bytes=-5", 206, DATA[-5:], f"bytes {len(DATA) - 5}-{len(DATA) - 1}/{len(DATA)}"),
        (f"bytes=10-{len(DATA) * 2}", 206, DATA[10:], f"bytes 10-{len(DATA) - 1}/{len(DATA)}"),
        ("bytes=5-2", 200, DATA, None),  # invalid: ignored
        ("bytes=0-1,5-6", 200, DATA, None),  # several ranges: the whole file
        ("items=0-1", 200, DATA, None),
    ]
    for header, status, body, content_range in cases:
        response = await api.get(url(rid), headers={"Range": header})
        assert response.status_code == status, header
        assert response.content == body, header
        assert response.headers.get("content-range") == content_range, header
        assert response.headers["content-length"] == str(len(body))
    unsatisfiable = await api.get(url(rid), headers={"Range": f"bytes={len(DATA)}-"})
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["content-range"] == f"bytes */{len(DATA)}"
    assert unsatisfiable.json()["code"] == "RANGE_NOT_SATISFIABLE"
    not_modified = await api.get(url(rid), headers={"If-None-Match": f'"other", {etag}'})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert (await api.get(url(rid), headers={"If-None-Match": "W/" + etag})).status_code == 304
    assert (await api.get(url(rid), headers={"If-None-Match": '"stale"'})).status_code == 200
    matching = await api.get(url(rid), headers={"Range": "bytes=0-3", "If-Range": etag})
    assert matching.status_code == 206 and matching.content == DATA[:4]
    stale = await api.get(url(rid), headers={"Range": "bytes=0-3", "If-Range": '"old"'})
    assert stale.status_code == 200 and stale.content == DATA


@pytest.mark.parametrize(
    ("sent", "name", "fallback"),
    [
        ("Überweisung 2024.pdf", "Überweisung 2024.pdf", "_berweisung 2024.pdf"),
        ("../../etc/passwd", "passwd", "passwd"),
        ("C:\\Users\\ann\\évidence.txt", "évidence.txt", "_vidence.txt"),
        ('quote"and;semi.txt', 'quote"and;semi.txt', "quote_and;semi.txt"),
        ("bad\u202egnp.exe", "badgnp.exe", "badgnp.exe"),
        ("..", "file", "file"),
        ("報告書.xlsx", "報告書.xlsx", "___.xlsx"),
    ],
)
async def test_any_file_name_is_safe(files_api: Api, sent: str, name: str, fallback: str) -> None:
    api = files_api
    rid = await new_customer(api)
    response = await upload(api, rid, b"x", name=sent, media="text/html")
    assert response.status_code == 200, response.text
    assert response.json()["photo"]["Name"] == name
    download = await api.get(url(rid))
    disposition = download.headers["content-disposition"]
    assert disposition.startswith(f"attachment; filename=\"{fallback}\"; filename*=UTF-8''")
    assert "\r" not in disposition and "\n" not in disposition
    assert httpx.URL("http://x/?" + disposition.split("''", 1)[1]).query.decode() != ""
    assert download.headers["content-type"] == "text/html"  # as claimed, but never rendered:
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in download.headers["content-security-policy"]


async def test_record_bodies_never_write_a_file_field(files_api: Api) -> None:
    """A file object in a body is what a read returned: ignored, as the service does
    (docs/records.md); only the Attachment routes change a file. Anything else there is refused."""
    api = files_api
    rid = await new_customer(api)
    photo = (await upload(api, rid)).json()["photo"]
    same = await api.post(
        f"{DS}/EntityService/Customer/update/{rid}", json={"fullName": "Bo", "photo": photo}
    )
    assert same.status_code == 200, same.text
    assert same.json()["photo"] == photo
    changed = await api.post(
        f"{DS}/EntityService/Customer/update/{rid}", json={"photo": {**photo, "Name": "other.txt"}}
    )
    assert changed.status_code == 200 and changed.json()["photo"] == photo
    inserted = await api.post(f"{DS}/EntityService/Customer/insert", json={"fullName": "C", "photo": photo})
    assert inserted.status_code == 200 and inserted.json().get("photo") is None
    path = await api.post(f"{DS}/EntityService/Customer/update/{rid}", json={"photo": "/etc/passwd"})
    assert path.status_code == 400 and "Attachment" in path.json()["error"]
    assert (await stored(api, rid)) is not None and len(await blob_keys(api)) == 1


class RefusingStore:
    """A blob store whose writes fail after taking `after` bytes of the upload."""

    def __init__(self, inner: BlobStore, after: int = 0) -> None:
        self.inner = inner
        self.after = after

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        taken = 0
        async for chunk in chunks:
            taken += len(chunk)
            if taken >= self.after:
                break
        raise FileStorageError("File storage failed to write: disk full (injected)")


@pytest.mark.parametrize("after", [0, 100_000])
async def test_storage_refusing_a_write_changes_nothing(files_api: Api, after: int) -> None:
    api = files_api
    rid = await new_customer(api)
    await upload(api, rid, b"previous")
    before, keys = await stored(api, rid), await blob_keys(api)
    files = api.services.files
    files.blobs = RefusingStore(files.blobs, after)  # type: ignore[assignment]
    response = await upload(api, rid)
    files.blobs = files.blobs.inner  # type: ignore[attr-defined]
    assert response.status_code == 503 and response.json()["code"] == "FILE_STORAGE_UNAVAILABLE"
    assert await stored(api, rid) == before
    assert await blob_keys(api) == keys
    assert (await api.get(url(rid))).content == b"previous"


class CommitRefused(Exception):
    pass


class RefusingCommit:
    """Record writes whose commit fails: before it happens (`lost=False`) or, reply lost, after."""

    def __init__(self, inner: Any, lost: bool) -> None:
        self.inner = inner
        self.lost = lost

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @asynccontextmanager
    async def writer(self, schema: Any) -> AsyncIterator[Any]:
        async with self.inner.writer(schema) as writer:
            yield writer
            if not self.lost:
                raise CommitRefused("could not serialize access (injected)")
        raise CommitRefused("connection lost during COMMIT (injected)")


async def test_database_refusing_the_commit_keeps_the_previous_file(files_api: Api) -> None:
    api = files_api
    rid = await new_customer(api)
    await upload(api, rid, b"previous")
    before, keys = await stored(api, rid), await blob_keys(api)
    files = api.services.files
    files.store = RefusingCommit(files.store, lost=False)
    response = await upload(api, rid)
    files.store = files.store.inner
    assert response.status_code == 500 and response.json()["code"] == "INTERNAL_ERROR"
    assert await stored(api, rid) == before
    assert await blob_keys(api) == keys  # the new blob was deleted
    assert (await api.get(url(rid))).content == b"previous"
    refused_delete = RefusingCommit(files.store, lost=False)
    files.store = refused_delete
    assert (await api.delete(url(rid))).status_code == 500
    files.store = refused_delete.inner
    assert await blob_keys(api) == keys and (await api.get(url(rid))).content == b"previous"


async def test_a_lost_commit_reply_never_leaves_a_dangling_record(files_api: Api) -> None:
    api = files_api
    rid = await new_customer(api)
    await upload(api, rid, b"previous")
    old = await stored(api, rid)
    files = api.services.files
    files.store = RefusingCommit(files.store, lost=True)
    response = await upload(api, rid, b"newer")
    files.store = files.store.inner
    assert response.status_code == 500
    new = await stored(api, rid)
    assert old is not None and new is not None and new.key != old.key  # it did commit
    assert (await api.get(url(rid))).content == b"newer"  # and the blob it names was kept
    assert await blob_keys(api) == {old.key, new.key}
    assert (await files.sweep(grace=timedelta(hours=1))).removed == []  # too young
    report = await files.sweep(grace=timedelta(0))
    assert report.removed == [old.key]
    assert await blob_keys(api) == {new.key}


async def test_sweeper_removes_only_unreferenced_blobs(files_api: Api) -> None:
    api = files_api
    rid = await new_customer(api)
    await upload(api, rid, b"kept")
    held = await stored(api, rid)
    _, entity = await api.services.records.entity("Customer")
    photo = entity.field("photo")
    assert photo is not None and held is not None
    blobs = api.services.files.blobs
    orphans = [new_blob_key(entity, photo, rid), new_blob_key(entity, photo, str(uuid.uuid4()))]
    foreign = ["not/made/by/recordbase/at-all", "loose-file"]
    for key in orphans + foreign:
        await blobs.put(key, one_chunk(b"orphan"))
    report = await api.services.files.sweep(grace=timedelta(0))
    assert sorted(report.removed) == sorted(orphans)
    assert await blob_keys(api) == {held.key, *foreign}
    assert (await api.get(url(rid))).content == b"kept"


async def one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_concurrent_uploads_leave_exactly_one_blob(files_api: Api) -> None:
    api = files_api
    rid = await new_customer(api)
    bodies = [os.urandom(50_000) for _ in range(4)]
    responses = await asyncio.gather(*(upload(api, rid, body) for body in bodies))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    held = await stored(api, rid)
    assert held is not None and await blob_keys(api) == {held.key}
    assert (await api.get(url(rid))).content in bodies


async def test_removing_records_fields_and_entities_removes_their_files(files_api: Api) -> None:
    api = files_api
    ids = await standard_entities(api)
    await create_entity(
        api, "Album", [field("cover", "UNIQUEIDENTIFIER", "File"), field("back", "UNIQUEIDENTIFIER", "File")]
    )
    rids = []
    for name in ("A", "B"):
        created = await api.post(f"{DS}/EntityService/Customer/insert", json={"fullName": name})
        rids.append(created.json()["Id"])
        assert (await upload(api, rids[-1], name.encode())).status_code == 200
    album = (await api.post(f"{DS}/EntityService/Album/insert", json={})).json()["Id"]
    for side in ("cover", "back"):
        assert (await upload(api, album, b"art", field_name=side, entity="Album")).status_code == 200
    assert len(await blob_keys(api)) == 4

    assert (await api.delete(f"{DS}/EntityService/Customer/delete/{rids[0]}")).status_code == 200
    assert {await stored(api, rids[1])} == {StoredFile.from_value(_value(await api_record(api, rids[1])))}
    assert len(await blob_keys(api)) == 3

    album_id = (await api.services.records.entity("Album"))[1].id
    removed = await api.patch(f"{DF}/Entity/{album_id}", json={"removeFields": [{"name": "back"}]})
    assert removed.status_code == 200, removed.text
    assert len(await blob_keys(api)) == 2

    assert (await api.delete(f"{DF}/Entity/{album_id}")).status_code in (200, 204)
    held = await stored(api, rids[1])
    assert held is not None and await blob_keys(api) == {held.key}
    assert (
        await api.patch(f"{DF}/Entity/{ids['Customer']}", json={"removeFields": [{"name": "photo"}]})
    ).status_code == 200
    assert await blob_keys(api) == set()


async def api_record(api: Api, rid: str) -> dict[str, Any]:
    schema, entity = await api.services.records.entity("Customer")
    return (await api.services.files.store.fetch_by_ids(schema, entity, [rid]))[rid]


def _value(record: dict[str, Any]) -> Any:
    return record["photo"]


async def test_batch_delete_removes_files_of_deleted_records_only(files_api: Api) -> None:
    api = files_api
    await standard_entities(api)
    rids = []
    for name in ("A", "B", "C"):
        created = await api.post(f"{DS}/EntityService/Customer/insert", json={"fullName": name})
        rids.append(created.json()["Id"])
        assert (await upload(api, rids[-1], name.encode())).status_code == 200
    missing = str(uuid.uuid4())
    response = await api.post(f"{DS}/EntityService/Customer/delete-batch", json=[rids[0], missing, rids[2]])
    assert response.status_code in (200, 400), response.text
    survivor = await stored(api, rids[1])
    assert survivor is not None and await blob_keys(api) == {survivor.key}
    assert (await api.get(url(rids[1]))).content == b"B"
    atomic = await api.post(
        f"{DS}/EntityService/Customer/delete-batch?atomic=true", json=[rids[1], str(uuid.uuid4())]
    )
    assert atomic.status_code == 400, atomic.text  # rolled back whole: the file stays
    assert await blob_keys(api) == {survivor.key}
    assert (await api.get(url(rids[1]))).content == b"B"
