"""The user cache directory that downloads and Hub pulls share."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir(*parts: str) -> Path:
    """``$XDG_CACHE_HOME/nsad-lib/<parts>``, else ``~/.cache/nsad-lib/<parts>``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().joinpath("nsad-lib", *parts)
