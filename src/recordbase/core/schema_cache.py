"""The schema snapshot every request starts from, and how it stays current across processes.

A change made here reloads at once. A change made by another process is seen through
(1) a notification where the backend has one (PostgreSQL NOTIFY), and (2) a version
check whenever a name is not found or storage reports a missing table or column, so a
lost notification costs one extra query, never a wrong answer.
"""

from __future__ import annotations

import asyncio

from recordbase.core.ports import SchemaStore
from recordbase.core.schema import Schema


class SchemaCache:
    def __init__(self, store: SchemaStore) -> None:
        self._store = store
        self._schema = Schema()
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task[Schema] | None = None

    @property
    def current(self) -> Schema:
        return self._schema

    async def reload(self) -> Schema:
        async with self._lock:
            loaded = await self._store.load()
            if loaded.version >= self._schema.version:
                self._schema = loaded
            return self._schema

    async def refresh_if_changed(self) -> bool:
        """Reload when the stored version differs; return whether it did."""
        if await self._store.current_version() == self._schema.version:
            return False
        await self.reload()
        return True

    def invalidate(self) -> None:
        """Called from a change notification: reload in the background."""
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self.reload())
