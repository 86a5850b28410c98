"""Backend expression text -> our formula language, through the safe parser only.

Each backend prints formulas its own way: gplearn as prefix calls (``add(mul(X0, 0.5), sin(X3))``),
operon as infix with ``X1..Xn`` and parenthesised negative constants, PySR as infix with
``x0..xn`` and helpers such as ``square``. This module reads any of them into a tiny tree (no
``eval``: a hand-written tokenizer and recursive-descent parser), renames every variable to
``x`` (the paper's collapse), maps each backend function to ours, and emits text that
:func:`nsad_lib.formula.Formula.parse` then checks. Protected operators become the explicit
protected functions (gplearn's ``div`` -> ``pdiv``, ``log`` -> ``plog``, ``sqrt`` -> ``psqrt``,
``inv`` -> ``pinv``); they are never silently turned into plain ``/`` or ``log``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from nsad_lib.errors import FormulaError
from nsad_lib.formula import Formula

__all__ = ["Node", "parse_backend", "to_formula", "to_text", "FUNCTION_MAPS", "VARIABLE_RE"]

#: Variable names backends use for inputs; all collapse to ``x``.
VARIABLE_RE = re.compile(r"^(?:[Xx][0-9]+|x)$")

# Templates: {0}, {1} are the emitted arguments (already parenthesised).
_BINOP = {"add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})"}
_COMMON = {
    **_BINOP,
    "neg": "(-{0})",
    "sin": "sin({0})", "cos": "cos({0})", "tan": "tan({0})", "tanh": "tanh({0})",
    "abs": "abs({0})", "max": "max({0}, {1})", "min": "min({0}, {1})",
    "exp": "exp({0})", "erf": "erf({0})", "sigmoid": "sigmoid({0})", "softplus": "softplus({0})",
}

#: Function name -> template, per backend. A name missing here is refused with a clear error.
FUNCTION_MAPS: dict[str, dict[str, str]] = {
    # gplearn's protected operators (threshold 0.001) map to our named protected functions.
    "gplearn": {**_COMMON, "div": "pdiv({0}, {1})", "log": "plog({0})", "sqrt": "psqrt({0})",
                "inv": "pinv({0})"},
    # operon's operators are the plain mathematical ones (non-finite results are filtered later).
    "operon": {**_COMMON, "div": "({0} / {1})", "log": "log({0})", "sqrt": "sqrt({0})",
               "square": "(({0}) ^ 2)", "cube": "(({0}) ^ 3)", "pow": "(({0}) ^ ({1}))",
               "aq": "({0} / sqrt(1 + ({1}) ^ 2))", "logabs": "log(abs({0}))",
               "sqrtabs": "sqrt(abs({0}))", "cbrt": "(({0}) ^ (1/3))"},
    # PySR's operators are plain too (they return NaN outside their domain).
    "pysr": {**_COMMON, "div": "({0} / {1})", "log": "log({0})", "sqrt": "sqrt({0})",
             "square": "(({0}) ^ 2)", "cube": "(({0}) ^ 3)", "inv": "(1 / ({0}))",
             "pow": "(({0}) ^ ({1}))", "relu": "max({0}, 0)", "sign": None},  # type: ignore[dict-item]
}


@dataclass(frozen=True)
class Node:
    """One node of a backend expression: a number, a variable, an operator or a call."""

    kind: str  # "num", "var", "op", "call", "neg"
    value: str
    args: tuple["Node", ...] = ()


_TOKEN_RE = re.compile(r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>\*\*|[-+*/^(),]))")
_MAX_TOKENS = 20000
_MAX_EMIT_DEPTH = 200
#: Deepest nesting the reader follows (each level is several Python frames).
_MAX_READ_DEPTH = 100


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise FormulaError(f"backend expression has an unexpected character {text[pos]!r}", text[pos], pos)
        kind = m.lastgroup or "op"
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
        if len(out) > _MAX_TOKENS:
            raise FormulaError("backend expression is too long")
    out.append(("end", "", len(text)))
    return out


class _Reader:
    """Recursive descent for infix and prefix-call text (the grammar of all three backends)."""

    def __init__(self, text: str):
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def take(self) -> tuple[str, str, int]:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, op: str) -> None:
        kind, text, pos = self.take()
        if kind != "op" or text != op:
            raise FormulaError(f"backend expression: expected {op!r}", text or None, pos)

    def read(self) -> Node:
        node = self.expr()
        kind, text, pos = self.peek()
        if kind != "end":
            raise FormulaError("backend expression: unexpected token after the expression", text, pos)
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > _MAX_READ_DEPTH:
            raise FormulaError("backend expression is nested too deeply")
        node = self.term()
        while self.peek()[0] == "op" and self.peek()[1] in "+-":
            op = self.take()[1]
            node = Node("op", op, (node, self.term()))
        self.depth -= 1
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            node = Node("op", op, (node, self.unary()))
        return node

    def unary(self) -> Node:
        if self.peek()[0] == "op" and self.peek()[1] in "+-":
            op = self.take()[1]
            self.depth += 1
            if self.depth > _MAX_READ_DEPTH:
                raise FormulaError("backend expression is nested too deeply")
            inner = self.unary()
            self.depth -= 1
            return Node("neg", "-", (inner,)) if op == "-" else inner
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.peek()[0] == "op" and self.peek()[1] in ("^", "**"):
            self.take()
            self.depth += 1
            if self.depth > _MAX_READ_DEPTH:
                raise FormulaError("backend expression is nested too deeply")
            exponent = self.unary()
            self.depth -= 1
            return Node("op", "^", (base, exponent))
        return base

    def atom(self) -> Node:
        kind, text, pos = self.take()
        if kind == "num":
            return Node("num", text)
        if kind == "op" and text == "(":
            inner = self.expr()
            self.expect(")")
            return inner
        if kind == "name":
            if self.peek()[0] == "op" and self.peek()[1] == "(":
                self.take()
                args = [self.expr()]
                while self.peek()[0] == "op" and self.peek()[1] == ",":
                    self.take()
                    args.append(self.expr())
                self.expect(")")
                return Node("call", text, tuple(args))
            return Node("var", text)
        raise FormulaError("backend expression: an operand was expected", text or None, pos)


def parse_backend(text: str) -> Node:
    """Read a backend's expression text into a :class:`Node` tree (never evaluated)."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("backend expression is empty")
    return _Reader(text).read()


