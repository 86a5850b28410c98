"""Shared fixtures: where the project's real data lives (``../shared/data`` beside the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_data_dir() -> Path:
    """``NSAD_SHARED_DATA`` if set, else ``../shared/data`` relative to the repository root."""
    env = os.environ.get("NSAD_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real data not found at {path} (set NSAD_SHARED_DATA to its folder)")
    return path
