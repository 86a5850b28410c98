"""The progress bar of the commands that train grids (``reproduce``, ``bench``): one look, on stderr."""

from __future__ import annotations

from typing import Any


def training_progress(console: Any, *, failures: bool = False) -> Any:  # -> rich.progress.Progress
    """A rich ``Progress``: description, bar, done/total, (failures,) elapsed, remaining.

    With ``failures`` the task needs a ``failures`` field (``add_task(..., failures=0)``).
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    if failures:
        columns.append(TextColumn("[red]{task.fields[failures]} failed"))
    columns += [TimeElapsedColumn(), TimeRemainingColumn()]
    return Progress(*columns, console=console)
