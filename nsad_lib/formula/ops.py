"""The instruction set of compiled formulas: every operator defined once.

A :class:`~nsad_lib.formula.program.Program` is a list of instructions ``(op, argument slots,
payload)``. Each operator here has its name, its number of tensor operands, the kind of literal
payload it takes, its relative cost (one pass over the data = 1.0; transcendental ones cost
more), its numpy implementation, and the sympy function the lowering turns into it one-to-one
where there is one. Everything else is derived from this table: the lowering's function map,
the cost model, the numpy evaluator, and (in :mod:`nsad_lib.nn.ops`, checked at import to cover
every operator) the torch implementations.

Adding an operator: add an :class:`Op` here (with its numpy function), its torch implementation
in :mod:`nsad_lib.nn.ops`, and, if sympy produces it, a rule in the lowering (``program.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import sympy as sp

from nsad_lib.formula.functions import PROTECT_EPS, pdiv, pinv, plog, psqrt, sigmoid, softplus
from nsad_lib.formula.special import erf, erfc, expit

#: Instructions that are not operators: the input, a parameter (payload: its index) and a
#: constant (payload: its value). They cost nothing.
LEAVES = ("x", "param", "const")


@dataclass(frozen=True)
class Op:
    """One operator of the instruction set."""

    name: str
    #: number of operand slots
    arity: int
    #: numpy implementation: ``numpy(*operands[, payload])``
    numpy: Callable[..., Any]
    #: relative cost of one evaluation (one elementwise pass = 1.0)
    cost: float = 1.0
    #: literal payload passed after the operands: None, "float" or "pair" (two floats)
    payload: str | None = None
    #: the sympy function lowered one-to-one to this operator (all its arguments as operands)
    sympy: Any = None


#: The fused instructions the lowering emits, as plain arithmetic: valid for numpy arrays and
#: torch tensors alike, so the numpy and the torch tables share one definition. Each keeps the
#: number of passes over the data low (a pass reads and writes a tensor the size of the input,
#: which is what an elementwise activation costs).
ARITHMETIC: dict[str, Callable[..., Any]] = {
    "affine": lambda a, st: a * st[0] + st[1],  # s*a + t
    "add_scaled": lambda a, b, c: a + c * b,
    "mul_scaled": lambda a, b, c: a * b * c,
    "addcmul": lambda a, b, c, v: a + v * b * c,
    "div_scaled": lambda a, b, c: c * a / b,
    "scalar_div": lambda b, c: c / b,
}


def _big(a: np.ndarray) -> np.ndarray:
    return np.abs(a) > PROTECT_EPS


def _plog(a: np.ndarray) -> np.ndarray:
    m = _big(a)
    return np.where(m, np.log(np.where(m, np.abs(a), 1.0)), 0.0)


def _pinv(a: np.ndarray) -> np.ndarray:
    m = _big(a)
    return np.where(m, 1.0 / np.where(m, a, 1.0), 0.0)


def _pdiv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    m = _big(b)
    return np.where(m, a / np.where(m, b, 1.0), 1.0)


def _step(a: np.ndarray) -> np.ndarray:
    return (a > 0).astype(np.result_type(a, np.float32))


_SPEC: tuple[Op, ...] = (
    # arithmetic
    Op("add", 2, np.add),
    Op("sub", 2, np.subtract),
    Op("mul", 2, np.multiply),
    Op("div", 2, np.divide),
    Op("neg", 1, np.negative),
    Op("square", 1, np.square),
    Op("reciprocal", 1, lambda a: 1.0 / a),
    Op("sqrt", 1, np.sqrt, cost=1.2),
    Op("rsqrt", 1, lambda a: 1.0 / np.sqrt(a), cost=1.2),
    Op("pow_scalar", 1, np.power, cost=2.0, payload="float"),  # a**p
    Op("scalar_pow", 1, lambda e, base: np.power(base, e), cost=2.0, payload="float"),  # base**e
    Op("pow", 2, np.power, cost=2.5),
    # fused arithmetic (ARITHMETIC)
    Op("affine", 1, ARITHMETIC["affine"], payload="pair"),
    Op("add_scaled", 2, ARITHMETIC["add_scaled"], payload="float"),
    Op("mul_scaled", 2, ARITHMETIC["mul_scaled"], payload="float"),
    Op("addcmul", 3, ARITHMETIC["addcmul"], payload="float"),
    Op("div_scaled", 2, ARITHMETIC["div_scaled"], payload="float"),
    Op("scalar_div", 1, ARITHMETIC["scalar_div"], payload="float"),
    # functions
    Op("sin", 1, np.sin, cost=1.5, sympy=sp.sin),
    Op("cos", 1, np.cos, cost=1.5, sympy=sp.cos),
    Op("tan", 1, np.tan, cost=2.0, sympy=sp.tan),
    Op("tanh", 1, np.tanh, cost=1.5, sympy=sp.tanh),
    Op("exp", 1, np.exp, cost=1.3, sympy=sp.exp),
    Op("log", 1, np.log, cost=1.5, sympy=sp.log),
    Op("abs", 1, np.abs, sympy=sp.Abs),
    Op("erf", 1, erf, cost=1.8, sympy=sp.erf),
    # not emitted (c + c*erf(z) stays in the erf form, see program._Builder._add); kept for completeness
    Op("erfc", 1, erfc, cost=1.8),
    Op("sign", 1, np.sign, sympy=sp.sign),
    Op("step", 1, _step),  # H(0) = 0; lowered from sympy's Heaviside(z, H0) (H0 ignored), see program
    Op("zeros", 1, np.zeros_like, sympy=sp.DiracDelta),  # the derivative of step, almost everywhere
    Op("sigmoid", 1, expit, cost=1.5, sympy=sigmoid),
    Op("softplus", 1, lambda a: np.logaddexp(0.0, a), cost=2.0, sympy=softplus),
    Op("plog", 1, _plog, cost=3.0, sympy=plog),
    Op("psqrt", 1, lambda a: np.sqrt(np.abs(a)), cost=2.0, sympy=psqrt),
    Op("pinv", 1, _pinv, cost=2.5, sympy=pinv),
    Op("pdiv", 2, _pdiv, cost=3.0, sympy=pdiv),
    # Max / Min (n-ary in sympy: folded into maximum/minimum, constants into one clamp)
    Op("maximum", 2, np.maximum),
    Op("minimum", 2, np.minimum),
    Op("clamp_min", 1, np.maximum, payload="float"),
    Op("clamp_max", 1, np.minimum, payload="float"),
)

#: Every operator, by name.
OPS: dict[str, Op] = {op.name: op for op in _SPEC}
assert len(OPS) == len(_SPEC), "duplicate operator name"
assert set(ARITHMETIC) <= set(OPS)

#: sympy function -> operator it is lowered to one-to-one.
SYMPY_OPS: dict[Any, Op] = {op.sympy: op for op in _SPEC if op.sympy is not None}


def cost(op: str) -> float:
    """Relative cost of one instruction (0 for the leaves)."""
    return 0.0 if op in LEAVES else OPS[op].cost


def check_table(table: dict[str, Any], what: str) -> None:
    """Raise ``RuntimeError`` naming the operators ``table`` (an implementation per op name)
    lacks or has beyond :data:`OPS`. Run at import by every module that builds such a table."""
    missing = sorted(set(OPS) - set(table))
    extra = sorted(set(table) - set(OPS))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing operator(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unknown operator(s) {', '.join(extra)}")
        raise RuntimeError(f"{what}: {'; '.join(parts)} (the instruction set is nsad_lib.formula.ops.OPS)")


def _quiet(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*args: Any) -> Any:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return fn(*args)

    return wrapped


#: ``op -> numpy function`` with floating-point warnings silenced (NaN/Inf are results here).
NUMPY_OPS: dict[str, Callable[..., Any]] = {name: _quiet(op.numpy) for name, op in OPS.items()}
