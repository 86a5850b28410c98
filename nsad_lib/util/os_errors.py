"""One line for an ``OSError`` on a path the user named, saying what is really wrong with it.

The operating system's words mislead for two common mistakes: a path *under a regular file*
(``/etc/passwd/x.lock``: ``mkdir`` of the parent says "File exists", ``open`` says "Not a
directory" about the whole path) and a device or pipe given where a data file is expected.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["describe_os_error", "non_directory_ancestor", "not_regular_file"]


def non_directory_ancestor(path: str | os.PathLike[str]) -> Path | None:
    """The first component of ``path`` (from the root down) that exists but is not a directory.

    ``path`` itself is included: ``mkdir`` of a name taken by a file fails the same way.
    """
    p = Path(os.fsdecode(path))
    for candidate in (*reversed(p.parents), p):
        try:
            mode = candidate.stat().st_mode
        except OSError:
            return None  # missing (or unreadable): nothing below it can exist either
        if not stat.S_ISDIR(mode):
            return candidate
    return None


def not_regular_file(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be read as a data file, or ``None`` when it is a regular file.

    ``"no such file"``, ``"not a directory: /etc/passwd"`` (a component on the way is a file),
    ``"is a directory"``, or ``"not a regular file (a character device)"``. Never opens it, so a
    FIFO cannot block and ``/dev/zero`` cannot stream without end.
    """
    p = Path(os.fsdecode(path))
    try:
        mode = p.stat().st_mode
    except NotADirectoryError:
        blocker = non_directory_ancestor(p)
        return f"not a directory: {blocker}" if blocker is not None else "no such file"
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot read ({exc.strerror or type(exc).__name__})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory; pass a data file"
    kind = ("a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
            else "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a special file")
    return f"not a regular file ({kind})"


def describe_os_error(exc: OSError) -> str:
    """``"not a directory: /etc/passwd"`` for a path under a file, else ``"<strerror>: <path>"``."""
    name = exc.filename
    if not isinstance(name, (str, bytes, os.PathLike)):  # None, or a file descriptor
        return exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        blocker = non_directory_ancestor(name)
        if blocker is not None and (exc.errno == errno.ENOTDIR or blocker == Path(os.fsdecode(name))):
            return f"not a directory: {blocker}"
    other = exc.filename2
    target = os.fsdecode(name) + (f" -> {os.fsdecode(other)}" if isinstance(other, (str, bytes, os.PathLike)) else "")
    return f"{exc.strerror or type(exc).__name__}: {target}"
