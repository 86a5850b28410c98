"""A hang turned into a test failure (SIGALRM; POSIX main thread only, elsewhere a no-op)."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator


@contextlib.contextmanager
def fails_instead_of_hanging(seconds: int = 20, what: str = "the call") -> Iterator[None]:
    """Raise ``TimeoutError`` inside the block after ``seconds`` (no-op off the main thread)."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _timeout(signum, frame):  # noqa: ANN001 - signal handler signature
        raise TimeoutError(f"{what} did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
