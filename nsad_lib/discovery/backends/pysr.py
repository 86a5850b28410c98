"""PySR backend (optional extra ``nsad-lib[pysr]``), imported lazily; needs a Julia install.

Without Julia (or without the pysr package) it fails at once with a message saying so, instead
of letting juliacall try a multi-minute download. Results of a PySR run made elsewhere can be
ingested from its ``hall_of_fame`` CSV with ``--from-pysr-csv`` (:mod:`..pysr_csv`).
"""

from __future__ import annotations

import os
import shutil
from importlib import metadata

import numpy as np

from nsad_lib.discovery.backends.base import Expression
from nsad_lib.errors import NsadError
from nsad_lib.util.optional import require

_HINT = "use --backend operon (the default), or ingest a PySR run's hall_of_fame CSV with --from-pysr-csv FILE"


def _julia_available() -> bool:
    return bool(shutil.which("julia") or os.environ.get("PYTHON_JULIACALL_EXE") or os.environ.get("JULIA_BINDIR"))


def _import():
    try:
        metadata.version("pysr")
    except metadata.PackageNotFoundError:
        raise NsadError(f"the pysr backend needs the pysr package and Julia (pip install 'nsad-lib[pysr]'); {_HINT}") from None
    if not _julia_available():
        raise NsadError(f"the pysr backend needs Julia, which was not found on PATH; {_HINT}")
    return require("pysr", "pysr", "the pysr backend")


class PysrBackend:
    """PySR's PySRRegressor (univariate or multivariate) with a fixed seed, one process."""

    name = "pysr"

    def __init__(self) -> None:
        _import()  # fail at once without pysr or Julia, before any data is read

    def version(self) -> str:
        try:
            return metadata.version("pysr")
        except metadata.PackageNotFoundError:
            return "not installed"

    def _fit(self, X: np.ndarray, y: np.ndarray, seed: int, budget_s: float) -> list[Expression]:
        pysr = _import()
        model = pysr.PySRRegressor(
            binary_operators=["+", "-", "*"], unary_operators=["sin", "cos", "tanh", "abs"],
            niterations=40, timeout_in_seconds=max(5, int(budget_s)), random_state=int(seed),
            deterministic=True, parallelism="serial", progress=False, verbosity=0,
        )
        model.fit(X, y)
        hof = model.equations_
        return [Expression(str(r["equation"]), -float(r["loss"]), int(r["complexity"])) for _, r in hof.iterrows()]

    def classify(self, X: np.ndarray, y: np.ndarray, *, seed: int, budget_s: float, preset: str = "default") -> list[Expression]:
        return self._fit(X, y, seed, budget_s)

    def regress(self, x: np.ndarray, y: np.ndarray, *, seed: int, budget_s: float) -> list[Expression]:
        return self._fit(np.asarray(x).reshape(-1, 1), y, seed, budget_s)
