"""Candidate formulas: conversion from backend text, tidying, safety filtering, de-duplication."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from nsad_lib.discovery.backends.base import Expression
from nsad_lib.discovery.constants import tidy
from nsad_lib.errors import NsadError
from nsad_lib.formula import Formula


@dataclass(frozen=True)
class Candidate:
    """A formula ready for validation, and where it came from."""

    formula: Formula
    origin: str
    backend_text: str = ""
    fit: float | None = None
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.formula.canonical

    @property
    def complexity(self) -> int:
        return self.formula.complexity


def is_safe(formula: Formula) -> bool:
    """The registry's numerical check (finite value and derivative in every dtype)."""
    from nsad_lib.nn.finite import check_finite

    try:
        check_finite(formula)
    except NsadError:
        return False
    return True


def from_expressions(expressions: Iterable[Expression], backend: str, origin: str, *,
                     max_parameters: int = 3) -> tuple[list[Candidate], list[dict[str, str]]]:
    """Convert, collapse, tidy, check and de-duplicate; also return what was rejected and why."""
    from nsad_lib.discovery.convert import to_formula

    kept: list[Candidate] = []
    rejected: list[dict[str, str]] = []
    seen: set[str] = set()
    for e in expressions:
        try:
            raw = to_formula(e.text, backend)
            formula = tidy(raw, max_parameters=max_parameters)
        except NsadError as exc:
            rejected.append({"expression": e.text, "reason": str(exc)})
            continue
        if is_linear(formula):  # the network would collapse to a linear model
            rejected.append({"expression": e.text, "reason": "collapses to a linear function of x"})
            continue
        if is_relu_family(formula):
            rejected.append({"expression": e.text, "reason": "in the ReLU family (the reference every candidate is compared with)"})
            continue
        if formula.canonical in seen:
            continue
        if not is_safe(formula):
            rejected.append({"expression": e.text, "reason": "non-finite value or derivative on the checked range"})
            continue
        seen.add(formula.canonical)
        kept.append(Candidate(formula, origin, e.text, e.fit))
    return kept, rejected


def is_linear(formula: Formula) -> bool:
    """True when f is affine in x (a network with it collapses to a linear model)."""
    import sympy as sp

    from nsad_lib.formula.language import X

    return bool(sp.diff(formula.expr, X, 2) == 0)


def is_relu_family(formula: Formula, tol: float = 1e-6) -> bool:
    """True when f(x) = p*max(x, 0) + q*x + r on [-6, 6]: ReLU, leaky ReLU, abs, identity.

    Validation always trains ReLU as the reference, so re-discovering its family adds nothing;
    strategies skip these shapes (they may still appear *inside* a formula).
    """
    import numpy as np

    xs = np.linspace(-6.0, 6.0, 241)
    try:
        ys = np.asarray(formula.numpy(xs), dtype=np.float64) * np.ones_like(xs)
    except (ArithmeticError, ValueError, TypeError):
        return False
    if not np.all(np.isfinite(ys)):
        return False
    basis = np.column_stack([np.maximum(xs, 0.0), xs, np.ones_like(xs)])
    coef, *_ = np.linalg.lstsq(basis, ys, rcond=None)
    resid = ys - basis @ coef
    return float(np.max(np.abs(resid))) <= tol * max(1.0, float(np.max(np.abs(ys))))
