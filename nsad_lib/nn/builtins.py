"""Formulas that *are* a torch built-in activation run torch's own kernel.

An entry such as ``relu-v1`` (``Max(0, x)``) or ``gelu-v1`` (``x*(erf(sqrt(2)*x/2) + 1)/2``) is the
same function as ``torch.nn.functional.relu`` / ``gelu``: its canonical text equals the prior-art
row's (:mod:`nsad_lib.formula.known`, the comparison ``identify`` calls "canonical"; no match by
values counts here). For those, :class:`~nsad_lib.nn.activation.SymbolicActivation` calls the
built-in, whose fused forward and backward cost what the built-in costs (about half of a Python
``autograd.Function`` per call on a 1024 x 64 batch) and save one tensor like ours. The subgradient
at a kink is torch's, which is also ours (``step(0) = 0``). ``tanh`` is not in the table: the
library's eager ``tanh`` (numpy's SIMD loop, f' saved) is faster than torch's on CPU.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import torch
import torch.nn.functional as F

__all__ = ["BUILTINS", "builtin_kernel"]

#: prior-art row name -> torch's kernel for exactly that function
BUILTINS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "ReLU": F.relu,
    "GELU (erf)": F.gelu,
    "SiLU / Swish-1": F.silu,
    "sigmoid (logistic)": torch.sigmoid,
    "softplus": F.softplus,
}


@lru_cache(maxsize=None)
def _canonical_rows() -> dict[str, str]:
    from nsad_lib.formula.known import KNOWN

    return {row.formula_object().canonical: row.name for row in KNOWN if row.name in BUILTINS}


def builtin_kernel(formula: Any) -> tuple[str, Callable[[torch.Tensor], torch.Tensor]] | None:
    """(name, torch kernel) when ``formula`` (a :class:`~nsad_lib.formula.expression.Formula`
    without constants) is canonically one of :data:`BUILTINS`, else None."""
    if formula.parameter_names:
        return None
    name = _canonical_rows().get(formula.canonical)
    return (name, BUILTINS[name]) if name is not None else None
