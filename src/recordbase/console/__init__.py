"""The web console at `/console/` (docs/console.md): server-rendered pages that call the public API."""

from __future__ import annotations

from recordbase.console.routes import console_routes

__all__ = ["console_routes"]
