"""The torch operator table that :class:`nsad_lib.program.Program` instructions run on.

Each entry is a plain torch call on tensors (or Python floats for constants), so the same
program runs eagerly, under ``torch.compile`` and under ``torch.export``. Protected operators
mask their unsafe branch *before* the unsafe op (``where`` on the input, not only on the
output), so even composed-op autograd through them never produces NaN.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import torch
import torch.nn.functional as F

from nsad_lib.functions import PROTECT_EPS


def _plog(a: torch.Tensor) -> torch.Tensor:
    m = a.abs() > PROTECT_EPS
    return torch.where(m, torch.log(torch.where(m, a.abs(), 1.0)), 0.0)


def _pinv(a: torch.Tensor) -> torch.Tensor:
    m = a.abs() > PROTECT_EPS
    return torch.where(m, torch.reciprocal(torch.where(m, a, 1.0)), 0.0)


def _pdiv(a: Any, b: Any) -> torch.Tensor:
    if not isinstance(b, torch.Tensor):
        return a / b if abs(b) > PROTECT_EPS else torch.ones_like(a)
    m = b.abs() > PROTECT_EPS
    return torch.where(m, a / torch.where(m, b, 1.0), 1.0)


def _step(a: torch.Tensor) -> torch.Tensor:
    # Heaviside with H(0) = 0: the subgradient torch's own relu uses.
    return (a > 0).to(a.dtype)


def _maximum(a: Any, b: Any) -> torch.Tensor:
    return torch.maximum(a, b)


def _minimum(a: Any, b: Any) -> torch.Tensor:
    return torch.minimum(a, b)


TORCH_OPS: dict[str, Callable[..., Any]] = {
    # operator.* accept a Python float on either side; torch.add and friends do not.
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "neg": operator.neg,
    "square": torch.square,
    "reciprocal": torch.reciprocal,
    "sqrt": torch.sqrt,
    "rsqrt": torch.rsqrt,
    "pow_scalar": torch.pow,
    "scalar_pow": lambda e, base: torch.pow(base, e),
    "pow": torch.pow,
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "tanh": torch.tanh,
    "exp": torch.exp,
    "log": torch.log,
    "abs": torch.abs,
    "erf": torch.erf,
    "erfc": torch.erfc,
    "sign": torch.sign,
    "step": _step,
    "zeros": torch.zeros_like,
    "sigmoid": torch.sigmoid,
    "softplus": F.softplus,
    "plog": _plog,
    "psqrt": lambda a: torch.sqrt(torch.abs(a)),
    "pinv": _pinv,
    "pdiv": _pdiv,
    "maximum": _maximum,
    "minimum": _minimum,
    "clamp_min": torch.clamp_min,
    "clamp_max": torch.clamp_max,
}
