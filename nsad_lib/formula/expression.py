"""``Formula``: a parsed activation formula with its declared parameters and their values.

It sits above the parser (:mod:`nsad_lib.formula.language`) and the lowering
(:mod:`nsad_lib.formula.program`): text goes in through :meth:`Formula.parse`, numpy values come
out through the compiled program. Torch evaluation lives in :mod:`nsad_lib.nn`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import sympy as sp

from nsad_lib.errors import FormulaError
from nsad_lib.formula.language import X, canonical, check_expression, parse_formula, symbol
from nsad_lib.formula.program import compile_program

__all__ = ["Formula"]


@dataclass(frozen=True)
class Formula:
    """A parsed activation formula with its declared parameters and their initial values."""

    expr: sp.Expr
    parameters: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A Formula only ever holds a checked expression: text must go through Formula.parse
        # (sympy would otherwise evaluate it as Python code the first time it is used).
        if isinstance(self.expr, str):
            raise FormulaError(
                "Formula(...) takes a parsed expression, not text: use Formula.parse(text, parameters)", None, None
            )
        if not isinstance(self.parameters, dict):
            raise FormulaError(f"parameters must be a dict of name -> number, not {type(self.parameters).__name__}")
        for name, value in self.parameters.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
                raise FormulaError(f"parameter {name!r} needs a finite number, got {value!r}", str(name), None)
        check_expression(self.expr, list(self.parameters))

    @classmethod
    def parse(cls, text: str, parameters: Mapping[str, float] | None = None) -> "Formula":
        """Parse ``text``; every declared parameter must have a finite float value."""
        params = dict(parameters or {})
        for name, value in params.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
                raise FormulaError(f"parameter {name!r} needs a finite number, got {value!r}", str(name), None)
        expr = parse_formula(text, list(params))
        unused = sorted(set(params) - {s.name for s in expr.free_symbols})
        if unused:
            raise FormulaError(f"declared parameter(s) not used in the formula: {', '.join(unused)}", unused[0], None)
        if X not in expr.free_symbols:
            raise FormulaError("formula does not depend on x", text[:40], 0)
        return cls(expr, {k: float(v) for k, v in params.items()})

    # -- views ---------------------------------------------------------------------------
    @property
    def canonical(self) -> str:
        """Canonical text (sympy's printing)."""
        return canonical(self.expr)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Declared parameter names, in declaration order."""
        return tuple(self.parameters)

    @property
    def parameter_symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(symbol(n) for n in self.parameters)

    def substituted(self, values: Mapping[str, float] | None = None) -> sp.Expr:
        """The expression with parameters replaced by ``values`` (default: initial values)."""
        vals = {**self.parameters, **(values or {})}
        return self.expr.subs({symbol(k): sp.Float(v) for k, v in vals.items()})

    def latex(self, substitute: bool = False) -> str:
        """LaTeX for the formula (with parameter values substituted when asked)."""
        return sp.latex(self.substituted() if substitute else self.expr)

    def derivative(self, wrt: str = "x") -> sp.Expr:
        """Symbolic derivative with respect to ``x`` or a parameter name."""
        if wrt != "x" and wrt not in self.parameters:
            raise FormulaError(f"cannot differentiate with respect to unknown name {wrt!r}", wrt, None)
        return sp.diff(self.expr, symbol(wrt))

    @property
    def complexity(self) -> int:
        """Number of nodes in the expression tree (a size measure for ranking formulas)."""
        return sum(1 for _ in sp.preorder_traversal(self.expr))

    def numpy(self, x: np.ndarray | float, values: Mapping[str, float] | None = None) -> np.ndarray:
        """Evaluate on numpy arrays (float64 unless ``x`` has another float dtype)."""
        vals = {**self.parameters, **(values or {})}
        program = compile_program(self.expr, self.parameter_names)
        arr = np.asarray(x)
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float64)
        return program.run_numpy(arr, [vals[n] for n in self.parameter_names])[0]

    def derivative_numpy(self, x: np.ndarray | float, values: Mapping[str, float] | None = None) -> np.ndarray:
        """df/dx evaluated on numpy arrays."""
        vals = {**self.parameters, **(values or {})}
        program = compile_program(self.expr, self.parameter_names, derivatives=True)
        arr = np.asarray(x, dtype=np.float64)
        return program.run_numpy(arr, [vals[n] for n in self.parameter_names], outputs=(1,))[0]

    def __str__(self) -> str:
        return self.canonical
