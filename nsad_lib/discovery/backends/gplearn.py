"""gplearn backend (optional extra ``nsad-lib[gplearn]``), with the paper's exact settings.

Preset ``paper``: ``SymbolicClassifier(generations=5, population_size=500,
function_set=('add','sub','mul','sin','cos','abs'), random_state=seed)``, read from the paper's
``src/discovery.py``. Programs print in prefix form; protected ``div``/``log``/``sqrt``/``inv``
are converted to ``pdiv``/``plog``/``psqrt``/``pinv`` by :mod:`nsad_lib.discovery.convert`.
"""

from __future__ import annotations

from importlib import metadata

import numpy as np

from nsad_lib.discovery.backends.base import Expression
from nsad_lib.util.optional import require

PAPER_FUNCTIONS = ("add", "sub", "mul", "sin", "cos", "abs")
PAPER_SETTINGS = {"generations": 5, "population_size": 500, "function_set": list(PAPER_FUNCTIONS)}
#: How many programs of the last generation (best first) are returned as candidates.
TOP_PROGRAMS = 8


def _import():
    return require("gplearn.genetic", "gplearn", "the gplearn backend", hint="or use --backend operon")


def _top(est, higher_is_better: bool) -> list[Expression]:
    last = [p for p in est._programs[-1] if p is not None]
    key = (lambda p: -p.raw_fitness_) if higher_is_better else (lambda p: p.raw_fitness_)
    ranked = [est._program, *sorted(last, key=key)]
    out: list[Expression] = []
    for p in ranked:
        text = str(p)
        if all(text != e.text for e in out):
            out.append(Expression(text, float(p.raw_fitness_), int(p.length_)))
        if len(out) >= TOP_PROGRAMS:
            break
    return out


class GplearnBackend:
    """gplearn's SymbolicClassifier / SymbolicRegressor."""

    name = "gplearn"

    def version(self) -> str:
        try:
            return metadata.version("gplearn")
        except metadata.PackageNotFoundError:
            return "not installed"

    def classify(self, X: np.ndarray, y: np.ndarray, *, seed: int, budget_s: float, preset: str = "paper") -> list[Expression]:
        """The paper's classifier (preset ``paper``); the only preset, whatever the budget."""
        genetic = _import()
        est = genetic.SymbolicClassifier(random_state=int(seed), n_jobs=1, verbose=0, **PAPER_SETTINGS)
        est.fit(X, y)
        return _top(est, higher_is_better=False)  # log loss

    def regress(self, x: np.ndarray, y: np.ndarray, *, seed: int, budget_s: float) -> list[Expression]:
        genetic = _import()
        est = genetic.SymbolicRegressor(
            generations=20, population_size=1000, function_set=("add", "sub", "mul", "sin", "cos", "abs"),
            parsimony_coefficient=0.001, random_state=int(seed), n_jobs=1, verbose=0,
        )
        est.fit(np.asarray(x).reshape(-1, 1), y)
        return _top(est, higher_is_better=False)  # mean absolute error
