"""What every CLI command group shares: settings from flags and the environment."""

from __future__ import annotations

import os
from pathlib import Path

from recordbase.settings import Settings


def settings_from(database_url: str | None, data_dir: Path | None, **more: object) -> Settings:
    """Flags win over the environment; they are also exported so that worker processes see them."""
    given = {"database_url": database_url, "data_dir": data_dir, **more}
    for key, value in given.items():
        if value is not None:
            os.environ[f"RECORDBASE_{key.upper()}"] = str(value)
    return Settings()
