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
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import sympy as sp

from nsad_lib.errors import FormulaError
from nsad_lib.formula.language import X, symbol, work_budget
from nsad_lib.formula.ops import NUMPY_OPS, SYMPY_OPS, cost
from nsad_lib.formula.plan import needed_slots, plan_slots

# An instruction: (operator, argument slots, literal payload). Slots index earlier results.
# Operators are the names in nsad_lib.formula.ops.OPS, or one of its LEAVES.
Instruction = tuple[str, tuple[int, ...], Any]


@dataclass(frozen=True)
class Program:
    """Instructions in dependency order plus the slot (or constant) of each output."""

    instructions: tuple[Instruction, ...]
    outputs: tuple[int, ...]
    n_params: int
    #: Memo of what evaluators derive from the program, keyed by tuples: plans (keyed by output
    #: tuples) here, run-time schedules (keyed by ("...", ...) tuples) in nsad_lib.nn.executor.
    #: A plain dict, not functools.cached_property: that one takes an RLock, which is a graph
    #: break for torch.compile. Not part of equality or hashing.
    cache: dict[tuple[Any, ...], Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def plan(self, outputs: tuple[int, ...]) -> tuple[tuple[int, ...], dict[int, tuple[int, ...]]]:
        """Slots needed for ``outputs`` and, per slot, which slots can be freed after it."""
        cached = self.cache.get(outputs)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        result = plan_slots(self.instructions, [self.outputs[o] for o in outputs])
        self.cache[outputs] = result
        return result

    def run_numpy(self, x: np.ndarray, params: Sequence[float], outputs: tuple[int, ...] = (0,)) -> list[np.ndarray]:
        """Evaluate the chosen outputs on numpy arrays (torch: :func:`nsad_lib.nn.executor.run_program`)."""
        order, frees = self.plan(outputs)
        values: dict[int, Any] = {}
        for s in order:
            op, args, payload = self.instructions[s]
            if op == "x":
                values[s] = x
            elif op == "param":
                values[s] = np.asarray(params[payload], dtype=x.dtype)
            elif op == "const":
                values[s] = payload
            else:
                fn = NUMPY_OPS[op]
                operands = [values[a] for a in args]
                values[s] = fn(*operands, payload) if payload is not None else fn(*operands)
            for dead in frees.get(s, ()):
                del values[dead]
        out = [values[self.outputs[o]] for o in outputs]
        return [
            np.broadcast_to(np.asarray(o, dtype=x.dtype), x.shape).copy() if np.ndim(o) < np.ndim(x) else o for o in out
        ]


class _Builder:
    """Hash-consing lowering of sympy trees to instructions."""

    def __init__(self, param_names: Sequence[str]):
        self.instructions: list[Instruction] = []
        self.memo: dict[Any, int] = {}
        self.params = {symbol(n): i for i, n in enumerate(param_names)}

    def copy(self) -> "_Builder":
        twin = _Builder.__new__(_Builder)
        twin.instructions = list(self.instructions)
        twin.memo = dict(self.memo)
        twin.params = self.params
        return twin

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
            return self.const(self._number(e))
        if isinstance(e, sp.Symbol):
            raise FormulaError(f"unknown symbol {e.name!r} in expression")
        if e.is_Add:
            return self._add(e)
        if e.is_Mul:
            return self._mul(e)
        if e.is_Pow:
            return self._pow(*e.args)
        return self._function(e)

    # Fused instructions (nsad_lib.formula.ops.ARITHMETIC) keep the number of passes over the
    # data low:
    #   affine(a; s, t) = s*a + t            add_scaled(a, b; c) = a + c*b
    #   mul_scaled(a, b; c) = c*a*b          addcmul(a, b, c; v) = a + v*b*c
    #   div_scaled(a, b; c) = c*a/b          scalar_div(b; c) = c/b
    def _number(self, value: sp.Expr) -> float:
        number = complex(value.evalf(30))
        if number.imag != 0 or not math.isfinite(number.real):
            raise FormulaError(f"constant sub-expression {sp.sstr(value)} is not a finite real number")
        return number.real

    def _scaled(self, slot: int, coeff: float, shift: float = 0.0) -> int:
        """coeff*slot + shift in one instruction."""
        if shift == 0.0:
            if coeff == 1.0:
                return slot
            if coeff == -1.0:
                return self.emit("neg", (slot,))
            return self.emit("mul", (slot, self.const(coeff)))
        if coeff == 1.0:
            return self.emit("add", (slot, self.const(shift)))
        return self.emit("affine", (slot,), (coeff, shift))

    def _product_split(self, rest: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
        """``rest`` as (p, q) with p*q == rest when it is a plain product (no division)."""
        if ("expr", rest) in self.memo:
            return None
        if rest.is_Pow and rest.args[1] == 2:  # b**2 == b*b
            return rest.args[0], rest.args[0]
        if not rest.is_Mul:
            return None
        factors = rest.args
        if any(f.is_Pow and f.args[1].is_Number and f.args[1] < 0 for f in factors):
            return None
        return sp.Mul(*factors[:-1]), factors[-1]

    def _coeff_rest(self, term: sp.Expr) -> tuple[float, sp.Expr, sp.Expr]:
        """term == coeff*rest with every numeric factor (sqrt(2), pi) in the float coeff."""
        coeff, rest = term.as_coeff_Mul()
        if rest.is_Mul:
            numeric = [f for f in rest.args if not f.free_symbols]
            if numeric:
                coeff = coeff * sp.Mul(*numeric)
                rest = sp.Mul(*[f for f in rest.args if f.free_symbols])
        return self._number(coeff), rest, term

    # -- sums ------------------------------------------------------------------------------
    # c + c*erf(z) is deliberately NOT rewritten to c*erfc(-z) (which avoids the cancellation for
    # very negative z): torch has no vectorized erfc on CPU, so erfc is ~5x slower than erf both
    # eagerly and in inductor kernels, and the erf form already meets float32 accuracy
    # (|error| <= 1e-6 + 1e-6*|f| for GELU and its derivative on [-8, 8], eager and compiled),
    # like torch's own GELU, which uses the erf form too. The "erfc" operator stays in the spec.
    def _add(self, e: sp.Expr) -> int:
        shift, items = self._add_terms(e)
        if shift == 0.0 and len(items) > 1 and all(c < 0 for c, _, _ in items):
            # -a - b*c: lower a + b*c and negate once at the end; as cheap here, and a trailing
            # scale folds into the backward's multiply by the incoming gradient
            positive = sp.Add(*[-t for _, _, t in items])
            return self.emit("neg", (self.lower(positive),))
        acc = self._add_start(items, shift) if shift != 0.0 else self.lower(items.pop(0)[2])
        for coeff, rest, _ in items:
            acc = self._add_term(acc, coeff, rest)
        return acc

    def _add_terms(self, e: sp.Expr) -> tuple[float, list[tuple[float, sp.Expr, sp.Expr]]]:
        """The constant shift of a sum and its (coefficient, rest, term) items, in lowering order."""
        const, terms = e.as_coeff_add()
        numeric = [t for t in terms if not t.free_symbols]  # e.g. sqrt(2): part of the shift
        if numeric:
            const = const + sp.Add(*numeric)
            terms = tuple(t for t in terms if t.free_symbols)
        shift = self._number(const) if const != 0 else 0.0
        # coefficient 1 first, then positive ones, so that a sum starts without a negation and a
        # constant folds into an `affine` start; products last: a later product fuses into `addcmul`
        items = [self._coeff_rest(t) for t in terms]
        items.sort(key=lambda cr: (0 if cr[0] == 1.0 else (1 if cr[0] > 0 else 2), cr[1].is_Mul))
        return shift, items

    def _add_start(self, items: list[tuple[float, sp.Expr, sp.Expr]], shift: float) -> int:
        """The first instruction of a sum with a constant ``shift``: one term and the shift fused
        (removes that term from ``items``)."""
        products = [i for i, (_, r, _) in enumerate(items) if self._product_split(r) is not None]
        if products:  # t + c*p*q (e.g. 1 - tanh(x)**2) is one addcmul
            coeff, rest, _ = items.pop(products[0])
            p, q = self._product_split(rest)  # type: ignore[misc]
            return self.emit("addcmul", (self.const(shift), self.lower(p), self.lower(q)), coeff)
        pick = next((i for i, (c, _, _) in enumerate(items) if c != 1.0), 0)
        coeff, rest, _ = items.pop(pick)
        return self._scaled(self.lower(rest), coeff, shift)

    def _add_term(self, acc: int, coeff: float, rest: sp.Expr) -> int:
        """``acc + coeff*rest`` in one instruction."""
        split = self._product_split(rest)
        if split is not None:
            return self.emit("addcmul", (acc, self.lower(split[0]), self.lower(split[1])), coeff)
        if coeff == 1.0:
            return self.emit("add", (acc, self.lower(rest)))
        if coeff == -1.0:
            return self.emit("sub", (acc, self.lower(rest)))
        return self.emit("add_scaled", (acc, self.lower(rest)), coeff)

    # -- products ----------------------------------------------------------------------------
    def _mul(self, e: sp.Expr) -> int:
        coeff, numer_exprs, denom = self._mul_factors(e)
        if not denom and len(numer_exprs) >= 2:
            fused = self._mul_fused_sum(coeff, numer_exprs)
            if fused is not None:
                return fused
        numer = [self.lower(f) for f in numer_exprs]
        if denom:
            return self._quotient(coeff, numer, denom)
        return self._product(coeff, numer)

    def _mul_factors(self, e: sp.Expr) -> tuple[float, list[sp.Expr], list[int]]:
        """A product as its float coefficient, its numerator factors (not lowered yet) and its
        lowered denominators."""
        coeff_expr, factors = e.as_coeff_mul()
        # numeric factors such as sqrt(2) or pi join the coefficient (one multiply, not two)
        numeric = [f for f in factors if not f.free_symbols]
        if numeric:
            coeff_expr = coeff_expr * sp.Mul(*numeric)
            factors = tuple(f for f in factors if f.free_symbols)
        coeff = self._number(coeff_expr)
        numer_exprs: list[sp.Expr] = []
        denom: list[int] = []
        for f in factors:
            if f.is_Pow and f.args[1].is_Number and f.args[1] < 0:
                denom.append(self.lower(sp.Pow(f.args[0], -f.args[1])))
            elif f.is_Pow and f.args[1] == 2 and (coeff != 1.0 or len(factors) > 1) and ("expr", f) not in self.memo:
                numer_exprs.extend((f.args[0], f.args[0]))  # c*b**2 is mul_scaled(b, b): one pass
            else:
                numer_exprs.append(f)
        return coeff, numer_exprs, denom

    def _mul_fused_sum(self, coeff: float, numer_exprs: list[sp.Expr]) -> int | None:
        """c*(t + k*u)*b as (c*t) * (b + (k/t)*u*b): one addcmul (e.g. sigmoid's (1 - s)*s, or
        -sin(x)*(1 + sin(cos(x)))), then a constant factor unless c*t == 1; a trailing factor is
        free in the backward, which folds it into its multiply by the gradient. b may be a
        product itself (a*x*(1 - s): b = a*x, often already computed). None if no factor fits."""
        for i, f in enumerate(numer_exprs):
            b = sp.Mul(*(numer_exprs[:i] + numer_exprs[i + 1 :]))
            if not f.is_Add or ("expr", f) in self.memo:
                continue
            t, terms = f.as_coeff_add()
            if len(terms) != 1 or t == 0:
                continue
            k, u = terms[0].as_coeff_Mul()
            if not u.free_symbols or not k.is_Number:
                continue
            b_slot = self.lower(b)
            scale = coeff * float(t)
            if abs(scale - 1.0) < 1e-15:
                return self.emit("addcmul", (b_slot, self.lower(u), b_slot), coeff * float(k))
            slot = self.emit("addcmul", (b_slot, self.lower(u), b_slot), float(k) / float(t))
            return self._scaled(slot, scale)
        return None

    def _quotient(self, coeff: float, numer: list[int], denom: list[int]) -> int:
        """coeff * prod(numer) / prod(denom) (slots already lowered)."""
        d = denom[0]
        for slot in denom[1:]:
            d = self.emit("mul", (d, slot))
        if not numer:
            return self.emit("reciprocal", (d,)) if coeff == 1.0 else self.emit("scalar_div", (d,), coeff)
        acc = numer[0]
        for slot in numer[1:]:
            acc = self.emit("mul", (acc, slot))
        return self.emit("div", (acc, d)) if coeff == 1.0 else self.emit("div_scaled", (acc, d), coeff)

    def _product(self, coeff: float, numer: list[int]) -> int:
        """coeff * prod(numer), the coefficient fused into the last multiply."""
        if len(numer) == 1:
            return self._scaled(numer[0], coeff)
        acc = numer[0]
        for slot in numer[1:-1]:
            acc = self.emit("mul", (acc, slot))
        if coeff == 1.0:
            return self.emit("mul", (acc, numer[-1]))
        return self.emit("mul_scaled", (acc, numer[-1]), coeff)

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

    def _function(self, e: sp.Expr) -> int:
        func = type(e)
        if func in (sp.Max, sp.Min):
            return self._min_max(e)
        if func is sp.Heaviside:  # Heaviside(z, H0): the step op has H(0) = 0 whatever H0
            return self.emit("step", (self.lower(e.args[0]),))
        op = SYMPY_OPS.get(func)
        if op is not None and len(e.args) == op.arity:
            return self.emit(op.name, tuple(self.lower(a) for a in e.args))
        raise FormulaError(f"cannot compile {func.__name__}() to torch: not in the formula language")

    def _min_max(self, e: sp.Expr) -> int:
        """Max/Min of n arguments: pairwise maximum/minimum, every constant in one clamp."""
        is_max = type(e) is sp.Max
        op = "maximum" if is_max else "minimum"
        slots = [self.lower(a) for a in e.args]
        consts = [self.const_value(s) for s in slots if self.is_const(s)]
        tensors = [s for s in slots if not self.is_const(s)]
        acc = tensors[0]
        for s in tensors[1:]:
            acc = self.emit(op, (acc, s))
        if consts:
            acc = self.emit("clamp_min" if is_max else "clamp_max", (acc,), max(consts) if is_max else min(consts))
        return acc


def _cost(instructions: Sequence[Instruction], slots: Sequence[int]) -> float:
    """Cost of computing ``slots`` (and everything they need) once."""
    return sum(cost(instructions[s][0]) for s in needed_slots(instructions, slots))


def _forms(e: sp.Expr) -> list[sp.Expr]:
    """Equivalent forms of ``e`` worth costing: as written and with common factors pulled out.

    ``factor_terms`` only regroups (no cancellation, no new divisions), so it keeps the value
    and the protected operators' semantics; ``simplify`` is not used (unbounded run time).
    """
    forms = [e]
    try:
        factored = sp.factor_terms(e)
    except (TypeError, ValueError, RecursionError):  # pragma: no cover - defensive
        factored = e
    if factored != e:
        forms.append(factored)
    return forms


def _lower_cheapest(builder: _Builder, e: sp.Expr, keep: Sequence[int]) -> tuple[_Builder, int]:
    """Lower the cheapest form of ``e`` (cost of ``keep`` + it, sharing counted once)."""
    best: tuple[float, _Builder, int] | None = None
    for form in _forms(e):
        trial = builder.copy()
        slot = trial.lower(form)
        total = _cost(trial.instructions, [*keep, slot])
        if best is None or total < best[0]:
            best = (total, trial, slot)
    assert best is not None
    return best[1], best[2]


@functools.lru_cache(maxsize=512)
def _compile_cached(expr: sp.Expr, param_names: tuple[str, ...], derivatives: bool) -> Program:
    builder = _Builder(param_names)
    builder, f_slot = _lower_cheapest(builder, expr, ())
    outputs = [f_slot]
    if derivatives:
        # The backward evaluates all derivative outputs together (from x alone), so each is
        # costed together with the ones already chosen; shared subexpressions count once.
        for wrt in (X, *(symbol(n) for n in param_names)):
            builder, slot = _lower_cheapest(builder, sp.diff(expr, wrt), outputs[1:])
            outputs.append(slot)
    return Program(tuple(builder.instructions), tuple(outputs), len(param_names))


def compile_program(expr: sp.Expr, param_names: Sequence[str] = (), derivatives: bool = False) -> Program:
    """Compile ``expr`` (and, with ``derivatives``, d/dx and d/dparam) into one :class:`Program`.

    Output 0 is f, output 1 is df/dx, output 2+i is df/d(param i).
    """
    with work_budget():
        return _compile_cached(expr, tuple(param_names), derivatives)
