"""Seeded generator of hostile formula strings (shared by the fuzz test and
benchmarks/fuzz_formulas.py), plus the issue's reproducers, verbatim.

Each string is built from a random tree over the formula language with hostile leaves and
operators mixed in: huge and tiny numbers, towers of ``exp`` and ``**``, ``log(0)``, poles,
Max/Min with many arguments, deep nesting, unknown names, Python code and junk characters.
"""

from __future__ import annotations

import random

#: The reproducers of issue 13, verbatim (items 1-4).
REPRODUCERS = [
    "x*Abs(sin(exp(exp(exp(3)))))",
    "Max(x, sin(exp(exp(exp(3)))))",
    "(sigmoid(978**((493) **(E))/ (-872)))+(x)**psqrt(x)",
    "x*Abs(sin(exp(1000000)))",
    "Max(" + ",".join(f"sin({k}*x)" for k in range(1, 101)) + ")",
    "x*sin(exp(exp(exp(3))))",
    "x*Abs(softplus(log(0)))",
    "Max(x, sigmoid(log(0)))",
    "x/(x - 1/3)",
    "__import__('pathlib').Path('/tmp/pwned').write_text('x')",
]

HOSTILE = [
    "__import__('os').system('true')",
    "exec('1')",
    "eval('1')",
    "lambda: 1",
    "x.__class__",
    "open('/tmp/x','w')",
    "Symbol('x')",
    "x; import os",
    "x if 1 else 2",
    "[x]",
    "{x}",
    "x@x",
    "x\x00",
    "ｘ",
    "x" + "*x" * 3000,
    "x" + "^x" * 3000,
    "-" * 5000 + "x",
    "(" * 200 + "x" + ")" * 200,
    "9" * 41,
    "1e999*x",
    "x**1e308",
    "exp(exp(exp(exp(x))))",
    "Min(" + ",".join(f"x+{k}" for k in range(40)) + ")",
]

_UNARY = ["sin", "cos", "tan", "tanh", "exp", "log", "sqrt", "abs", "Abs", "erf", "sigmoid", "softplus",
          "plog", "psqrt", "pinv", "exp", "exp", "log"]
_NARY = ["Max", "Min", "max", "min"]
_LEAVES = ["x", "x", "x", "x", "a", "pi", "E", "0", "1", "2", "3", "0.5", "1/3", "-1", "0.001", "1000", "978",
           "493", "exp(3)", "2.5", "0.1"]
_HOSTILE_LEAVES = ["1000000", "1e300", "1e-300", "9999999999999999999999999999999999999999", "log(0)",
                   "sqrt(-1)", "1/0", "y", "__import__", "exp(exp(3))", "(-8)**(1/3)"]


def _tree(rng: random.Random, depth: int) -> str:
    if depth <= 0 or rng.random() < 0.25:
        leaf = rng.choice(_HOSTILE_LEAVES if rng.random() < 0.04 else _LEAVES)
        if rng.random() < 0.1:
            leaf = str(rng.choice([rng.randint(0, 10**6), rng.random() * 10 ** rng.randint(-30, 30)]))
        return leaf
    r = rng.random()
    if r < 0.35:
        return f"{rng.choice(_UNARY)}({_tree(rng, depth - 1)})"
    if r < 0.45:
        n = rng.choice([2, 2, 3, 5, 8, 9, 20])
        return f"{rng.choice(_NARY)}(" + ", ".join(_tree(rng, depth - 2) for _ in range(n)) + ")"
    if r < 0.5:
        return f"pdiv({_tree(rng, depth - 1)}, {_tree(rng, depth - 1)})"
    op = rng.choice(["+", "-", "*", "/", "**", "^", "*", "+"])
    return f"({_tree(rng, depth - 1)}){op}({_tree(rng, depth - 1)})"


def _mutate(rng: random.Random, text: str) -> str:
    """Occasionally damage a string: cut it, insert junk, duplicate a slice."""
    r = rng.random()
    if r < 0.05 and text:
        i = rng.randrange(len(text))
        return text[:i]
    if r < 0.1:
        i = rng.randrange(len(text) + 1)
        return text[:i] + rng.choice(["'", '"', ";", "`", "[", "]", "{", ".", "@", "\n", "!", "#", "$", "\\"]) + text[i:]
    if r < 0.13 and len(text) > 4:
        i = rng.randrange(len(text) // 2)
        return text + "*" + text[i : i + rng.randint(1, len(text))]
    return text


def formulas(n: int, seed: int = 13) -> list[tuple[str, dict[str, float]]]:
    """``n`` formula strings with parameter declarations: reproducers and hostile strings
    first, then seeded random ones (about 1 in 3 declares parameter ``a``)."""
    rng = random.Random(seed)
    out: list[tuple[str, dict[str, float]]] = [(t, {}) for t in REPRODUCERS + HOSTILE]
    out.append(("pdiv(a, x + 0.5)", {"a": 1.547}))
    out.append(("softplus(pinv(plog(x)))", {}))
    while len(out) < n:
        text = _mutate(rng, _tree(rng, rng.randint(1, 9)))
        params = {"a": rng.choice([1.547, 0.5, -2.0, 1e30])} if "a" in text and rng.random() < 0.7 else {}
        out.append((text, params))
    return out[:n]


def run_case(text: str, params: dict[str, float], numerics: bool) -> tuple[str, float]:
    """Parse ``text``, lower it (f and derivatives) and build an entry from it.

    Returns (outcome, seconds); outcome is "accepted", "FormulaError" or "EntryError". Any
    other exception propagates (that is a bug).
    """
    import time

    from nsad_lib.errors import EntryError, FormulaError
    from nsad_lib.formula import Formula
    from nsad_lib.formula.program import compile_program
    from nsad_lib.registry.entry import Entry

    start = time.perf_counter()
    try:
        formula = Formula.parse(text, params)
        compile_program(formula.expr, formula.parameter_names, derivatives=True)
        Entry.create("fuzz", 1, text, parameters=params, check_numerics=numerics)
        outcome = "accepted"
    except FormulaError:
        outcome = "FormulaError"
    except EntryError:
        outcome = "EntryError"
    return outcome, time.perf_counter() - start
