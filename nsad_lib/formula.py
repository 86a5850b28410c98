"""The safe formula language: text -> sympy, without ``eval``, ``exec`` or ``sympify``.

A formula is a univariate expression in ``x``, optionally with named parameters declared
with initial values (``a*x + tanh(b*x)`` with ``{"a": 0.5, "b": 1.0}``). Text comes from
files, the Hub and users, so it is untrusted: a hand-written tokenizer and recursive-descent
parser accept only a whitelist (numbers, ``x``, declared parameters, ``pi``, ``E``,
``+ - * / ^ **``, parentheses and the functions in :data:`FUNCTIONS`) and build sympy objects
directly. Anything else is a :class:`FormulaError` naming the token and its position.

The canonical text form is sympy's own printing (``Abs``, ``Max``, ``**``, rationals), and
``parse(canonical(e)) == e``. Numeric literals keep 15 significant digits, which is what sympy
prints, so the round trip is exact.

Size limits (sympy evaluates exact arithmetic eagerly, so untrusted text could otherwise ask for
astronomically large integers):

* One rule for every exact constant, typed or computed: an integer, or the numerator or
  denominator of a rational, has at most :data:`MAX_NUMBER_LENGTH` digits -- the same bound a
  typed literal has. ``x*2**100`` is accepted, ``x*2**200`` (61 digits) is refused with
  "constant is too large". Hence the canonical text of any accepted formula only holds literals
  the tokenizer accepts, and ``parse(canonical(e)) == e`` holds for every accepted formula.
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
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

import numpy as np
import sympy as sp

from nsad_lib.errors import FormulaError
from nsad_lib.functions import EXTRA_FUNCTIONS, pdiv, pinv, plog, psqrt, sigmoid, softplus

__all__ = [
    "FUNCTIONS",
    "Formula",
    "FormulaError",
    "MAX_DEPTH",
    "MAX_EXACT_POWER_BITS",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NUMBER_LENGTH",
    "X",
    "canonical",
    "parse",
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


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _WHITESPACE:
            i += 1
            continue
        if c.isascii() and (c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isascii() and text[i + 1].isdigit())):
            j = i
            while j < n and text[j].isascii() and text[j].isdigit():
                j += 1
            if j < n and text[j] == ".":
                j += 1
                while j < n and text[j].isascii() and text[j].isdigit():
                    j += 1
            if j < n and text[j] in "eE":
                k = j + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and text[k].isascii() and text[k].isdigit():
                    while k < n and text[k].isascii() and text[k].isdigit():
                        k += 1
                    j = k
            literal = text[i:j]
            if len(literal) > MAX_NUMBER_LENGTH:
                raise FormulaError("numeric literal is too long", literal, i)
            tokens.append(_Token("num", literal, i))
            i = j
            continue
        if c.isascii() and (c.isalpha() or c == "_"):
            j = i
            while j < n and text[j].isascii() and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(_Token("name", text[i:j], i))
            i = j
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(_Token("op", op, i))
                i += len(op)
                break
        else:
            raise FormulaError(f"unexpected character {c!r} (U+{ord(c):04X})", c, i)
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
    # 15 significant digits: exactly what sympy prints back, so parse(canonical(e)) == e.
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
# base._eval_power); the guard is inert outside parse() and in other threads.
_install_power_guard(sp.Rational)
_install_power_guard(sp.Integer)


class _Parser:
    """Recursive descent over the token list; builds sympy objects, never runs text."""

    def __init__(self, text: str, parameters: Mapping[str, sp.Symbol]):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.parameters = parameters

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
            result = sp.Add(result, right) if op_token.text == "+" else sp.Add(result, -right)
            _check_constants(result, op_token, depth=2)
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
                result = sp.Mul(result, sp.Pow(right, -1))
            _check_constants(result, op_token, depth=2)
        return result

    def unary(self) -> sp.Expr:
        if self.tok.kind == "op" and self.tok.text in "+-":
            op = self._advance().text
            self._enter()
            operand = self.unary()
            self.depth -= 1
            return -operand if op == "-" else operand
        return self.power()

    def power(self) -> sp.Expr:
        base = self.atom()
        if self.tok.kind == "op" and self.tok.text in ("^", "**"):
            op_token = self._advance()
            self._enter()
            exponent = self.unary()  # right-associative; allows x^-1
            self.depth -= 1
            return _check_constants(_checked_pow(base, exponent, op_token), op_token)
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
        return _check_constants(constructor(*args), name)


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


def parse(text: str, parameters: Mapping[str, float] | list[str] | tuple[str, ...] = ()) -> sp.Expr:
    """Parse ``text`` into a sympy expression in ``x`` and the declared ``parameters``.

    Raises :class:`FormulaError` for anything outside the language; never evaluates text.
    The result is a fixed point of printing and parsing: sympy's automatic evaluation can
    restructure printed text (``1/(2*(x + 1))`` parses to ``1/(2*x + 2)``), so the parsed form
    is re-read from its own canonical text until ``parse(canonical(e)) == e``.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula is {len(text)} characters long; the limit is {MAX_LENGTH}", None, MAX_LENGTH)
    symbols = _check_parameter_names(list(parameters))
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
        with _guarded_evaluation():
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


def canonical(expr: sp.Expr) -> str:
    """Sympy's own printing of ``expr``; parsing it gives back an equal expression."""
    return sp.sstr(expr, order=None)


@dataclass(frozen=True)
class Formula:
    """A parsed activation formula with its declared parameters and their initial values."""

    expr: sp.Expr
    parameters: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, parameters: Mapping[str, float] | None = None) -> "Formula":
        """Parse ``text``; every declared parameter must have a finite float value."""
        params = dict(parameters or {})
        for name, value in params.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
                raise FormulaError(f"parameter {name!r} needs a finite number, got {value!r}", str(name), None)
        expr = parse(text, list(params))
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
        from nsad_lib.program import compile_program

        vals = {**self.parameters, **(values or {})}
        program = compile_program(self.expr, self.parameter_names)
        arr = np.asarray(x)
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float64)
        return program.run_numpy(arr, [vals[n] for n in self.parameter_names])[0]

    def derivative_numpy(self, x: np.ndarray | float, values: Mapping[str, float] | None = None) -> np.ndarray:
        """df/dx evaluated on numpy arrays."""
        from nsad_lib.program import compile_program

        vals = {**self.parameters, **(values or {})}
        program = compile_program(self.expr, self.parameter_names, derivatives=True)
        arr = np.asarray(x, dtype=np.float64)
        return program.run_numpy(arr, [vals[n] for n in self.parameter_names], outputs=(1,))[0]

    def __str__(self) -> str:
        return self.canonical
