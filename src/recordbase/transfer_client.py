"""`recordbase import` / `recordbase export` against a running server (docs/import-export.md).

Import sends the file in chunks of `chunk` rows, each one `bulk-upload` request; with the
server's `batch_limit` as the chunk size each chunk is one transaction. `FILE.progress` holds the
import's key and the rows answered so far; every row's Id derives from the key and its row
number, so a chunk sent again after an interruption (committed, but the mark not yet written)
inserts only the rows that are missing: `--resume` is exact. A finished import is marked as such;
resuming it does nothing and says so. Rejected rows are gathered from the answers' error files
into `FILE.errors.csv`, which can be imported again once fixed (its `Error` column is ignored).
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import httpx
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from recordbase.core.actors import SYSTEM
from recordbase.core.query import parse_odata
from recordbase.core.transfer import ImportKey, chunks, export_csv, export_jsonl, import_rows
from recordbase.errors import RecordbaseError
from recordbase.services import Services

TIMEOUT = httpx.Timeout(300.0, connect=10.0)


class Reporter(Protocol):
    def advance(self, rows: int, position: int) -> None: ...
    def close(self) -> None: ...


@dataclass
class ImportTotals:
    total: int = 0
    inserted: int = 0
    skipped: int = 0
    rejected: int = 0
    replayed: int = 0
    """Rows of a resent chunk that were already stored (skipped, not inserted twice)."""
    finished_before: bool = False
    errors_file: Path | None = None
    started: float = field(default_factory=time.monotonic)


class PlainReporter:
    """One line per chunk, for logs and CI."""

    def __init__(self, size: int) -> None:
        self.size, self.rows, self.started = size, 0, time.monotonic()

    def advance(self, rows: int, position: int) -> None:
        self.rows += rows
        rate = self.rows / max(time.monotonic() - self.started, 1e-9)
        sys.stderr.write(f"{self.rows} rows, {position}/{self.size} bytes, {rate:.0f} rows/s\n")

    def close(self) -> None:
        return None


class BarReporter:
    """A rich progress bar on a terminal: bytes, rows, rate and time left."""

    def __init__(self, size: int) -> None:
        self.progress = Progress(
            TextColumn("{task.fields[rows]} rows"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        self.task = self.progress.add_task("import", total=size, rows=0)
        self.rows = 0
        self.progress.start()

    def advance(self, rows: int, position: int) -> None:
        self.rows += rows
        self.progress.update(self.task, completed=position, rows=self.rows)

    def close(self) -> None:
        self.progress.stop()


def reporter(size: int) -> Reporter:
    return BarReporter(size) if sys.stderr.isatty() else PlainReporter(size)


def client(url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    )


def entity_path(entity: str) -> str:
    return f"/api/EntityService/{entity}"


def _encode(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _rows(source: IO[str]) -> Iterator[list[str]]:
    csv.field_size_limit(2**31 - 1)
    return csv.reader(source, strict=True)


Sender = Callable[[list[str], list[list[str]], ImportTotals, ImportKey], None]
"""Writes one chunk (header, rows, the chunk's key and first row) and adds what became of it to the totals."""


@dataclass
class ImportMark:
    """`FILE.progress`: the import's key, the rows answered, and whether it finished."""

    path: Path
    key: str
    rows: int = 0
    finished: bool = False

    @classmethod
    def load(cls, path: Path, resume: bool) -> ImportMark:
        """The stored progress when resuming one; else a new import with a new key."""
        if resume and path.exists():
            stored = json.loads(path.read_text(encoding="utf-8"))
            key = str(stored.get("key") or new_key())
            return cls(path, key, int(stored.get("rows", 0)), bool(stored.get("finished", False)))
        return cls(path, new_key())

    def save(self) -> None:
        """Write the mark atomically (a new file renamed over the old), so a kill leaves one or the other."""
        staged = self.path.with_name(self.path.name + ".tmp")
        body = {"key": self.key, "rows": self.rows, "finished": self.finished}
        staged.write_text(json.dumps(body), encoding="utf-8")
        os.replace(staged, self.path)


def new_key() -> str:
    """The start time in ms (12 hex digits: imported Ids sort after earlier records) and 20 random ones."""
    return f"{int(time.time() * 1000):012x}{uuid.uuid4().hex[:20]}"


def import_file(send: Sender, file: Path, chunk: int, resume: bool) -> ImportTotals:
    """Send FILE in chunks; the totals count this run's rows (skipped ones apart)."""
    progress = ImportMark.load(file.with_name(file.name + ".progress"), resume)
    totals = ImportTotals(skipped=progress.rows, finished_before=progress.finished)
    if progress.finished:
        return totals
    progress.save()  # the key is on disk before any row is sent
    report = reporter(file.stat().st_size)
    with file.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as source:
        rows = _rows(source)
        header = next(rows, [])
        for block in chunks(itertools.islice(rows, progress.rows, None), chunk):
            send(header, block, totals, ImportKey(progress.key, progress.rows))
            progress.rows += len(block)
            progress.save()
            report.advance(len(block), raw.tell())
    report.close()
    progress.finished = True
    progress.save()
    return totals


def http_sender(http: httpx.Client, entity: str, file: Path) -> Sender:
    """Each chunk a `bulk-upload` request to a running server."""
    return lambda header, block, totals, key: _upload(http, entity, header, block, totals, file, key)


def direct_sender(runner: asyncio.Runner, services: Services, entity: str, file: Path) -> Sender:
    """Each chunk straight through the core's write path as the system actor (no server)."""
    rejects = ErrorRows(file.with_name(file.name + ".errors.csv"))

    def send(header: list[str], block: list[list[str]], totals: ImportTotals, key: ImportKey) -> None:
        rows = iter([header, *block])
        limit = services.settings.batch_limit
        work = import_rows(services.records, entity, rows, SYSTEM, limit, rejects.add, key)
        try:
            summary = runner.run(work)
        except RecordbaseError as error:
            raise ImportRefused(error.message) from None
        totals.total += summary.total
        totals.inserted += summary.inserted
        totals.rejected += summary.rejected
        totals.replayed += summary.skipped
        if summary.rejected:
            totals.errors_file = rejects.path

    return send


class ErrorRows:
    """FILE.errors.csv for a direct import: the header plus `Error`, then rows as they are rejected."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started = False

    def add(self, header: Sequence[str], row: list[str]) -> None:
        with self.path.open("a" if self.started else "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\r\n")
            if not self.started:
                writer.writerow([*header, "Error"])
                self.started = True
            writer.writerow(row)


def _upload(
    http: httpx.Client,
    entity: str,
    header: list[str],
    block: list[list[str]],
    totals: ImportTotals,
    file: Path,
    key: ImportKey,
) -> None:
    files = {"file": (file.name, _encode(header, block), "text/csv")}
    params = {"importKey": key.key, "importOffset": str(key.offset)}
    response = http.post(f"{entity_path(entity)}/bulk-upload", files=files, params=params)
    if response.status_code != 200:
        raise ImportRefused(_message(response))
    answer = response.json()
    replayed = int(answer.get("skippedRecords", 0))
    totals.total += int(answer["totalRecords"])
    totals.inserted += int(answer["insertedRecords"])
    totals.replayed += replayed
    link = answer.get("errorFileLink")
    if link:
        totals.rejected += int(answer["totalRecords"]) - int(answer["insertedRecords"]) - replayed
        _append_errors(http, link, file, totals)


def _append_errors(http: httpx.Client, link: str, file: Path, totals: ImportTotals) -> None:
    body = http.get(link).content.decode("utf-8")
    target = file.with_name(file.name + ".errors.csv")
    if totals.errors_file is None:
        totals.errors_file = target
        target.write_text(body, encoding="utf-8", newline="")
        return
    with target.open("a", encoding="utf-8", newline="") as out:
        out.write(body.split("\r\n", 1)[1] if "\r\n" in body else "")


class ImportRefused(Exception):
    """The server refused a chunk as a whole (bad header, no permission, unknown entity)."""


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text))
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}"


def export_to(http: httpx.Client, entity: str, kind: str, filter_text: str | None, out: IO[bytes]) -> int:
    """Stream the export into `out`; answers the number of bytes written."""
    params = {"format": kind, **({"$filter": filter_text} if filter_text else {})}
    written = 0
    with http.stream("GET", f"{entity_path(entity)}/export", params=params) as response:
        if response.status_code != 200:
            response.read()
            raise ImportRefused(_message(response))
        for part in response.iter_bytes():
            out.write(part)
            written += len(part)
    return written


def export_direct(
    runner: asyncio.Runner,
    services: Services,
    entity: str,
    kind: str,
    filter_text: str | None,
    out: IO[bytes],
) -> int:
    """The export straight from the database, as the system actor; answers the bytes written."""
    written = 0
    try:
        query = parse_odata({"$filter": filter_text} if filter_text else {}, services.query.limits)
        escape = services.settings.export_escape_formulas
        stream = (
            export_csv(services.query, entity, query, SYSTEM, escape_formulas=escape)
            if kind == "csv"
            else export_jsonl(services.query, entity, query, SYSTEM)
        )

        async def next_part() -> bytes | None:
            return await anext(stream, None)

        while (part := runner.run(next_part())) is not None:
            out.write(part)
            written += len(part)
    except RecordbaseError as error:
        raise ImportRefused(error.message) from None
    return written
