"""File-system helpers: the user cache directory, and bounded reads of untrusted files."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def user_cache_dir(*parts: str) -> Path:
    """``$XDG_CACHE_HOME/nsad-lib/<parts>``, else ``~/.cache/nsad-lib/<parts>``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().joinpath("nsad-lib", *parts)


class UnsafeFileError(ValueError):
    """A file that may not be read: not a regular file, or larger than its limit (the message says which)."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _refuse_mode(mode: int, size: int, limit: int) -> None:
    if not stat.S_ISREG(mode):
        raise UnsafeFileError(f"{_kind(mode)}, not a regular file")
    if size > limit:
        raise UnsafeFileError(f"{size} bytes is more than the {limit}-byte limit")


def read_bounded(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes.

    Untrusted files are never opened blindly: the path is ``stat``-ed first (a FIFO, a device
    such as ``/dev/zero`` behind a symlink, or a directory is refused without opening it),
    opened with ``O_NONBLOCK`` (a FIFO swapped in after the ``stat`` cannot block the open),
    ``fstat``-ed again on the open descriptor (what is read is what was checked), and read
    to at most ``limit + 1`` bytes (a file that grows meanwhile is still refused).

    Raises :class:`FileNotFoundError`/:class:`OSError` when the file cannot be opened, and
    :class:`UnsafeFileError` when it is not a regular file or is too large.
    """
    st = os.stat(path)
    _refuse_mode(st.st_mode, st.st_size, limit)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        _refuse_mode(st.st_mode, st.st_size, limit)
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise UnsafeFileError(f"more than the {limit}-byte limit")
    return data
