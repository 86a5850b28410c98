"""Numerical safety check run before a formula enters a registry.

A registered activation must give a finite value and a finite derivative for every input it
will realistically see, in every dtype people train with. Literally "all finite inputs" is
impossible for anything that grows (``3*x`` overflows float16 at 21,846), so the check covers
a dense grid of |x| <= 1,000 in float32/float64 and |x| <= 100 in float16/bfloat16 (batch-
normalised pre-activations live well inside both), plus zero, tiny values and the protected
operators' switching points.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from nsad_lib.errors import EntryError
from nsad_lib.formula import Formula

#: Largest |x| checked, per dtype name.
CHECK_RANGE: dict[str, float] = {"float64": 1000.0, "float32": 1000.0, "float16": 100.0, "bfloat16": 100.0}


def check_grid(limit: float) -> np.ndarray:
    """Inputs checked: a linear and a logarithmic grid, both signs, plus special points."""
    linear = np.linspace(-limit, limit, 20001)
    logs = np.logspace(-8, np.log10(limit), 400)
    special = np.array([0.0, 1e-3, 1.0e-3 + 1e-9, 1e-3 - 1e-9, np.pi / 2, np.pi, 1.0])
    grid = np.concatenate([linear, logs, -logs, special, -special])
    return np.unique(grid)


def check_finite(formula: Formula, values: Mapping[str, float] | None = None, *, dtypes: tuple[str, ...] = tuple(CHECK_RANGE)) -> None:
    """Raise :class:`EntryError` naming dtype and input where f or f' is NaN/Inf."""
    import torch

    from nsad_lib.program import compile_program

    vals = {**formula.parameters, **(values or {})}
    program = compile_program(formula.expr, formula.parameter_names, derivatives=True)
    for dtype_name in dtypes:
        dtype = getattr(torch, dtype_name)
        grid = torch.tensor(check_grid(CHECK_RANGE[dtype_name]), dtype=torch.float64).to(dtype)
        params = [torch.tensor(vals[n], dtype=dtype) for n in formula.parameter_names]
        with torch.no_grad():
            f, df = program.run_torch(grid, params, outputs=(0, 1))
        for label, out in (("value", f), ("derivative", df)):
            out = torch.as_tensor(out, dtype=dtype).expand_as(grid)
            bad = ~torch.isfinite(out)
            if bool(bad.any()):
                where = float(grid[bad.nonzero()[0, 0]].double())
                raise EntryError(
                    f"formula {formula.canonical!r} gives a non-finite {label} in {dtype_name} at x = {where:.6g} "
                    f"(checked |x| <= {CHECK_RANGE[dtype_name]:g})"
                )