def to_text(node: Node, backend: str, constants: Mapping[str, str] | None = None) -> str:
    """Emit our formula syntax for ``node``; variables collapse to ``x``.

    ``constants`` maps extra bare names to text (e.g. PySR's ``pi``); unknown names are errors.
    """
    functions = FUNCTION_MAPS[backend]
    extra = dict(constants or {})

    def emit(n: Node, depth: int = 0) -> str:
        # a left-associative chain (x*x*...*x) nests one level per operator: bound it here
        if depth > _MAX_EMIT_DEPTH:
            raise FormulaError(f"backend expression is nested more than {_MAX_EMIT_DEPTH} levels deep")
        if n.kind == "num":
            return n.value
        if n.kind == "var":
            if VARIABLE_RE.match(n.value):
                return "x"
            if n.value in extra:
                return extra[n.value]
            if n.value in ("pi", "E"):
                return n.value
            raise FormulaError(f"{backend} expression uses unknown name {n.value!r}", n.value, None)
        if n.kind == "neg":
            return f"(-{emit(n.args[0], depth + 1)})"
        if n.kind == "op":
            a, b = (emit(arg, depth + 1) for arg in n.args)
            return f"({a} {n.value} {b})"
        template = functions.get(n.value.lower()) if n.kind == "call" else None
        if template is None:
            raise FormulaError(f"{backend} function {n.value!r} has no equivalent in the formula language", n.value, None)
        arity = template.count("{1}") and 2 or 1
        if len(n.args) != arity:
            raise FormulaError(f"{backend} function {n.value!r} takes {arity} argument(s), got {len(n.args)}", n.value, None)
        return template.format(*(emit(a, depth + 1) for a in n.args))

    return emit(node)


def to_formula(text: str, backend: str) -> Formula:
    """Convert one backend expression to a checked :class:`Formula` in ``x``."""
    if backend not in FUNCTION_MAPS:
        raise FormulaError(f"unknown backend {backend!r} (known: {', '.join(FUNCTION_MAPS)})")
    return Formula.parse(to_text(parse_backend(text), backend))
