"""Fixtures for the tests that drive the official `uipath` SDK."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _close_leaked_sockets() -> Iterator[None]:
    """The SDK never closes its httpx clients. Finalize them after each test, with their
    ResourceWarning ignored, instead of at the end of the session, where pytest reports them
    as unraisable exceptions and the run fails although every test passed."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
