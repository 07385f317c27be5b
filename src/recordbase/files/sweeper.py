"""The orphan sweeper: remove blobs that nothing references once they are older than a grace period.

Uploads write the blob first and commit the record after; a process killed between the
two, or a cleanup that failed after a commit, leaves a blob no record names. The grace
period must exceed the longest time from a blob's completion to its commit; the default
(an hour) is far above it. Which keys are still referenced is the caller's to answer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from recordbase.files.store import BlobStore

logger = logging.getLogger("recordbase.files")

Keep = Callable[[Sequence[str]], Awaitable[set[str]]]
"""Given candidate keys, return those that must stay (referenced, or not ours to judge)."""


@dataclass
class SweepReport:
    examined: int = 0
    removed: list[str] = field(default_factory=list)
    incomplete: int = 0


async def sweep(store: BlobStore, keep: Keep, older_than: datetime, batch: int = 500) -> SweepReport:
    """Delete each blob modified before `older_than` that `keep` does not claim, and stale partial uploads."""
    report = SweepReport()
    candidates: list[str] = []
    async for info in store.list():
        report.examined += 1
        if info.modified < older_than:
            candidates.append(info.key)
        if len(candidates) >= batch:
            await _judge(store, keep, candidates, report)
            candidates = []
    await _judge(store, keep, candidates, report)
    report.incomplete = await store.delete_incomplete(older_than)
    if report.removed or report.incomplete:
        logger.info("swept %d orphaned blob(s), %d partial upload(s)", len(report.removed), report.incomplete)
    return report


async def _judge(store: BlobStore, keep: Keep, candidates: list[str], report: SweepReport) -> None:
    if not candidates:
        return
    kept = await keep(candidates)
    doomed = [key for key in candidates if key not in kept]
    await store.delete(doomed)
    report.removed += doomed
