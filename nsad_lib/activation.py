"""``SymbolicActivation``: a formula as a drop-in, memory-lean PyTorch activation.

Training path: a custom ``torch.autograd.Function`` computes the forward from the compiled
program and saves *only the input*; the backward recomputes what it needs from the input and
applies the symbolic derivative (shared subexpressions computed once). Saved memory is one
tensor whatever the formula's size, where composed ops would keep every intermediate.

Inference path (``torch.no_grad()``, or nothing needs a gradient): the same program as plain
composed torch ops, which ``torch.export`` traces. ``compile=True`` wraps the forward with
``torch.compile`` so forward and backward each fuse into one kernel.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import sympy as sp
import torch
from torch import nn

from nsad_lib.errors import FormulaError
from nsad_lib.formula import Formula
from nsad_lib.program import Program, compile_program

__all__ = ["SymbolicActivation"]


def _param_grad(grad_out: torch.Tensor, d: Any, like: torch.Tensor) -> torch.Tensor:
    if isinstance(d, torch.Tensor):
        g = torch.sum(grad_out * d, dtype=torch.float32)
    else:
        g = torch.sum(grad_out, dtype=torch.float32) * float(d)
    return g.to(like.dtype).reshape(like.shape)


@functools.lru_cache(maxsize=512)
def _autograd_function(program: Program) -> type[torch.autograd.Function]:
    """One autograd.Function class per program (class attributes are constants to dynamo)."""

    class SymbolicFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
            ctx.save_for_backward(x)  # the only tensor kept for backward
            ctx.params = tuple(p.detach() for p in params)
            return program.run_torch(x, params)[0]

        @staticmethod
        def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
            (x,) = ctx.saved_tensors
            needs = ctx.needs_input_grad
            wanted = tuple(i + 1 for i, need in enumerate(needs) if need)
            if not wanted:
                return (None,) * len(needs)
            values = iter(program.run_torch(x, ctx.params, wanted))
            grads: list[torch.Tensor | None] = []
            for i, need in enumerate(needs):
                if not need:
                    grads.append(None)
                    continue
                d = next(values)
                if i == 0:
                    grads.append(grad_out * d)
                else:
                    grads.append(_param_grad(grad_out, d, ctx.params[i - 1]))
            return tuple(grads)

    SymbolicFunction.__name__ = SymbolicFunction.__qualname__ = "SymbolicFunction"
    return SymbolicFunction


def _is_exporting() -> bool:
    check = getattr(torch.compiler, "is_exporting", None)
    return bool(check()) if check is not None else False


class SymbolicActivation(nn.Module):
    """An elementwise activation defined by a safe symbolic formula.

    Args:
        formula: formula text (parsed safely) or a :class:`~nsad_lib.formula.Formula`.
        parameters: initial values of named constants in the formula (``{"a": 1.0}``).
        trainable: named constants become ``nn.Parameter``s (else buffers).
        compile: wrap the forward with ``torch.compile``.
        name: registry id, shown in ``repr``.
    """

    def __init__(
        self,
        formula: str | Formula,
        parameters: Mapping[str, float] | None = None,
        *,
        trainable: bool = False,
        compile: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__()
        if isinstance(formula, Formula):
            if parameters:
                formula = Formula.parse(formula.canonical, {**formula.parameters, **parameters})
        else:
            formula = Formula.parse(formula, parameters)
        self.formula = formula
        self.name = name
        self.trainable = bool(trainable)
        self._names = formula.parameter_names
        for pname, value in formula.parameters.items():
            if hasattr(self, pname):
                raise FormulaError(f"parameter name {pname!r} collides with an nn.Module attribute; rename it", pname, None)
            tensor = torch.tensor(float(value), dtype=torch.float32)
            if self.trainable:
                self.register_parameter(pname, nn.Parameter(tensor))
            else:
                self.register_buffer(pname, tensor)
        self._program = compile_program(formula.expr, self._names, derivatives=True)
        self._function = _autograd_function(self._program)
        self._compiled = torch.compile(self._forward_eager) if compile else None

    # -- forward -------------------------------------------------------------------------
    def _params(self) -> list[torch.Tensor]:
        return [getattr(self, n) for n in self._names]

    def _forward_eager(self, x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and not _is_exporting() and (x.requires_grad or any(p.requires_grad for p in params)):
            return self._function.apply(x, *params)
        return self._program.run_torch(x, params)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        params = self._params()
        if self._compiled is not None and not _is_exporting():
            return self._compiled(x, *params)
        return self._forward_eager(x, *params)

    def forward_composed(self, x: torch.Tensor) -> torch.Tensor:
        """The formula as plain composed torch ops under autograd (for comparison only)."""
        return self._program.run_torch(x, self._params())[0]

    # -- introspection -------------------------------------------------------------------
    def parameter_values(self) -> dict[str, float]:
        """Current values of the named constants."""
        return {n: float(getattr(self, n).detach().float()) for n in self._names}

    def sympy(self) -> sp.Expr:
        """The expression with the current parameter values substituted."""
        return self.formula.substituted(self.parameter_values())

    def latex(self) -> str:
        """LaTeX of :meth:`sympy`."""
        return sp.latex(self.sympy())

    def extra_repr(self) -> str:
        parts = [f"formula={self.formula.canonical!r}"]
        if self._names:
            values = ", ".join(f"{n}={v:.6g}" for n, v in self.parameter_values().items())
            parts.append(f"parameters=({values})")
            parts.append(f"trainable={self.trainable}")
        if self.name:
            parts.insert(0, f"id={self.name!r}")
        if self._compiled is not None:
            parts.append("compiled=True")
        return ", ".join(parts)
