"""Where the benchmarks write: an untracked folder by default, the committed results on request.

Every run writes under ``benchmarks/out/`` (gitignored), so running a benchmark never changes a
tracked file. ``--update-results`` writes ``benchmarks/results/`` (and, for the activation
benchmark's full CPU run, ``docs/img/``) instead: the committed numbers the docs quote. An
explicit ``--out`` always wins.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: Committed results (the numbers docs/performance.md quotes); written only with --update-results.
RESULTS = HERE / "results"
#: Every run's default destination; listed in .gitignore.
LOCAL = HERE / "out"

UPDATE_HELP = "write the committed results (benchmarks/results/, docs/img/) instead of benchmarks/out/"


def output_stem(name: str, out: Path | None, update_results: bool) -> Path:
    """The results path without suffix: ``out`` if given, else results/NAME or out/NAME."""
    if out is not None:
        return out
    return (RESULTS if update_results else LOCAL) / name
