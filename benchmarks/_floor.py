"""Hand-written eager activations: the floor an interpreter of formulas can reach in eager PyTorch.

Each class computes one registry formula with the fewest eager calls we could write by hand:
one ``torch.autograd.Function``, numpy's SIMD loops for the float32 transcendentals (as the
library), torch's ``out=`` forms into buffers kept per shape, constants read once per call as
Python floats, and the backward written out algebraically (shared factors once, the constants'
sums as dot products). No formula parsing, no schedule, no checks: benchmark code, float32 CPU
only. ``benchmarks/training.py --floor`` times them beside the library's own activations, so a
ratio the library misses can be compared with what eager code could do at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

_BUFFERS: dict[tuple[tuple[int, ...], int], torch.Tensor] = {}


def _buffer(shape: torch.Size, index: int) -> torch.Tensor:
    key = (tuple(shape), index)
    buf = _BUFFERS.get(key)
    if buf is None:
        buf = _BUFFERS[key] = torch.empty(shape)
    return buf


def _np(t: torch.Tensor) -> Any:
    return t.detach().numpy()


class _SpambaseFunction(torch.autograd.Function):
    """x - cos(x) + 2*tanh(Max(0, x)); saves f'(x) = 1 + sin(x) + 2*(1 - tanh(relu x)^2)*step(x)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        y, d = torch.empty_like(x), torch.empty_like(x)
        t, c = _buffer(x.shape, 0), _buffer(x.shape, 1)
        with np.errstate(all="ignore"):
            torch.clamp_min(x, 0.0, out=t)
            np.tanh(_np(t), out=_np(t))
            np.cos(_np(x), out=_np(c))
            torch.add(x, t, alpha=2.0, out=y)
            y.sub_(c)
            torch.mul(t, t, out=t)  # t^2
            torch.gt(x, 0.0, out=c)  # step(x)
            torch.sub(c, t.mul_(c), out=t)  # (1 - t^2)*step
            np.sin(_np(x), out=_np(d))
            torch.add(d, t, alpha=2.0, out=d)
            d.add_(1.0)
        ctx.save_for_backward(d)
        return y

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (d,) = ctx.saved_tensors
        return g * d


class _ForestFunction(torch.autograd.Function):
    """cos(a + b*tanh(x) + x) with trainable a, b; saves x only."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        av, bv = float(a), float(b)
        y, t = torch.empty_like(x), _buffer(x.shape, 0)
        with np.errstate(all="ignore"):
            np.tanh(_np(x), out=_np(t))
            torch.add(x, t, alpha=bv, out=y)
            y.add_(av)
            np.cos(_np(y), out=_np(y))
        ctx.save_for_backward(x)
        ctx.constants = (av, bv)
        return y

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        (x,) = ctx.saved_tensors
        av, bv = ctx.constants
        t, s = _buffer(x.shape, 0), _buffer(x.shape, 1)
        gx = torch.empty_like(x)
        with np.errstate(all="ignore"):
            np.tanh(_np(x), out=_np(t))
            torch.add(x, t, alpha=bv, out=s)
            s.add_(av)
            np.sin(_np(s), out=_np(s))
            s.mul_(g)  # g*sin(u); df/du = -sin(u)
        ga = -s.sum()
        gb = -torch.dot(s.view(-1), t.view(-1))
        # df/dx = -sin(u)*(1 + b*(1 - t^2)), so g*df/dx = s*(b*t^2 - (1 + b))
        torch.mul(t, t, out=t)
        torch.add(torch.tensor(-(1.0 + bv)), t, alpha=bv, out=t)
        torch.mul(s, t, out=gx)
        return gx, ga, gb


class FloorSpambase(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _SpambaseFunction.apply(x)


class FloorForest(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        # forest-v1's registered starting values
        import nsad_lib

        values = nsad_lib.get("forest-v1").parameter_values()
        self.a = nn.Parameter(torch.tensor(values["a"]))
        self.b = nn.Parameter(torch.tensor(values["b"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ForestFunction.apply(x, self.a, self.b)


#: spec name -> module class, for ``training.py --floor``
FLOORS = {"floor:spambase-v1": FloorSpambase, "floor:forest-v1": FloorForest}
