"""``collapse``: the paper's method. A symbolic classifier fit on the labels of a random 10% of
the training rows, then every input variable ``X0..Xn`` is replaced by the one variable ``x``
(:mod:`nsad_lib.discovery.convert` does the replacement on the parsed tree).

With ``--backend gplearn`` this is exactly the paper's setting (5 generations, population 500,
add/sub/mul/sin/cos/abs, ``random_state=seed``). With operon (default) the labels are regressed
with the same function set, and every expression on the fit-vs-length Pareto front becomes a
candidate.
"""

from __future__ import annotations

import numpy as np

from nsad_lib.discovery.backends.base import Backend
from nsad_lib.discovery.candidates import from_expressions
from nsad_lib.discovery.source import SourceData
from nsad_lib.discovery.strategies import Progress, StrategyResult

FRACTION = 0.1
#: Share of the budget given to the backend (the rest validates candidates).
BACKEND_SHARE = 0.3


def run(data: SourceData, backend: Backend, *, seed: int, budget_s: float, progress: Progress) -> StrategyResult:
    n = len(data.y_fit)
    rows = np.sort(np.random.RandomState(seed).choice(n, max(20, int(FRACTION * n)), replace=False))
    progress(f"collapse: {backend.name} on {len(rows):,} training rows x {data.n_features} features")
    exprs = backend.classify(data.X_fit[rows], data.y_fit[rows], seed=seed, budget_s=BACKEND_SHARE * budget_s,
                             preset="paper" if backend.name == "gplearn" else "default")
    cands, rejected = from_expressions(exprs, backend.name, f"collapse:{backend.name}")
    settings = {"fraction": FRACTION, "rows": int(len(rows)), "backend_budget_s": round(BACKEND_SHARE * budget_s, 1),
                "preset": "paper" if backend.name == "gplearn" else "operon-r2-length",
                "collapse": "every variable X0..Xn replaced by x"}
    return StrategyResult(cands, settings, {"expressions": len(exprs)}, rejected)
