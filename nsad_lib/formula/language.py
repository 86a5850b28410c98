"""The safe formula language: text -> sympy, without ``eval``, ``exec`` or ``sympify``.

A formula is a univariate expression in ``x``, optionally with named parameters declared
with initial values (``a*x + tanh(b*x)`` with ``{"a": 0.5, "b": 1.0}``). Text comes from
files, the Hub and users, so it is untrusted: a hand-written tokenizer and recursive-descent
parser accept only a whitelist (numbers, ``x``, declared parameters, ``pi``, ``E``,
``+ - * / ^ **``, parentheses and the functions in :data:`FUNCTIONS`) and build sympy objects
directly. Anything else is a :class:`FormulaError` naming the token and its position.

The canonical text form is sympy's own printing (``Abs``, ``Max``, ``**``, rationals), and
``parse_formula(canonical(e)) == e``. Numeric literals keep 15 significant digits, which is what sympy
prints, so the round trip is exact.

Size limits (sympy evaluates exact arithmetic eagerly, so untrusted text could otherwise ask for
astronomically large integers):

* One rule for every exact constant, typed or computed: an integer, or the numerator or
  denominator of a rational, has at most :data:`MAX_NUMBER_LENGTH` digits -- the same bound a
  typed literal has. ``x*2**100`` is accepted, ``x*2**200`` (61 digits) is refused with
  "constant is too large". Hence the canonical text of any accepted formula only holds literals
  the tokenizer accepts, and ``parse_formula(canonical(e)) == e`` holds for every accepted formula.
* Before sympy computes an exact power, the size of the result is estimated from every exact
  number the power would touch (``c`` in ``(c*x)**k``, ``N`` in ``sqrt(N)**k``, ``p/q`` in
  ``(p/q)**k``); over :data:`MAX_EXACT_POWER_BITS` bits the formula is refused ("numeric power is
  too large") without computing anything. As a backstop for powers that sympy builds on its
  own (``exp(k*log(3))`` -> ``3**k``, ``Abs(b**(k + I*x))``), every exact ``Rational ** Rational``
  evaluation while a formula is being built is size-checked the same way.
* Exponents that are numbers are bounded by :data:`MAX_EXPONENT` in absolute value.
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

import sympy as sp

from nsad_lib.errors import FormulaError
from nsad_lib.formula.functions import EXTRA_FUNCTIONS, PROTECT_EPS, pdiv, pinv, plog, psqrt, sigmoid, softplus

__all__ = [
    "FUNCTIONS",
    "FormulaError",
    "MAX_DEPTH",
    "MAX_EXACT_POWER_BITS",
    "MAX_CONSTANT_LOG2",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_MINMAX_ARGS",
    "MAX_WORK",
    "MAX_NUMBER_LENGTH",
    "X",
    "canonical",
    "check_expression",
    "parse_formula",
    "symbol",
]

#: Longest formula text accepted (characters); longer input is refused before any parsing.
MAX_LENGTH = 4096
#: Deepest nesting of parentheses / operators accepted.
MAX_DEPTH = 64
#: Longest numeric literal accepted (characters); also the most digits any exact constant may
#: have, typed or computed (numerator and denominator counted separately).
MAX_NUMBER_LENGTH = 40
#: Largest estimated size, in bits, of an exact numeric power sympy is allowed to compute. It is
#: far above what MAX_NUMBER_LENGTH keeps (~133 bits) and far below what is slow to compute.
MAX_EXACT_POWER_BITS = 4096
#: Largest |exponent| accepted when the exponent is a number.
MAX_EXPONENT = 10**6
#: Every constant sub-expression (no ``x``, no parameter) must be a finite real number whose
#: magnitude is below 2**MAX_CONSTANT_LOG2 (the float64 range) and, unless it is exactly zero,
#: at least 2**MIN_CONSTANT_LOG2. It is evaluated in fixed 64-bit precision as soon as it is
#: built, before sympy is allowed to use it, so sympy never evaluates a huge or tiny constant
#: (``sin(exp(exp(exp(3))))`` would need pi to half a billion bits).
MAX_CONSTANT_LOG2 = 1024
MIN_CONSTANT_LOG2 = -1100
#: Most arguments of one Max/Min (after flattening nested ones): sympy compares every pair.
MAX_MINMAX_ARGS = 8
#: Work budget of one parse (re-reads included) and of one compilation: sympy assumption
#: queries plus numeric evaluations (weighted by precision) plus constants evaluated. The
#: bundled registry formulas use at most ~550 (compilation with derivatives); one unit costs
#: at most ~0.3 ms on a 2-core machine.
MAX_WORK = 3_000
#: Highest working precision (bits) sympy may use for a numeric evaluation during a build.
MAX_EVALF_PREC = 4096

#: Exact constants must be smaller than this in absolute value (numerator and denominator).
_CONSTANT_BOUND = 10**MAX_NUMBER_LENGTH


def symbol(name: str) -> sp.Symbol:
    """The sympy symbol used for ``name`` (all formula symbols are real)."""
    return sp.Symbol(name, real=True)


#: The activation's input variable.
X = symbol("x")


def _max(*args: sp.Expr) -> sp.Expr:
    return sp.Max(*args, evaluate=True)


def _min(*args: sp.Expr) -> sp.Expr:
    return sp.Min(*args, evaluate=True)


#: Whitelisted function names -> (sympy constructor, minimum arity, maximum arity or None).
FUNCTIONS: dict[str, tuple[Callable[..., sp.Expr], int, int | None]] = {
    "sin": (sp.sin, 1, 1),
    "cos": (sp.cos, 1, 1),
    "tan": (sp.tan, 1, 1),
    "tanh": (sp.tanh, 1, 1),
    "exp": (sp.exp, 1, 1),
    "log": (sp.log, 1, 1),
    "sqrt": (sp.sqrt, 1, 1),
    "abs": (sp.Abs, 1, 1),
    "Abs": (sp.Abs, 1, 1),
    "erf": (sp.erf, 1, 1),
    "sigmoid": (sigmoid, 1, 1),
    "softplus": (softplus, 1, 1),
    "max": (_max, 2, None),
    "Max": (_max, 2, None),
    "min": (_min, 2, None),
    "Min": (_min, 2, None),
    "plog": (plog, 1, 1),
    "pdiv": (pdiv, 2, 2),
    "psqrt": (psqrt, 1, 1),
    "pinv": (pinv, 1, 1),
}
assert set(EXTRA_FUNCTIONS) <= set(FUNCTIONS)

#: Named constants of the language (as sympy prints them).
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}

#: Names that can never be parameters.
RESERVED = frozenset(FUNCTIONS) | frozenset(CONSTANTS) | {"x"}

_OPERATORS = ("**", "+", "-", "*", "/", "^", "(", ")", ",")
_WHITESPACE = " \t\r\n"


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "name", "op", "end"
    text: str
    pos: int


def _is_digit(c: str) -> bool:
    return c.isascii() and c.isdigit()


def _digits_end(text: str, i: int) -> int:
    """Index just past the run of ASCII digits starting at ``i``."""
    while i < len(text) and _is_digit(text[i]):
        i += 1
    return i


def _number_end(text: str, i: int) -> int:
    """Index just past the numeric literal at ``i``: digits, an optional fraction, and an
    exponent only when digits follow ``e``/``E`` and its sign (else the ``e`` is a name)."""
    n = len(text)
    j = _digits_end(text, i)
    if j < n and text[j] == ".":
        j = _digits_end(text, j + 1)
    if j < n and text[j] in "eE":
        k = j + 1
        if k < n and text[k] in "+-":
            k += 1
        if k < n and _is_digit(text[k]):
            j = _digits_end(text, k)
    return j


def _name_end(text: str, i: int) -> int:
    """Index just past the ASCII identifier at ``i``."""
    j = i
    while j < len(text) and text[j].isascii() and (text[j].isalnum() or text[j] == "_"):
        j += 1
    return j


def _next_token(text: str, i: int) -> _Token:
    """The token starting at ``i`` (not whitespace); FormulaError for anything else."""
    c = text[i]
    if _is_digit(c) or (c == "." and i + 1 < len(text) and _is_digit(text[i + 1])):
        literal = text[i : _number_end(text, i)]
        if len(literal) > MAX_NUMBER_LENGTH:
            raise FormulaError("numeric literal is too long", literal, i)
        return _Token("num", literal, i)
    if c.isascii() and (c.isalpha() or c == "_"):
        return _Token("name", text[i : _name_end(text, i)], i)
    for op in _OPERATORS:
        if text.startswith(op, i):
            return _Token("op", op, i)
    raise FormulaError(f"unexpected character {c!r} (U+{ord(c):04X})", c, i)


def _tokenize(text: str) -> list[_Token]:
    """The tokens of ``text``, ending with an "end" token."""
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in _WHITESPACE:
            i += 1
            continue
        token = _next_token(text, i)
        tokens.append(token)
        i += len(token.text)
    tokens.append(_Token("end", "", n))
    return tokens


def _number(literal: str, pos: int) -> sp.Expr:
    if all(ch.isdigit() for ch in literal):
        return sp.Integer(int(literal))
    try:
        value = float(literal)
    except ValueError:  # pragma: no cover - the tokenizer only yields valid literals
        raise FormulaError("invalid number", literal, pos) from None
    if not math.isfinite(value):
        raise FormulaError("number out of range", literal, pos)
    # 15 significant digits: exactly what sympy prints back, so parse_formula(canonical(e)) == e.
    return sp.Float(repr(float(f"{value:.15g}")), 15)


def _magnitude(value: sp.Expr) -> float:
    """|value| for a sympy Number, as a float (inf when it does not fit)."""
    if isinstance(value, sp.Rational):
        try:
            return abs(int(value.p)) / int(value.q)
        except OverflowError:
            return math.inf
    try:
        return abs(float(value))
    except (OverflowError, TypeError, ValueError):  # pragma: no cover - Float/NumberSymbol
        return math.inf


def _rational_bits(value: sp.Rational) -> float:
    """log2|p| + log2(q): the size in bits of an exact rational."""
    p, q = abs(int(value.p)), int(value.q)
    return (math.log2(p) if p > 1 else 0.0) + (math.log2(q) if q > 1 else 0.0)


def _power_bits(base: sp.Expr) -> float:
    """Estimated bits of the exact numbers that ``base**e`` computes, per unit of ``|e|``.

    Sympy distributes an exact exponent over a product (``(c*x)**k -> c**k*x**k``), folds nested
    powers (``sqrt(N)**k -> N**(k/2)``) and, when a sum has a float coefficient, pulls its largest
    coefficient out. Every exact number reached that way is counted; functions and sums of
    symbols are left alone by sympy, so they cost nothing here (the evaluation guard is the
    backstop for anything else).
    """
    total = 0.0
    stack: list[tuple[sp.Expr, float]] = [(base, 1.0)]
    while stack:
        node, scale = stack.pop()
        if node.is_Rational:
            total += scale * _rational_bits(node)
        elif node.is_Atom:
            continue  # Float (fixed precision), symbols, pi, E
        elif node.is_Pow:
            inner, exponent = node.args
            if exponent.is_Number:
                stack.append((inner, scale * _magnitude(exponent)))
        elif node.is_Mul or (node.is_Add and (node.is_number or any(a.as_coeff_Mul()[0].is_Float for a in node.args))):
            stack.extend((a, scale) for a in node.args)
        if total > MAX_EXACT_POWER_BITS * 2:
            break  # already over the limit; no need to look further
    return total


def _checked_pow(base: sp.Expr, exponent: sp.Expr, token: _Token) -> sp.Expr:
    """``base**exponent``, refusing powers that would make sympy compute huge exact numbers."""
    if exponent.is_Number:
        magnitude = _magnitude(exponent)
        if magnitude > MAX_EXPONENT:
            raise FormulaError(f"exponent is too large (the limit is {MAX_EXPONENT})", token.text, token.pos)
        if magnitude * _power_bits(base) > MAX_EXACT_POWER_BITS:
            raise FormulaError(
                f"numeric power is too large (over {MAX_EXACT_POWER_BITS} bits)", token.text, token.pos
            )
    return sp.Pow(base, exponent)


def _check_constants(expr: sp.Expr, token: _Token | None = None, depth: int | None = 3) -> sp.Expr:
    """Refuse exact constants with more than MAX_NUMBER_LENGTH digits.

    ``depth`` limits the scan to the nodes an operation can have just created (sympy folds
    constants near the root: a sum's or product's coefficients at depth <= 2, a power's or a
    function's, e.g. ``exp(x + 3)**k -> exp(k*x + 3*k)``, at depth <= 3); ``None`` scans the
    whole expression (done once per build, so anything deeper is still refused).
    """
    if depth is None:
        nodes: list[sp.Basic] = list(expr.atoms(sp.Rational))
        depth = 0
    else:
        nodes = [expr]
    for level in range(depth + 1):
        below: list[sp.Basic] = []
        for node in nodes:
            if node.is_Rational:
                if abs(node.p) >= _CONSTANT_BOUND or node.q >= _CONSTANT_BOUND:
                    message = f"constant is too large: more than {MAX_NUMBER_LENGTH} digits (MAX_NUMBER_LENGTH)"
                    if token is None:
                        raise FormulaError(message)
                    raise FormulaError(message, token.text, token.pos)
            elif level < depth:
                below.extend(node.args)
        nodes = below
    return expr


class _PowerTooLarge(Exception):
    """Raised by the evaluation guard; turned into a FormulaError by the parser."""


_GUARD = threading.local()


@contextmanager
def _guarded_evaluation() -> Iterator[None]:
    """While active (in this thread only), exact Rational**Rational evaluation is size-checked."""
    _GUARD.depth = getattr(_GUARD, "depth", 0) + 1
    try:
        yield
    finally:
        _GUARD.depth -= 1


def _install_power_guard(cls: type) -> None:
    original = cls.__dict__.get("_eval_power")
    if original is None or getattr(original, "_nsad_guarded", False):  # pragma: no cover - other sympy, or reloaded
        return  # the checks before each power still apply; only this backstop is missing

    def _eval_power(self: sp.Rational, expt: sp.Expr):  # type: ignore[no-untyped-def]
        if (
            getattr(_GUARD, "depth", 0)
            and isinstance(expt, sp.Rational)
            and _rational_bits(self) * max(_magnitude(expt), 1.0) > MAX_EXACT_POWER_BITS
        ):
            raise _PowerTooLarge
        return original(self, expt)

    _eval_power._nsad_guarded = True  # type: ignore[attr-defined]
    _eval_power.__doc__ = original.__doc__
    cls._eval_power = _eval_power  # type: ignore[attr-defined]


# Every exact power sympy evaluates goes through these two methods (Pow.__new__ calls
# base._eval_power); the guard is inert outside parse_formula() and in other threads.
_install_power_guard(sp.Rational)
_install_power_guard(sp.Integer)


class _WorkExceeded(BaseException):
    """Raised inside sympy when a build is over its work budget (a BaseException, so that no
    ``except Exception`` inside sympy can swallow it); turned into a FormulaError."""


def _spend(amount: int = 1) -> None:
    """Count work against the active budget (no-op outside a guarded build)."""
    if getattr(_GUARD, "depth", 0):
        _GUARD.work = getattr(_GUARD, "work", 0) + amount
        if _GUARD.work > MAX_WORK:
            raise _WorkExceeded


@contextmanager
def work_budget() -> Iterator[None]:
    """Run a build (parse, lowering) under the work budget and the evaluation guards.

    Nested uses share the outer budget. Exceeding it raises :class:`FormulaError`.
    """
    outer = getattr(_GUARD, "depth", 0)
    if not outer:
        _GUARD.work = 0
    _GUARD.depth = outer + 1
    try:
        yield
    except _WorkExceeded:
        if outer:
            raise
        raise FormulaError(
            f"formula needs too much symbolic work to build (over {MAX_WORK} steps; MAX_WORK)", None, None
        ) from None
    except _PowerTooLarge:
        if outer:
            raise
        raise FormulaError(f"numeric power is too large (over {MAX_EXACT_POWER_BITS} bits)", None, None) from None
    finally:
        _GUARD.depth = outer


def _install_work_counters() -> None:
    """Count sympy's assumption queries and numeric evaluations while a build is guarded, and
    refuse numeric evaluation above MAX_EVALF_PREC bits (both inert outside a build)."""
    import importlib

    # by module path: sympy.core re-exports functions under these same names
    assumptions = importlib.import_module("sympy.core.assumptions")
    evalf_module = importlib.import_module("sympy.core.evalf")

    ask = assumptions._ask
    if not getattr(ask, "_nsad_guarded", False):

        def _ask(fact, obj):  # type: ignore[no-untyped-def]
            if getattr(_GUARD, "depth", 0):
                _spend()
            return ask(fact, obj)

        _ask._nsad_guarded = True  # type: ignore[attr-defined]
        assumptions._ask = _ask

    evalf = evalf_module.evalf
    if not getattr(evalf, "_nsad_guarded", False):

        def _evalf(x, prec, options):  # type: ignore[no-untyped-def]
            if getattr(_GUARD, "depth", 0):
                if prec > MAX_EVALF_PREC:
                    raise _WorkExceeded
                _spend(1 + prec // 256)
            return evalf(x, prec, options)

        _evalf._nsad_guarded = True  # type: ignore[attr-defined]
        _evalf.__doc__ = evalf.__doc__
        evalf_module.evalf = _evalf

    # Polynomial expansion (sympy splits (a + b)**n into real and imaginary parts with dense
    # polynomial arithmetic, e.g. when Heaviside checks im() of a Max derivative's argument):
    # every dense product is charged by its size.
    densearith = importlib.import_module("sympy.polys.densearith")
    for name in ("dup_mul", "dup_sqr"):
        original = getattr(densearith, name)
        if getattr(original, "_nsad_guarded", False):
            continue

        def _charged(*args, _original=original):  # type: ignore[no-untyped-def]
            if getattr(_GUARD, "depth", 0):
                f, g = args[0], args[1] if _original.__name__ == "dup_mul" else args[0]
                _spend(1 + len(f) * len(g) // 2000)
            return _original(*args)

        _charged._nsad_guarded = True  # type: ignore[attr-defined]
        _charged.__name__ = name
        setattr(densearith, name, _charged)


_install_work_counters()


# -- constant sub-expressions: evaluated in bounded precision before sympy may use them -----------

import mpmath as _mpmath  # noqa: E402

_MP = _mpmath.MPContext()
_MP.prec = 64


class _ConstantError(Exception):
    """A constant sub-expression is not a finite real number of bounded size."""


def _mag_ok(v) -> bool:  # type: ignore[no-untyped-def]
    if not v:
        return True
    m = _MP.mag(v)  # 2**(m-1) <= |v| < 2**m
    return MIN_CONSTANT_LOG2 <= m <= MAX_CONSTANT_LOG2


def _log2_abs(v) -> float:  # type: ignore[no-untyped-def]
    man, exp = _MP.frexp(v)  # |man| in [0.5, 1)
    return float(exp) + math.log2(abs(float(man)))


def _eval_call(func: type, vals: list) -> object:  # type: ignore[type-arg]
    """The value of a whitelisted function at bounded numbers (arguments checked already)."""
    mp = _MP
    a = vals[0]
    if func is sp.exp:
        if a > 709 or a < -760:
            raise _ConstantError("exp() of this constant is out of the float64 range")
        return mp.exp(a)
    if func is sp.log:
        if a <= 0:
            raise _ConstantError("log() of a constant that is not positive")
        return mp.log(a)
    if func is sp.sin:
        return mp.sin(a)
    if func is sp.cos:
        return mp.cos(a)
    if func is sp.tan:
        return mp.tan(a)
    if func is sp.tanh:
        return mp.tanh(a)
    if func is sp.erf:
        return mp.erf(a)
    if func is sp.Abs:
        return abs(a)
    if func is sp.sign:
        return mp.sign(a)
    if func is sigmoid:
        if a < -760:
            raise _ConstantError("sigmoid() of this constant is out of the float64 range")
        return 1 / (1 + mp.exp(-a)) if a > -700 else mp.exp(a) / (1 + mp.exp(a))
    if func is softplus:
        if a < -760:
            raise _ConstantError("softplus() of this constant is out of the float64 range")
        return a + mp.log1p(mp.exp(-a)) if a > 0 else mp.log1p(mp.exp(a))
    if func is plog:
        return mp.log(abs(a)) if abs(a) > PROTECT_EPS else mp.zero
    if func is psqrt:
        return mp.sqrt(abs(a))
    if func is pinv:
        return 1 / a if abs(a) > PROTECT_EPS else mp.zero
    if func is pdiv:
        b = vals[1]
        return a / b if abs(b) > PROTECT_EPS else mp.one
    if func is sp.Max:
        return max(vals)
    if func is sp.Min:
        return min(vals)
    raise _ConstantError(f"{func.__name__}() is not in the formula language")


class _Constants:
    """Memoised bounded evaluation of the constant sub-expressions of one build."""

    def __init__(self) -> None:
        self.values: dict[sp.Basic, object] = {}

    def check(self, expr: sp.Basic) -> None:
        """Evaluate every constant sub-expression of ``expr`` not seen yet; FormulaError if one
        is not a finite real number of bounded size."""
        try:
            self._value(expr)
        except _ConstantError as exc:
            raise FormulaError(f"constant sub-expression is not allowed: {exc}", None, None) from None
        except RecursionError:
            raise FormulaError("formula is nested too deeply", None, None) from None

    def _value(self, node: sp.Basic):  # type: ignore[no-untyped-def]
        """None for a node that depends on a symbol, else its value (an mpf)."""
        values = self.values
        if node in values:
            return values[node]
        if node.is_Symbol:
            values[node] = None
            return None
        args = [self._value(a) for a in node.args]
        if any(v is None for v in args) or isinstance(node, sp.Symbol):
            values[node] = None
            return None
        _spend()
        value = self._compute(node, args)
        if not _MP.isfinite(value) or not isinstance(value, _MP.mpf) or not _mag_ok(value):
            shown = sp.sstr(node)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise _ConstantError(f"{shown} is not a finite real number within the float64 range")
        values[node] = value
        return value

    def _compute(self, node: sp.Basic, args: list):  # type: ignore[no-untyped-def]
        mp = _MP
        if node.is_Rational:
            return mp.mpf(int(node.p)) / int(node.q)
        if node.is_Float:
            return mp.mpf(node._mpf_)
        if node is sp.pi:
            return +mp.pi
        if node is sp.E:
            return +mp.e
        if node.is_Add:
            return mp.fsum(args)
        if node.is_Mul:
            return mp.fprod(args)
        if node.is_Pow:
            base, expo = args
            if base == 0:
                if expo <= 0:
                    raise _ConstantError("0 to a power that is not positive")
                return mp.zero
            if base < 0 and not node.args[1].is_integer:
                raise _ConstantError("a negative number to a fractional power")
            size = float(expo) * _log2_abs(base)
            if not MIN_CONSTANT_LOG2 <= size <= MAX_CONSTANT_LOG2:
                raise _ConstantError(f"{sp.sstr(node)[:60]} is out of the float64 range")
            if base < 0:
                return mp.power(-base, expo) * (-1 if int(node.args[1]) % 2 else 1)
            return mp.power(base, expo)
        if isinstance(node, sp.Function):
            return _eval_call(type(node), args)
        if node.is_infinite or node is sp.nan or node is sp.I:
            raise _ConstantError("it is infinite, undefined or complex (e.g. 1/0, log(0), sqrt(-1))")
        raise _ConstantError(f"{sp.sstr(node)[:60]} is not a finite real number")


class _Parser:
    """Recursive descent over the token list; builds sympy objects, never runs text."""

    def __init__(self, text: str, parameters: Mapping[str, sp.Symbol]):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.parameters = parameters
        self.constants = _Constants()

    def _checked(self, expr: sp.Expr) -> sp.Expr:
        """Every new constant sub-expression is evaluated (bounded) before it is used further."""
        self.constants.check(expr)
        return expr

    # -- helpers -------------------------------------------------------------------------
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def _advance(self) -> _Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def _expect(self, op: str) -> _Token:
        t = self.tok
        if t.kind != "op" or t.text != op:
            found = "end of formula" if t.kind == "end" else repr(t.text)
            raise FormulaError(f"expected {op!r}, found {found}", t.text or None, t.pos)
        return self._advance()

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"formula is nested more than {MAX_DEPTH} levels deep", self.tok.text, self.tok.pos)

    # -- grammar -------------------------------------------------------------------------
    def parse(self) -> sp.Expr:
        if self.tok.kind == "end":
            raise FormulaError("empty formula", None, 0)
        expr = self.expr()
        if self.tok.kind != "end":
            raise FormulaError("unexpected token after a complete expression", self.tok.text, self.tok.pos)
        return expr

    def expr(self) -> sp.Expr:
        self._enter()
        result = self.term()
        while self.tok.kind == "op" and self.tok.text in "+-":
            op_token = self._advance()
            right = self.term()
            result = sp.Add(result, right) if op_token.text == "+" else sp.Add(result, self._checked(-right))
            _check_constants(result, op_token, depth=2)
            self._checked(result)
        self.depth -= 1
        return result

    def term(self) -> sp.Expr:
        result = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            op_token = self._advance()
            right = self.unary()
            if op_token.text == "*":
                result = sp.Mul(result, right)
            else:
                result = sp.Mul(result, self._checked(sp.Pow(right, -1)))
            _check_constants(result, op_token, depth=2)
            self._checked(result)
        return result

    def unary(self) -> sp.Expr:
        if self.tok.kind == "op" and self.tok.text in "+-":
            op = self._advance().text
            self._enter()
            operand = self.unary()
            self.depth -= 1
            return self._checked(-operand) if op == "-" else operand
        return self.power()

    def power(self) -> sp.Expr:
        base = self.atom()
        if self.tok.kind == "op" and self.tok.text in ("^", "**"):
            op_token = self._advance()
            self._enter()
            exponent = self.unary()  # right-associative; allows x^-1
            self.depth -= 1
            return self._checked(_check_constants(_checked_pow(base, exponent, op_token), op_token))
        return base

    def atom(self) -> sp.Expr:
        t = self.tok
        if t.kind == "num":
            self._advance()
            return _number(t.text, t.pos)
        if t.kind == "op" and t.text == "(":
            self._advance()
            inner = self.expr()
            self._expect(")")
            return inner
        if t.kind == "name":
            self._advance()
            if self.tok.kind == "op" and self.tok.text == "(":
                return self.call(t)
            if t.text == "x":
                return X
            if t.text in CONSTANTS:
                return CONSTANTS[t.text]
            if t.text in self.parameters:
                return self.parameters[t.text]
            if t.text in FUNCTIONS:
                raise FormulaError(f"function {t.text!r} must be called with parentheses", t.text, t.pos)
            declared = ", ".join(sorted(self.parameters)) or "none"
            raise FormulaError(f"unknown name {t.text!r} (declared parameters: {declared})", t.text, t.pos)
        if t.kind == "end":
            raise FormulaError("formula ends where an operand was expected", None, t.pos)
        raise FormulaError("unexpected token where an operand was expected", t.text, t.pos)

    def call(self, name: _Token) -> sp.Expr:
        if name.text not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            raise FormulaError(f"unknown function {name.text!r} (allowed: {allowed})", name.text, name.pos)
        constructor, min_args, max_args = FUNCTIONS[name.text]
        self._expect("(")
        self._enter()
        args = [self.expr()]
        while self.tok.kind == "op" and self.tok.text == ",":
            self._advance()
            args.append(self.expr())
        self._expect(")")
        self.depth -= 1
        if len(args) < min_args or (max_args is not None and len(args) > max_args):
            want = str(min_args) if min_args == max_args else f"at least {min_args}"
            raise FormulaError(f"{name.text}() takes {want} argument(s), got {len(args)}", name.text, name.pos)
        if constructor in (_max, _min):
            cls = sp.Max if constructor is _max else sp.Min
            count = sum(len(a.args) if a.func is cls else 1 for a in args)
            if count > MAX_MINMAX_ARGS:
                raise FormulaError(
                    f"{name.text}() has {count} arguments (nested ones included); the limit is {MAX_MINMAX_ARGS}",
                    name.text,
                    name.pos,
                )
        return self._checked(_check_constants(constructor(*args), name))


def _check_parameter_names(names: Iterator[str] | list[str]) -> dict[str, sp.Symbol]:
    symbols: dict[str, sp.Symbol] = {}
    for name in names:
        if not isinstance(name, str) or not name.isascii() or not name.isidentifier() or name.startswith("_"):
            raise FormulaError(f"invalid parameter name {name!r}: use ASCII letters, digits and _", str(name), None)
        if name in RESERVED:
            raise FormulaError(f"parameter name {name!r} is reserved", name, None)
        symbols[name] = symbol(name)
    return symbols


_FORBIDDEN = (sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I)


def parse_formula(text: str, parameters: Mapping[str, float] | list[str] | tuple[str, ...] = ()) -> sp.Expr:
    """Parse ``text`` into a sympy expression in ``x`` and the declared ``parameters``.

    Raises :class:`FormulaError` for anything outside the language; never evaluates text.
    The result is a fixed point of printing and parsing: sympy's automatic evaluation can
    restructure printed text (``1/(2*(x + 1))`` parses to ``1/(2*x + 2)``), so the parsed form
    is re-read from its own canonical text until ``parse_formula(canonical(e)) == e``.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula is {len(text)} characters long; the limit is {MAX_LENGTH}", None, MAX_LENGTH)
    symbols = _check_parameter_names(list(parameters))
    with work_budget():  # one budget for the whole parse, re-reads included
        return _parse_fixed_point(text, symbols)


def _parse_fixed_point(text: str, symbols: Mapping[str, sp.Symbol]) -> sp.Expr:
    expr = _build(text, symbols)
    try:
        for _ in range(4):
            printed = canonical(expr)
            if len(printed) > 4 * MAX_LENGTH:
                raise FormulaError("formula expands to an expression that is too large", None, None)
            again = _build(printed, symbols, limit=4 * MAX_LENGTH)
            if again == expr:
                break
            expr = again
    except FormulaError:
        raise
    except (ArithmeticError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise FormulaError(f"formula cannot be printed: {type(exc).__name__}: {exc}", None, None) from None
    return expr


def _build(text: str, symbols: Mapping[str, sp.Symbol], limit: int = MAX_LENGTH) -> sp.Expr:
    if len(text) > limit:  # pragma: no cover - checked by the callers
        raise FormulaError("formula is too long", None, limit)
    parser = _Parser(text, symbols)
    try:
        with work_budget():
            expr = parser.parse()
            if any(expr.has(bad) for bad in _FORBIDDEN):
                raise FormulaError(
                    "formula contains an infinite, undefined or complex constant (e.g. 1/0, log(0), sqrt(-1))"
                )
            if not isinstance(expr, sp.Expr):  # pragma: no cover - the grammar only builds Expr
                raise FormulaError("formula is not an expression")
            expr = _check_constants(_round_floats(expr), depth=None)
    except FormulaError:
        raise
    except _PowerTooLarge:
        raise FormulaError(f"numeric power is too large (over {MAX_EXACT_POWER_BITS} bits)", None, None) from None
    except (ArithmeticError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise FormulaError(f"formula cannot be built: {type(exc).__name__}: {exc}", None, None) from None
    return expr


def _round_floats(expr: sp.Expr) -> sp.Expr:
    """Round every float to the 15 significant digits sympy prints (sympy may combine literals)."""
    floats = expr.atoms(sp.Float)
    if not floats:
        return expr
    for f in floats:
        if not math.isfinite(float(f)):
            raise FormulaError(f"numeric value {sp.sstr(f)} is out of the float64 range", None, None)
    return expr.xreplace({f: sp.Float(repr(float(f"{float(f):.15g}")), 15) for f in floats})


#: Largest expression tree (nodes) a hand-built Formula may hold.
MAX_NODES = 20_000

#: Node types an expression of the formula language is made of (besides x and parameters).
_ALLOWED_FUNCTIONS = frozenset(
    {sp.sin, sp.cos, sp.tan, sp.tanh, sp.exp, sp.log, sp.Abs, sp.erf, sp.Max, sp.Min, *EXTRA_FUNCTIONS.values()}
)


def check_expression(expr: object, parameters: list[str] | tuple[str, ...] = ()) -> sp.Expr:
    """Check that a (possibly hand-built) sympy object is an expression of the formula language.

    Only numbers, ``pi``, ``E``, the real symbol ``x``, the declared parameters, ``+ * **`` and the
    whitelisted functions are allowed; exact constants obey the same size rules as in parsed
    text and every constant sub-expression must be a finite real number in the float64 range.
    Raises :class:`FormulaError`; returns ``expr``.
    """
    if not isinstance(expr, sp.Expr):
        raise FormulaError(f"a formula expression must be a sympy expression, not {type(expr).__name__}", None, None)
    allowed_symbols = {X, *_check_parameter_names(list(parameters)).values()}
    count = 0
    for node in sp.preorder_traversal(expr):
        count += 1
        if count > MAX_NODES:
            raise FormulaError(f"expression has more than {MAX_NODES} nodes", None, None)
        if node.is_Symbol:
            if node not in allowed_symbols:
                raise FormulaError(f"expression uses the undeclared or non-real symbol {sp.sstr(node)!r}", None, None)
        elif node.is_Rational or node.is_Float or node is sp.pi or node is sp.E:
            continue
        elif node.is_Add or node.is_Mul or node.is_Pow:
            if type(node) not in (sp.Add, sp.Mul, sp.Pow):
                raise FormulaError(f"expression node {type(node).__name__} is not in the formula language", None, None)
        elif type(node) not in _ALLOWED_FUNCTIONS:
            raise FormulaError(f"expression node {type(node).__name__} is not in the formula language", None, None)
    with work_budget():
        _check_constants(expr, depth=None)
        _Constants().check(expr)
    return expr


def canonical(expr: sp.Expr) -> str:
    """Sympy's own printing of ``expr``; parsing it gives back an equal expression."""
    return sp.sstr(expr, order=None)
