"""Read a PySR ``hall_of_fame`` CSV (columns ``Complexity,Loss,Equation``) into expressions.

PySR writes one row per Pareto-optimal equation, with variables ``x0..xn`` and its own
operator names (``square``, ``cube``, ...). The rows become ordinary backend expressions, so
they go through the same safe conversion and validation as a live run.
"""

from __future__ import annotations

import csv
from pathlib import Path

from nsad_lib.discovery.backends.base import Expression
from nsad_lib.errors import DataError

REQUIRED = ("Complexity", "Loss", "Equation")


def read_hall_of_fame(path: str | Path) -> list[Expression]:
    """Expressions from a PySR hall_of_fame CSV, lowest loss first; errors name the file and row."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such PySR hall_of_fame file")
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise DataError(f"{p}: not a PySR hall_of_fame CSV: missing column(s) {', '.join(missing)} (found {header})")
            out: list[Expression] = []
            for i, row in enumerate(reader, start=2):
                row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
                try:
                    out.append(Expression(row["Equation"], -float(row["Loss"]), int(float(row["Complexity"]))))
                except ValueError:
                    raise DataError(f"{p}: line {i}: Complexity and Loss must be numbers") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: cannot read: {exc}") from None
    if not out:
        raise DataError(f"{p}: the hall_of_fame CSV has no equations")
    return sorted(out, key=lambda e: (-e.fit, e.length))
