"""Entry-file mutations that must be refused with a clear error (shared by registry and Hub tests).

Each value is ``(mutate, message)``: ``mutate`` edits an entry's JSON dict in place (the hash is
recomputed afterwards by the caller), ``message`` is a fragment of the expected error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def nested_list(depth: int) -> list:
    """``[[[...]]]`` with ``depth`` levels."""
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


HOSTILE_ENTRIES = {
    "huge-int-metric": (lambda d: d["metrics"].update(n=10**5000), "a number has too many digits"),
    "huge-int-parameter": (lambda d: d["parameters"].update(a=10**400), "parameters.a is an integer too large"),
    "deep-metrics": (lambda d: d["metrics"].update(n=nested_list(800)), "nested more than 32 levels deep"),
}


# A rehashed entry whose formula is not finite in its documented range (re-checked on load).
HOSTILE_ENTRIES["non-finite-formula"] = (lambda d: d.update(formula="log(x)", parameters={}), "non-finite")
# A summary so large the file is over the entry size cap (1 MiB): refused before it is parsed.
HOSTILE_ENTRIES["huge-summary"] = (lambda d: d.update(summary="x" * (1 << 20)), "more than the 1048576-byte limit")


# -- hostile *files*: something that is not a small regular file where a JSON file should be ----
def _make_fifo(path: Path) -> None:
    os.mkfifo(path)


def _make_dev_zero_link(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _make_directory(path: Path) -> None:
    path.mkdir()


def _make_oversized(path: Path) -> None:
    path.write_bytes(b" " * ((4 << 20) + 1))  # over every cap (entries and indexes 1 MiB, lock files 4 MiB)


def _make_deep(path: Path) -> None:
    path.write_text("[" * 200_000 + "]" * 200_000)  # 400 kB: under the size caps, far over any nesting limit


HOSTILE_FILES = {
    "fifo": (_make_fifo, "a named pipe (FIFO), not a regular file"),
    "dev-zero-symlink": (_make_dev_zero_link, "a device, not a regular file"),
    "directory": (_make_directory, "a directory, not a regular file"),
    "oversized": (_make_oversized, "bytes is more than the"),
    "deep-nesting": (_make_deep, "nested too deeply"),
}
"""``name -> (make(path), message)``: ``make`` puts the hostile thing at ``path`` (which must not exist)."""


def run_bounded(args: list[str], timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Run ``python args...`` with a time and memory limit: a regression that blocks on a FIFO or reads
    ``/dev/zero`` without end fails the test instead of hanging it or exhausting memory."""
    import resource

    def limit_memory() -> None:  # pragma: no cover - runs in the child
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    try:
        return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, preexec_fn=limit_memory,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{args} still running after {timeout} s (blocked on a special file?)") from None
