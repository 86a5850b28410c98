"""Discovery strategies. Each turns one seed's training split into candidate formulas.

- ``collapse`` (the paper's method): a symbolic classifier on the labels, every variable then
  collapsed to ``x``. Fast (seconds); the formula's shape is a side effect of fitting labels, so
  use it to reproduce the paper or as a quick baseline.
- ``distill``: train the Light network with a flexible learnable activation (a piecewise-linear
  spline shared by all units), then regress a compact formula to the learned curve over the
  pre-activation range actually seen. Use it when you want the shape the network itself asks
  for, at the cost of one training plus a regression (about a minute on HIGGS).
- ``search``: evolve univariate formulas whose fitness is the validation AUC of a Light network
  trained briefly on the source's training split, within ``--budget``. The most direct and the
  most expensive; use it for the best activation you can afford (the default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from nsad_lib.discovery.candidates import Candidate

STRATEGIES = ("search", "distill", "collapse")

Progress = Callable[[str], None]


@dataclass
class StrategyResult:
    """Candidates (best first) and the settings and facts provenance should record."""

    candidates: list[Candidate]
    settings: dict[str, object] = field(default_factory=dict)
    facts: dict[str, object] = field(default_factory=dict)
    rejected: list[dict[str, str]] = field(default_factory=list)
