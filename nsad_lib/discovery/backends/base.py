"""The backend interface: fit expressions to data and return them as the backend prints them.

Strategies never import a backend library directly; they ask for expressions through this
interface and convert the text with :mod:`nsad_lib.discovery.convert`. That keeps each backend
swappable and every conversion on the one safe path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["Backend", "Expression"]


@dataclass(frozen=True)
class Expression:
    """One expression as printed by a backend, with the backend's own fit score and size."""

    text: str
    fit: float
    length: int


class Backend(Protocol):
    """What a strategy needs from a symbolic-regression library."""

    name: str

    def version(self) -> str:
        """Installed version of the backing library (recorded in provenance)."""

    def classify(self, X: np.ndarray, y: np.ndarray, *, seed: int, budget_s: float, preset: str = "default") -> list[Expression]:
        """Multivariate expressions predicting labels ``y`` (collapse strategy), best first."""

    def regress(self, x: np.ndarray, y: np.ndarray, *, seed: int, budget_s: float) -> list[Expression]:
        """Univariate expressions in ``x`` fitting the curve ``y`` (distill strategy), best first."""
