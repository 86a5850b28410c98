"""Shared fixtures: where the project's real data lives (``../shared/data`` beside the repo), and
one torch thread for the tests that train tiny networks."""

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


@pytest.fixture
def one_torch_thread():
    """Tiny networks train fastest, and unaffected by other load, on one thread."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
