"""The append-only result store of a grid: ``results.jsonl`` in the grid's folder.

One JSON object per line, written with a single ``write`` and ``fsync``\\ed before the next run
is recorded, so an interrupted grid loses at most the runs in flight. A line cut short by a
crash (the last line, without its newline) is ignored on reading and cut off before the next
append. Only ``"status": "ok"`` records count as done: failed runs are
retried when the grid is run again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

from nsad_lib.errors import NsadError

__all__ = ["STORE_NAME", "SCHEMA", "ResultStore"]

STORE_NAME = "results.jsonl"
SCHEMA = "nsad-bench-result/1"


class ResultStore:
    """Append-only JSONL records of one grid (``DIR/results.jsonl``)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.path = self.directory / STORE_NAME

    def exists(self) -> bool:
        return self.path.is_file()

    def records(self) -> Iterator[dict]:
        """Every complete record, in the order written (a torn last line is skipped)."""
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                if number == len(lines):  # the last line, cut short by a crash
                    continue
                raise NsadError(f"{self.path}: line {number} is not a JSON record; the store is "
                                f"damaged (move it away to start over)") from None
            if not isinstance(record, dict) or record.get("schema") != SCHEMA or "key" not in record:
                raise NsadError(f"{self.path}: line {number} is not an nsad-lib bench record")
            yield record

    def done_keys(self) -> set[str]:
        return {r["key"] for r in self.records() if r.get("status") == "ok"}

    def latest(self) -> dict[str, dict]:
        """The last record per key, ``ok`` records winning over later failures."""
        out: dict[str, dict] = {}
        for r in self.records():
            if r.get("status") == "ok" or out.get(r["key"], {}).get("status") != "ok":
                out[r["key"]] = r
        return out

    def append(self, record: dict) -> None:
        """Write one record as one line and fsync it."""
        record = {"schema": SCHEMA, **record}
        line = (json.dumps(record, sort_keys=True, allow_nan=True) + "\n").encode()
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size:
                with open(self.path, "rb") as f:
                    f.seek(max(0, size - (1 << 20)))
                    tail = f.read()
                if not tail.endswith(b"\n"):  # drop a record torn by a crash (it was never complete)
                    os.ftruncate(fd, size - (len(tail) - tail.rfind(b"\n") - 1))
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
