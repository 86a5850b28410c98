"""The amount of work a discovery does: fixed by its arguments, never by the clock.

A run that stopped "when the time is up" gives different formulas on a busy and an idle
machine. So the work is counted: the search trains ``evaluations`` formulas, validation trains
a fixed number of candidates, operon runs a fixed number of evaluations. ``--evaluations N``
sets the search's count directly. ``--budget SECONDS`` is converted **once, at the start** (after
the rows are counted, before any training) with the fixed cost model below: seconds per
row-epoch of Light training, a constant calibrated on an idle 2-core machine and never measured
on the machine at hand. The same arguments and data therefore give the same work, the same
formula and the same validation numbers on any machine; a slow machine just takes longer.
The conversion is recorded in the entry's provenance (``method.settings.work``).

No deadline cuts a run short. ``--time-limit SECONDS`` (off by default) is a guard: when it
passes, the run stops with :class:`DeadlineError` and writes nothing, rather than return a
formula that a re-run would not give.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from nsad_lib.errors import NsadError

#: Seconds per (row x epoch) of Light-network training with a symbolic activation, 2 cores.
SECONDS_PER_ROW_EPOCH = 1.4e-5
#: Fixed cost per training (model build, evaluation), seconds.
SECONDS_PER_TRAINING = 0.15

RULE = ("evaluations = max(16, floor(0.55 * budget_s / cost)), validated candidates = "
        "clamp(floor((share * budget_s - 2 * val_cost) / (4 * val_cost)), 1, 6); cost = rows * epochs * "
        f"{SECONDS_PER_ROW_EPOCH:g} s + {SECONDS_PER_TRAINING:g} s per training (fixed constants, not measured)")


class DeadlineError(NsadError):
    """``--time-limit`` passed before the fixed amount of work was done; nothing was written."""


def training_cost(rows: int, epochs: int) -> float:
    """Nominal seconds for one Light training on ``rows`` rows for ``epochs`` epochs (cost model)."""
    return rows * epochs * SECONDS_PER_ROW_EPOCH + SECONDS_PER_TRAINING


def budget_for_evaluations(evaluations: int, per_eval: float, share: float) -> float:
    """The nominal budget whose ``share`` buys ``evaluations`` search evaluations (the inverse rule)."""
    return evaluations * per_eval / share


@dataclass
class Clock:
    """An optional time limit. ``check`` raises :class:`DeadlineError` once it has passed."""

    limit_s: float | None = None
    start: float = 0.0

    def __post_init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def check(self, what: str) -> None:
        if self.limit_s is not None and self.elapsed() > self.limit_s:
            raise DeadlineError(
                f"--time-limit {self.limit_s:g} s passed during {what} ({self.elapsed():.0f} s elapsed); stopped, "
                "nothing written. The work is fixed by --budget/--evaluations, so a shorter run would give a "
                "different formula: raise --time-limit, drop it, or lower --budget/--evaluations")
