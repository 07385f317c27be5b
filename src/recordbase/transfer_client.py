"""`recordbase import` / `recordbase export` against a running server (docs/import-export.md).

Import sends the file in chunks of `chunk` rows, each one `bulk-upload` request; with the
server's `batch_limit` as the chunk size each chunk is one transaction. After each chunk the
number of rows done is recorded in `FILE.progress`, so `--resume` after an interruption starts
at the first row not answered and no row is written twice. Rejected rows are gathered from the
answers' error files into `FILE.errors.csv`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import sys
import time
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
from recordbase.core.transfer import chunks, export_csv, export_jsonl, import_rows
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


Sender = Callable[[list[str], list[list[str]], ImportTotals], None]
"""Writes one chunk (header, rows) and adds what became of it to the totals."""


def import_file(send: Sender, file: Path, chunk: int, resume: bool) -> ImportTotals:
    """Send FILE in chunks; the totals count this run's rows (skipped ones apart)."""
    state = file.with_name(file.name + ".progress")
    done = _done(state) if resume else 0
    totals = ImportTotals(skipped=done)
    report = reporter(file.stat().st_size)
    with file.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as source:
        rows = _rows(source)
        header = next(rows, [])
        sent = done
        for block in chunks(itertools.islice(rows, done, None), chunk):
            send(header, block, totals)
            sent += len(block)
            state.write_text(json.dumps({"rows": sent}), encoding="utf-8")
            report.advance(len(block), raw.tell())
    report.close()
    if totals.rejected == 0:
        state.unlink(missing_ok=True)
    return totals


def _done(state: Path) -> int:
    if not state.exists():
        return 0
    return int(json.loads(state.read_text(encoding="utf-8"))["rows"])


def http_sender(http: httpx.Client, entity: str, file: Path) -> Sender:
    """Each chunk a `bulk-upload` request to a running server."""
    return lambda header, block, totals: _upload(http, entity, header, block, totals, file)


def direct_sender(runner: asyncio.Runner, services: Services, entity: str, file: Path) -> Sender:
    """Each chunk straight through the core's write path as the system actor (no server)."""
    rejects = ErrorRows(file.with_name(file.name + ".errors.csv"))

    def send(header: list[str], block: list[list[str]], totals: ImportTotals) -> None:
        rows = iter([header, *block])
        limit = services.settings.batch_limit
        work = import_rows(services.records, entity, rows, SYSTEM, limit, rejects.add)
        try:
            summary = runner.run(work)
        except RecordbaseError as error:
            raise ImportRefused(error.message) from None
        totals.total += summary.total
        totals.inserted += summary.inserted
        totals.rejected += summary.rejected
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
) -> None:
    files = {"file": (file.name, _encode(header, block), "text/csv")}
    response = http.post(f"{entity_path(entity)}/bulk-upload", files=files)
    if response.status_code != 200:
        raise ImportRefused(_message(response))
    answer = response.json()
    totals.total += int(answer["totalRecords"])
    totals.inserted += int(answer["insertedRecords"])
    link = answer.get("errorFileLink")
    if link:
        totals.rejected += int(answer["totalRecords"]) - int(answer["insertedRecords"])
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
