"""Alembic environment for recordbase's own tables; run in-process by `storage.migrate`."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from recordbase.storage.tables import metadata

connection = context.config.attributes["connection"]
if connection.dialect.name == "postgresql":
    # Several server processes may start together; one migrates, the others wait.
    connection.execute(sa.text("SELECT pg_advisory_xact_lock(7420113)"))
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
