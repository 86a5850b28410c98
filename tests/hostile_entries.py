"""Entry-file mutations that must be refused with a clear error (shared by registry and Hub tests).

Each value is ``(mutate, message)``: ``mutate`` edits an entry's JSON dict in place (the hash is
recomputed afterwards by the caller), ``message`` is a fragment of the expected error.
"""

from __future__ import annotations


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
