"""Turning a wall-clock budget into a deterministic amount of work.

A run that stopped "when the time is up" would give different formulas on a busy and an idle
machine. So ``--budget`` is converted with a fixed cost model (seconds per row-epoch of Light
training, calibrated on 2 CPU cores) into counts: evaluations for the search, candidates for
validation. The same seed and data then give the same formula anywhere; on the reference
machine the run takes about the budget. A hard deadline (4x the budget) still guards against
a much slower machine, and provenance says when it fired (then the result may differ).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

#: Seconds per (row x epoch) of Light-network training with a symbolic activation, 2 cores.
SECONDS_PER_ROW_EPOCH = 1.4e-5
#: Fixed cost per training (model build, evaluation), seconds.
SECONDS_PER_TRAINING = 0.15
HARD_DEADLINE_FACTOR = 4.0


def training_cost(rows: int, epochs: int) -> float:
    """Estimated seconds for one Light training on ``rows`` rows for ``epochs`` epochs."""
    return rows * epochs * SECONDS_PER_ROW_EPOCH + SECONDS_PER_TRAINING


@dataclass
class Clock:
    """The budget of one run: its start, its estimate and its hard deadline."""

    budget_s: float
    start: float = 0.0
    deadline_hit: bool = False

    def __post_init__(self) -> None:
        self.start = time.monotonic()

    @property
    def hard_deadline(self) -> float:
        return self.start + HARD_DEADLINE_FACTOR * self.budget_s

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def past_deadline(self) -> bool:
        if time.monotonic() > self.hard_deadline:
            self.deadline_hit = True
        return self.deadline_hit
