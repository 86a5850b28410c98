"""The "naive" baseline: a formula as plain composed torch ops under autograd.

This is what a straightforward sympy-to-torch converter does (sympytorch's approach: one torch
call per sympy node, ``Add``/``Mul`` reduced pairwise, ``Pow`` as ``torch.pow``, shared
subtrees memoised, numbers as 0-dim tensors), and what autograd then records: every
intermediate an op needs for its backward is kept alive until the backward runs.

Compared with sympytorch itself this baseline is slightly favourable: purely numeric subtrees
(``sqrt(2)``) are folded to constants once instead of being recomputed on every call.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import sympy as sp
import torch
import torch.nn.functional as F

from nsad_lib.formula import Formula
from nsad_lib.formula.functions import pdiv, pinv, plog, psqrt, sigmoid, softplus
from nsad_lib.formula.language import X
from nsad_lib.nn.ops import TORCH_OPS

_FUNCS: dict[Any, Callable[..., torch.Tensor]] = {
    sp.sin: torch.sin,
    sp.cos: torch.cos,
    sp.tan: torch.tan,
    sp.tanh: torch.tanh,
    sp.exp: torch.exp,
    sp.log: torch.log,
    sp.Abs: torch.abs,
    sp.erf: torch.erf,
    sp.sign: torch.sign,
    sigmoid: torch.sigmoid,
    softplus: F.softplus,
    plog: TORCH_OPS["plog"],
    psqrt: TORCH_OPS["psqrt"],
    pinv: TORCH_OPS["pinv"],
    pdiv: TORCH_OPS["pdiv"],
    sp.Max: lambda *a: functools.reduce(torch.maximum, a),
    sp.Min: lambda *a: functools.reduce(torch.minimum, a),
    sp.Heaviside: lambda a, *_: (a > 0).to(a.dtype),
}


class NaiveComposed(torch.nn.Module):
    """``f(x)`` evaluated node by node with torch ops (autograd records every step)."""

    def __init__(self, formula: Formula) -> None:
        super().__init__()
        self.formula = formula
        self.expr = formula.substituted()
        self._const_cache: dict[tuple[float, torch.dtype, torch.device], torch.Tensor] = {}

    def _const(self, value: float, like: torch.Tensor) -> torch.Tensor:
        key = (value, like.dtype, like.device)
        c = self._const_cache.get(key)
        if c is None:
            c = self._const_cache[key] = torch.tensor(value, dtype=like.dtype, device=like.device)
        return c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        memo: dict[sp.Basic, Any] = {}

        def ev(e: sp.Expr) -> Any:
            hit = memo.get(e)
            if hit is not None:
                return hit
            if e == X:
                out: Any = x
            elif not e.free_symbols:
                out = self._const(float(e.evalf(30)), x)
            elif e.is_Add:
                out = functools.reduce(torch.add, [ev(a) for a in e.args])
            elif e.is_Mul:
                out = functools.reduce(torch.mul, [ev(a) for a in e.args])
            elif e.is_Pow:
                out = torch.pow(ev(e.args[0]), ev(e.args[1]))
            else:
                fn = _FUNCS.get(type(e))
                if fn is None:
                    raise NotImplementedError(f"naive baseline: no torch op for {type(e).__name__}")
                out = fn(*[ev(a) for a in e.args])
            memo[e] = out
            return out

        try:
            return ev(self.expr)
        finally:
            memo.clear()  # ev is a recursive closure (a reference cycle): free intermediates now
            del ev


def count_ops(formula: Formula) -> int:
    """Operations in the formula as written (sympy's count: +, *, /, -, functions, powers)."""
    return int(sp.count_ops(formula.expr, visual=False))

