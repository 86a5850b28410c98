"""pyoperon backend (default): fast C++ genetic programming with a fit-vs-length Pareto front.

Determinism: one thread and a fixed ``random_state``; the run length is set by generations and
an evaluation cap derived from the budget, not by wall time, so the same seed gives the same
front on any machine. No ``max_time``: a wall-clock cut would make the front depend on the
machine's load (discover's ``--time-limit`` is checked after the backend returns instead).
"""

from __future__ import annotations

from importlib import metadata

import numpy as np

from nsad_lib.discovery.backends.base import Expression
from nsad_lib.util.optional import require

#: The paper's function set, in operon's names, plus constants and variables.
CLASSIFY_SYMBOLS = "add,sub,mul,sin,cos,abs,constant,variable"
#: Richer set for fitting a univariate activation curve (all finite everywhere).
REGRESS_SYMBOLS = "add,sub,mul,sin,cos,tanh,abs,constant,variable"
#: Evaluations per budget second (calibrated on 2 cores for ~1,500-row problems).
EVALS_PER_SECOND = 4000


class OperonBackend:
    """Symbolic regression with pyoperon's scikit-learn estimator."""

    name = "operon"

    def version(self) -> str:
        try:
            return metadata.version("pyoperon")
        except metadata.PackageNotFoundError:  # pragma: no cover - a hard dependency
            return "unknown"

    def _fit(self, X: np.ndarray, y: np.ndarray, *, seed: int, budget_s: float, symbols: str, max_length: int,
             population: int, generations: int) -> list[Expression]:
        SymbolicRegressor = require("pyoperon.sklearn", "discover", "the operon backend").SymbolicRegressor
        model = SymbolicRegressor(
            allowed_symbols=symbols,
            objectives=["r2", "length"],
            population_size=population,
            pool_size=population,
            generations=generations,
            max_evaluations=max(1000, int(budget_s * EVALS_PER_SECOND)),
            max_length=max_length,
            max_depth=8,
            optimizer_iterations=5,
            n_threads=1,
            random_state=int(seed),
        )
        model.fit(np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64))
        front = sorted(model.pareto_front_, key=lambda m: (m["length"], str(m["model"])))
        out = []
        for m in front:
            r2 = -float(m["objective_values"][0])
            out.append(Expression(str(m["model"]), r2 if np.isfinite(r2) else -1.0, int(m["length"])))
        return sorted(out, key=lambda e: (-round(e.fit, 4), e.length, e.text))

    def classify(self, X: np.ndarray, y: np.ndarray, *, seed: int, budget_s: float, preset: str = "default") -> list[Expression]:
        """Regress the 0/1 labels (a classification proxy), paper's function set."""
        return self._fit(X, y, seed=seed, budget_s=budget_s, symbols=CLASSIFY_SYMBOLS, max_length=20,
                         population=500, generations=50)

    def regress(self, x: np.ndarray, y: np.ndarray, *, seed: int, budget_s: float) -> list[Expression]:
        return self._fit(np.asarray(x).reshape(-1, 1), y, seed=seed, budget_s=budget_s, symbols=REGRESS_SYMBOLS,
                         max_length=24, population=500, generations=100)
