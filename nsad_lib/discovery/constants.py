"""Tidy a discovered formula and lift its numeric constants into named, trainable parameters.

Why: a backend's constants are tuned to its own fit (often a regression on labels), not to the
network that will use the activation. Declared as parameters (``a*sin(b*x) + c*x`` with initial
values), they can be trained with the network, one set per activation instance, which on Forest
is worth as much as the shape. Two tidy-ups first, both exact for the Light network because
the next layer's bias absorbs them: the additive constant is dropped and constants are rounded
to 4 significant digits (the fit is never more precise than that).
"""

from __future__ import annotations

import sympy as sp

from nsad_lib.formula import Formula
from nsad_lib.formula.language import X, symbol

__all__ = ["PARAMETER_NAMES", "drop_offset", "round_constants", "lift_constants", "tidy"]

#: Names given to lifted constants, in order of appearance.
PARAMETER_NAMES = ("a", "b", "c", "d", "g", "h", "k", "m")


def round_constants(expr: sp.Expr, digits: int = 4) -> sp.Expr:
    """Every float rounded to ``digits`` significant digits (integers kept)."""
    floats = expr.atoms(sp.Float)
    return expr.xreplace({f: sp.Float(float(f"{float(f):.{digits}g}"), 15) for f in floats}) if floats else expr


def drop_offset(expr: sp.Expr) -> sp.Expr:
    """Remove additive terms that do not depend on ``x`` (absorbed by the next layer's bias)."""
    expr = sp.expand(expr, deep=False, mul=True, multinomial=False, power_exp=False, power_base=False, log=False)
    if isinstance(expr, sp.Add):
        kept = [t for t in expr.args if X in t.free_symbols]
        return sp.Add(*kept) if kept else expr
    return expr


def _float_order(expr: sp.Expr) -> list[sp.Float]:
    """Floats in a deterministic order (pre-order traversal of the canonical tree)."""
    seen: list[sp.Float] = []
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Float) and node not in seen:
            seen.append(node)
    return seen


def lift_constants(expr: sp.Expr, max_parameters: int = 3) -> tuple[sp.Expr, dict[str, float]]:
    """Replace up to ``max_parameters`` floats by named parameters; return (expr, initial values).

    Floats beyond the limit stay numeric. Negative values keep their sign in the initial value
    (``-0.3*x`` becomes ``a*x`` with ``a = -0.3``), so the formula's shape is unchanged.
    """
    params: dict[str, float] = {}
    mapping: dict[sp.Expr, sp.Expr] = {}
    for f in _float_order(expr):
        if len(params) >= max_parameters:
            break
        if float(f) == 0.0:
            continue
        name = PARAMETER_NAMES[len(params)]
        params[name] = float(f)
        mapping[f] = symbol(name)
        mapping[-f] = -symbol(name)  # sympy may hold -0.3 as a negated float elsewhere
    if not params:
        return expr, {}
    lifted = expr.xreplace({k: v for k, v in mapping.items() if k in expr.atoms(sp.Float)})
    used = {s.name for s in lifted.free_symbols}
    return lifted, {k: v for k, v in params.items() if k in used}


def tidy(formula: Formula, *, lift: bool = True, max_parameters: int = 3) -> Formula:
    """Round, drop the offset and (optionally) lift constants; always re-parsed safely."""
    from nsad_lib.formula.language import canonical

    expr = drop_offset(round_constants(formula.substituted()))
    expr = round_constants(expr)
    params: dict[str, float] = {}
    if lift:
        expr, params = lift_constants(expr, max_parameters)
    if X not in expr.free_symbols:
        return formula
    return Formula.parse(canonical(expr), params)
