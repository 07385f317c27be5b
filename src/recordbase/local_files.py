"""The data directory and the local files that hold secrets: created private, checked at start.

The SQLite database holds the token-signing key and every record; `admin-token` is an
Administrator's bearer token. Another local user who can read either can act as an
administrator, so the directory is created 0700 and these files 0600 (SQLite gives its
`-wal` and `-shm` files the database file's mode). Modes found looser at start are
reported in the log, in words, and left as they are: the operator decides.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from recordbase.settings import Settings

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
ADMIN_TOKEN_FILE = "admin-token"
logger = logging.getLogger("recordbase.security")


def sqlite_path(settings: Settings) -> Path | None:
    return None if settings.is_postgres else Path(settings.resolved_database_url.removeprefix("sqlite:///"))


def prepare_local_files(settings: Settings) -> None:
    """Create the data directory (0700) and the SQLite file (0600) if missing; warn about loose modes."""
    make_private_dir(settings.data_dir)
    database = sqlite_path(settings)
    if database is not None:
        make_private_dir(database.parent)
        create_private_file(database)
    for problem in loose_modes(settings):
        logger.warning(problem)


def make_private_dir(path: Path) -> None:
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(PRIVATE_DIR)


def create_private_file(path: Path) -> None:
    """An empty file readable and writable by its owner only; an existing file is left alone."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
    except FileExistsError:
        return


def write_private_file(path: Path, text: str) -> None:
    """Replace `path` with `text`, never readable by others, not even for a moment."""
    descriptor = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, PRIVATE_FILE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), PRIVATE_FILE)
        out.write(text)


def loose_modes(settings: Settings) -> list[str]:
    """One sentence per secret-holding path that other local users may read or enter."""
    problems = []
    database = sqlite_path(settings)
    checks: list[tuple[Path, str]] = [(settings.data_dir, "the data directory")]
    if database is not None:
        checks.append((database.parent, "the database's directory"))
        checks += [
            (Path(f"{database}{suffix}"), "the SQLite database (it holds the token-signing key)")
            for suffix in ("", "-wal", "-shm")
        ]
    checks.append((settings.data_dir / ADMIN_TOKEN_FILE, "the admin token file"))
    for path, what in checks:
        problem = _loose(path, what)
        if problem and problem not in problems:
            problems.append(problem)
    return problems


def _loose(path: Path, what: str) -> str | None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    wanted = PRIVATE_DIR if path.is_dir() else PRIVATE_FILE
    if mode & 0o077 == 0:
        return None
    return (
        f"Insecure permissions: {what} {path} has mode {mode:04o}, so other local users can read it; "
        f"run `chmod {wanted:o} {path}`."
    )
