"""Lower sympy expressions to a flat, shared instruction list run on torch or numpy.

One :class:`Program` holds the formula and (optionally) its derivatives with respect to ``x``
and every parameter. Identical subtrees become one instruction (hash-consing over the whole
set of outputs), so ``sin(x)`` in ``f`` and in ``f'`` is computed once, and each intermediate
is released right after its last use, which keeps peak memory low. Nothing here generates or
runs code from text: an instruction is an operator name looked up in a fixed table.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import sympy as sp

from nsad_lib.errors import FormulaError
from nsad_lib.formula import X, symbol
from nsad_lib.functions import PROTECT_EPS, pdiv, pinv, plog, psqrt, sigmoid, softplus

# An instruction: (operator, argument slots, literal payload). Slots index earlier results.
Instruction = tuple[str, tuple[int, ...], Any]


@dataclass(frozen=True)
class Program:
    """Instructions in dependency order plus the slot (or constant) of each output."""

    instructions: tuple[Instruction, ...]
    outputs: tuple[int, ...]
    n_params: int

    @functools.cached_property
    def _plans(self) -> dict[tuple[int, ...], tuple[tuple[int, ...], dict[int, tuple[int, ...]]]]:
        return {}

    def plan(self, outputs: tuple[int, ...]) -> tuple[tuple[int, ...], dict[int, tuple[int, ...]]]:
        """Slots needed for ``outputs`` and, per slot, which slots can be freed after it."""
        cached = self._plans.get(outputs)
        if cached is not None:
            return cached
        needed: set[int] = set()
        stack = [self.outputs[o] for o in outputs]
        while stack:
            s = stack.pop()
            if s in needed:
                continue
            needed.add(s)
            stack.extend(self.instructions[s][1])
        order = tuple(sorted(needed))
        keep = {self.outputs[o] for o in outputs}
        last_use: dict[int, int] = {}
        for s in order:
            for a in self.instructions[s][1]:
                last_use[a] = s
        frees: dict[int, list[int]] = {}
        for slot, user in last_use.items():
            if slot not in keep:
                frees.setdefault(user, []).append(slot)
        result = (order, {k: tuple(v) for k, v in frees.items()})
        self._plans[outputs] = result
        return result

    def run(self, table: dict[str, Callable[..., Any]], x: Any, params: Sequence[Any], outputs: tuple[int, ...] = (0,)) -> list[Any]:
        """Evaluate the chosen outputs with an operator table (torch or numpy)."""
        order, frees = self.plan(outputs)
        values: dict[int, Any] = {}
        for s in order:
            op, args, payload = self.instructions[s]
            if op == "x":
                values[s] = x
            elif op == "param":
                values[s] = params[payload]
            elif op == "const":
                values[s] = payload
            else:
                fn = table[op]
                operands = [values[a] for a in args]
                values[s] = fn(*operands, payload) if payload is not None else fn(*operands)
            for dead in frees.get(s, ()):
                del values[dead]
        return [values[self.outputs[o]] for o in outputs]

    def run_torch(self, x: Any, params: Sequence[Any], outputs: tuple[int, ...] = (0,)) -> list[Any]:
        from nsad_lib.torch_ops import TORCH_OPS

        return self.run(TORCH_OPS, x, params, outputs)

    def run_numpy(self, x: np.ndarray, params: Sequence[float], outputs: tuple[int, ...] = (0,)) -> list[np.ndarray]:
        out = self.run(_numpy_ops(), x, [np.asarray(p, dtype=x.dtype) for p in params], outputs)
        return [np.broadcast_to(np.asarray(o, dtype=x.dtype), x.shape).copy() if np.ndim(o) < np.ndim(x) else o for o in out]

    @property
    def n_ops(self) -> int:
        """Number of arithmetic instructions (excluding inputs and constants)."""
        return sum(1 for op, _, _ in self.instructions if op not in ("x", "param", "const"))


class _Builder:
    """Hash-consing lowering of sympy trees to instructions."""

    def __init__(self, param_names: Sequence[str]):
        self.instructions: list[Instruction] = []
        self.memo: dict[Any, int] = {}
        self.params = {symbol(n): i for i, n in enumerate(param_names)}

    def emit(self, op: str, args: tuple[int, ...] = (), payload: Any = None) -> int:
        key = (op, args, payload)
        slot = self.memo.get(key)
        if slot is None:
            slot = len(self.instructions)
            self.instructions.append(key)
            self.memo[key] = slot
        return slot

    def const(self, value: float) -> int:
        return self.emit("const", (), float(value))

    def is_const(self, slot: int) -> bool:
        return self.instructions[slot][0] == "const"

    def const_value(self, slot: int) -> float:
        return self.instructions[slot][2]

    # -- lowering --------------------------------------------------------------------------
    def lower(self, e: sp.Expr) -> int:
        key = ("expr", e)
        slot = self.memo.get(key)
        if slot is None:
            slot = self._lower(e)
            self.memo[key] = slot
        return slot

    def _lower(self, e: sp.Expr) -> int:
        if e == X:
            return self.emit("x")
        if e in self.params:
            return self.emit("param", (), self.params[e])
        if not e.free_symbols:
            value = complex(e.evalf(30))
            if value.imag != 0 or not math.isfinite(value.real):
                raise FormulaError(f"constant sub-expression {sp.sstr(e)} is not a finite real number")
            return self.const(value.real)
        if isinstance(e, sp.Symbol):
            raise FormulaError(f"unknown symbol {e.name!r} in expression")
        if e.is_Add:
            return self._add(e)
        if e.is_Mul:
            return self._mul(e)
        if e.is_Pow:
            return self._pow(*e.args)
        return self._function(e)

    def _add(self, e: sp.Expr) -> int:
        const, terms = e.as_coeff_add()
        acc: int | None = None
        if const != 0:
            for term in terms:
                coeff, rest = term.as_coeff_Mul()
                if isinstance(rest, sp.erf) and coeff == const:
                    # c + c*erf(z) == c*erfc(-z), without the cancellation for negative z
                    # (GELU's tail and its derivative)
                    slot = self.emit("erfc", (self.lower(-rest.args[0]),))
                    acc = slot if coeff == 1 else self.emit("mul", (slot, self.const(float(coeff))))
                    terms = tuple(t for t in terms if t is not term)
                    const = sp.Integer(0)
                    break
        for term in terms:
            coeff, rest = term.as_coeff_Mul()
            negative = coeff.is_Number and coeff < 0
            slot = self.lower(-term) if negative else self.lower(term)
            if acc is None:
                acc = self.emit("neg", (slot,)) if negative else slot
            else:
                acc = self.emit("sub" if negative else "add", (acc, slot))
        assert acc is not None
        if const != 0:
            acc = self.emit("add", (acc, self.const(float(const))))
        return acc

    def _mul(self, e: sp.Expr) -> int:
        coeff, factors = e.as_coeff_mul()
        numer: list[int] = []
        denom: list[int] = []
        for f in factors:
            if f.is_Pow and f.args[1].is_Number and f.args[1] < 0:
                denom.append(self.lower(sp.Pow(f.args[0], -f.args[1])))
            else:
                numer.append(self.lower(f))
        if coeff == -1:
            sign, coeff = True, sp.Integer(1)
        else:
            sign = False
        acc: int | None = None
        for slot in numer:
            acc = slot if acc is None else self.emit("mul", (acc, slot))
        if coeff != 1:
            c = self.const(float(coeff))
            acc = c if acc is None else self.emit("mul", (acc, c))
        if denom:
            d = denom[0]
            for slot in denom[1:]:
                d = self.emit("mul", (d, slot))
            acc = self.emit("reciprocal", (d,)) if acc is None else self.emit("div", (acc, d))
        assert acc is not None
        return self.emit("neg", (acc,)) if sign else acc

    def _pow(self, base: sp.Expr, exponent: sp.Expr) -> int:
        if exponent.is_Number:
            b = self.lower(base)
            special = {2: "square", -1: "reciprocal", sp.Rational(1, 2): "sqrt", sp.Rational(-1, 2): "rsqrt"}
            for value, op in special.items():
                if exponent == value:
                    return self.emit(op, (b,))
            if exponent == 3:
                return self.emit("mul", (self.emit("square", (b,)), b))
            return self.emit("pow_scalar", (b,), float(exponent))
        if base == sp.E:
            return self.emit("exp", (self.lower(exponent),))
        if not base.free_symbols:
            return self.emit("scalar_pow", (self.lower(exponent),), float(base.evalf(30)))
        return self.emit("pow", (self.lower(base), self.lower(exponent)))

    _UNARY: dict[type, str] = {
        sp.sin: "sin",
        sp.cos: "cos",
        sp.tan: "tan",
        sp.tanh: "tanh",
        sp.exp: "exp",
        sp.log: "log",
        sp.Abs: "abs",
        sp.erf: "erf",
        sp.sign: "sign",
        sigmoid: "sigmoid",
        softplus: "softplus",
        plog: "plog",
        psqrt: "psqrt",
        pinv: "pinv",
        sp.DiracDelta: "zeros",
    }

    def _function(self, e: sp.Expr) -> int:
        func = type(e)
        if func in self._UNARY and len(e.args) == 1:
            return self.emit(self._UNARY[func], (self.lower(e.args[0]),))
        if func is sp.Heaviside:
            return self.emit("step", (self.lower(e.args[0]),))
        if func is pdiv:
            return self.emit("pdiv", (self.lower(e.args[0]), self.lower(e.args[1])))
        if func in (sp.Max, sp.Min):
            op = "maximum" if func is sp.Max else "minimum"
            slots = [self.lower(a) for a in e.args]
            consts = [self.const_value(s) for s in slots if self.is_const(s)]
            tensors = [s for s in slots if not self.is_const(s)]
            acc = tensors[0]
            for s in tensors[1:]:
                acc = self.emit(op, (acc, s))
            if consts:
                bound = max(consts) if func is sp.Max else min(consts)
                acc = self.emit("clamp_min" if func is sp.Max else "clamp_max", (acc,), bound)
            return acc
        raise FormulaError(f"cannot compile {func.__name__}() to torch: not in the formula language")


@functools.lru_cache(maxsize=512)
def _compile_cached(expr: sp.Expr, param_names: tuple[str, ...], derivatives: bool) -> Program:
    targets = [expr]
    if derivatives:
        targets.append(sp.diff(expr, X))
        targets.extend(sp.diff(expr, symbol(n)) for n in param_names)
    builder = _Builder(param_names)
    outputs = tuple(builder.lower(t) for t in targets)
    return Program(tuple(builder.instructions), outputs, len(param_names))


def compile_program(expr: sp.Expr, param_names: Sequence[str] = (), derivatives: bool = False) -> Program:
    """Compile ``expr`` (and, with ``derivatives``, d/dx and d/dparam) into one :class:`Program`.

    Output 0 is f, output 1 is df/dx, output 2+i is df/d(param i).
    """
    return _compile_cached(expr, tuple(param_names), derivatives)


@functools.lru_cache(maxsize=1)
def _numpy_ops() -> dict[str, Callable[..., Any]]:
    from scipy.special import erf, erfc, expit

    def big(a: np.ndarray) -> np.ndarray:
        return np.abs(a) > PROTECT_EPS

    def plog_np(a: np.ndarray) -> np.ndarray:
        m = big(a)
        return np.where(m, np.log(np.where(m, np.abs(a), 1.0)), 0.0)

    def pinv_np(a: np.ndarray) -> np.ndarray:
        m = big(a)
        return np.where(m, 1.0 / np.where(m, a, 1.0), 0.0)

    def pdiv_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        m = big(b)
        return np.where(m, a / np.where(m, b, 1.0), 1.0)

    def quiet(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any) -> Any:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return fn(*args)

        return wrapped

    table: dict[str, Callable[..., Any]] = {
        "add": np.add,
        "sub": np.subtract,
        "mul": np.multiply,
        "div": np.divide,
        "neg": np.negative,
        "square": np.square,
        "reciprocal": lambda a: 1.0 / a,
        "sqrt": np.sqrt,
        "rsqrt": lambda a: 1.0 / np.sqrt(a),
        "pow_scalar": np.power,
        "scalar_pow": lambda e, base: np.power(base, e),
        "pow": np.power,
        "sin": np.sin,
        "cos": np.cos,
        "tan": np.tan,
        "tanh": np.tanh,
        "exp": np.exp,
        "log": np.log,
        "abs": np.abs,
        "erf": erf,
        "erfc": erfc,
        "sign": np.sign,
        "step": lambda a: (a > 0).astype(np.result_type(a, np.float32)),
        "zeros": np.zeros_like,
        "sigmoid": expit,
        "softplus": lambda a: np.logaddexp(0.0, a),
        "plog": plog_np,
        "psqrt": lambda a: np.sqrt(np.abs(a)),
        "pinv": pinv_np,
        "pdiv": pdiv_np,
        "maximum": np.maximum,
        "minimum": np.minimum,
        "clamp_min": np.maximum,
        "clamp_max": np.minimum,
    }
    return {k: quiet(v) for k, v in table.items()}
