"""Prior art: a table of published activation functions and :func:`identify`, which says whether a
formula is one of them.

A discovered formula is compared with every row of :data:`KNOWN` in two ways:

1. **canonical**: the formula, its parameters replaced by their values as exact decimals, has the
   same canonical text (:func:`nsad_lib.formula.canonical`) as the row (``cos(x)*x`` and
   ``x*cos(-x)`` both read back as ``x*cos(x)``);
2. **values**: on a dense grid of the pre-activation range (default ``x`` in [-4, 4], 2,001
   points) the formula ``f`` is within :data:`TOLERANCE` of ``s*g``, where ``g`` is the row's
   function, ``s > 0`` a fitted output scale and, for the rows with a free constant (Swish-β's β,
   PReLU's α, ELU's α, Snake's a, a sinusoid's frequency), the constant fitted as well. The
   distance is ``max |f - s*g|`` divided by the range of ``f`` on the grid (its max minus its min),
   so it does not depend on the scale of ``f``.

Among the rows that match, a canonical match beats a match by values, a row without a fitted
constant beats one with, then the smaller distance wins. Every function value comes from the safe
formula core (the numpy evaluation of :class:`~nsad_lib.formula.Formula`); nothing is ``eval``-ed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

__all__ = ["KNOWN", "TOLERANCE", "KnownActivation", "KnownMatch", "identify", "table_markdown"]

#: Largest relative distance (max |f - s*g| over the range of f) that still counts as the same function.
TOLERANCE = 1e-3
#: The default pre-activation range and grid size the values are compared on.
DEFAULT_RANGE = (-4.0, 4.0)
GRID_POINTS = 2001
#: Fitted output scales outside this range are not a match (the formula would be ~0 or huge).
_SCALE_RANGE = (1e-3, 1e3)
_GOLDEN_STEPS = 60


@dataclass(frozen=True)
class KnownActivation:
    """One row of the prior-art table: a published activation written in the formula language."""

    name: str
    formula: str
    citation: str
    #: the free constant fitted when comparing by values: (name in the formula, symbol printed, low, high)
    free: tuple[str, str, float, float] | None = None
    note: str = ""

    def formula_object(self):  # -> Formula
        return _row_formula(self.formula, self.free[0] if self.free else None)


@dataclass(frozen=True)
class KnownMatch:
    """The result of :func:`identify`: which known activation a formula is, and how that was found."""

    name: str
    citation: str
    #: the table row's formula (its free constant, if any, by name)
    formula: str
    #: ``"canonical"`` (same canonical text) or ``"values"`` (same values on the grid)
    method: str
    #: max |f - s*g| on the grid, and the same divided by the range of f
    max_abs_diff: float
    relative_diff: float
    #: fitted constants (6 significant digits): the row's free constant by its symbol, ``scale`` (s) when s != 1
    constants: dict[str, float] = field(default_factory=dict)
    x_range: tuple[float, float] = DEFAULT_RANGE

    @property
    def text(self) -> str:
        """``Swish-β (β = 2) (Ramachandran et al. 2017)``."""
        return f"{self.name} ({self.citation})"

    def describe(self) -> str:
        """How it matched, in words: ``same canonical formula`` or ``same values on [-4, 4] (...)``."""
        if self.method == "canonical":
            return "same canonical formula"
        lo, hi = self.x_range
        extra = f", scale {self.constants['scale']:.4g}" if "scale" in self.constants else ""
        return f"same values on [{lo:g}, {hi:g}] within {self.relative_diff:.1e} of the range{extra}"

    def record(self) -> dict[str, Any]:
        """Plain JSON-ready dict (what a discovered entry's provenance records as ``prior_art``)."""
        return {"name": self.name, "citation": self.citation, "formula": self.formula, "method": self.method,
                "max_abs_diff": _round(self.max_abs_diff), "relative_diff": _round(self.relative_diff),
                "constants": {k: _round(v) for k, v in self.constants.items()}, "x_range": list(self.x_range)}


def _round(value: float) -> float:
    return float(f"{value:.4g}")


_SWISH = "Ramachandran et al. 2017"
_SINE = "Parascandolo et al. 2016; Sitzmann et al. 2020 (SIREN)"
_HAJBI = "Hajbi 2026, arXiv:2601.10740"

#: The table. Order breaks ties (earlier rows win), so a row comes before any row it is a special case of.
KNOWN: tuple[KnownActivation, ...] = (
    KnownActivation("identity (no activation)", "x", "the linear map; a network with it is linear"),
    KnownActivation("ReLU", "Max(0, x)", "Nair & Hinton 2010"),
    KnownActivation("leaky ReLU (α = 0.01)", "Max(x, 0.01*x)", "Maas et al. 2013"),
    KnownActivation("leaky ReLU / PReLU", "Max(x, a*x)", "Maas et al. 2013; He et al. 2015 (PReLU)",
                    free=("a", "α", 0.001, 0.9)),
    KnownActivation("squared ReLU", "Max(0, x)**2", "So et al. 2021 (Primer)"),
    KnownActivation("GELU (erf)", "x*(1 + erf(x/sqrt(2)))/2", "Hendrycks & Gimpel 2016"),
    KnownActivation("GELU (tanh approximation)", "x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))/2",
                    "Hendrycks & Gimpel 2016"),
    KnownActivation("SiLU / Swish-1", "x*sigmoid(x)", f"Elfwing et al. 2018; {_SWISH}"),
    KnownActivation("Swish-β (β = 0.5)", "x*sigmoid(x/2)", _SWISH),
    KnownActivation("Swish-β (β = 1.5)", "x*sigmoid(3*x/2)", _SWISH),
    KnownActivation("Swish-β (β = 2)", "x*sigmoid(2*x)", _SWISH),
    KnownActivation("Swish-β", "x*sigmoid(a*x)", _SWISH, free=("a", "β", 0.05, 20.0)),
    KnownActivation("hard swish", "x*Min(Max(0, x + 3), 6)/6", "Howard et al. 2019 (MobileNetV3)"),
    KnownActivation("Mish", "x*tanh(softplus(x))", "Misra 2019"),
    KnownActivation("ELU (α = 1)", "Max(0, x) + Min(0, exp(x) - 1)", "Clevert et al. 2016"),
    KnownActivation("SELU", "1.0507009873554805*(Max(0, x) + 1.6732632423543772*Min(0, exp(x) - 1))",
                    "Klambauer et al. 2017"),
    KnownActivation("ELU", "Max(0, x) + a*Min(0, exp(x) - 1)", "Clevert et al. 2016", free=("a", "α", 0.05, 5.0)),
    KnownActivation("softplus", "softplus(x)", "Dugas et al. 2001; Glorot et al. 2011"),
    KnownActivation("softsign", "x/(1 + Abs(x))", "Turian et al. 2009; Glorot & Bengio 2010"),
    KnownActivation("tanh", "tanh(x)", "LeCun et al. 1998 (Efficient BackProp)"),
    KnownActivation("sigmoid (logistic)", "sigmoid(x)", "Rumelhart et al. 1986"),
    KnownActivation("hardtanh", "Max(-1, Min(1, x))", "Collobert 2004"),
    KnownActivation("GCU (growing cosine unit)", "x*cos(x)", "Noel et al. 2021",
                    note="also the HIGGS formula named in the README of the code of Hajbi 2026 (hajbi2026-higgs-readme-v1)"),
    KnownActivation("Snake (a = 1)", "x + sin(x)**2", "Ziyin et al. 2020"),
    KnownActivation("Snake", "x + sin(a*x)**2/a", "Ziyin et al. 2020", free=("a", "a", 0.05, 20.0)),
    KnownActivation("sine", "sin(x)", _SINE),
    KnownActivation("cosine", "cos(x)", "Parascandolo et al. 2016"),
    KnownActivation("sinusoid sin(ωx)", "sin(a*x)", _SINE, free=("a", "ω", 0.05, 30.0)),
    KnownActivation("Hajbi 2026 HIGGS figure formula", "cos(x) - cos(cos(x))", _HAJBI,
                    note="hajbi2026-higgs-fig-v1"),
    KnownActivation("Hajbi 2026 Spambase figure formula", "3*x + sin(x)", _HAJBI, note="hajbi2026-spambase-fig-v1"),
)


# -- the table's formulas, parsed and evaluated once ------------------------------------------
@lru_cache(maxsize=None)
def _row_formula(text: str, free: str | None):  # -> Formula
    from nsad_lib.formula.expression import Formula

    return Formula.parse(text, {free: 1.0} if free else None)


@lru_cache(maxsize=None)
def _row_canonical(index: int) -> str | None:
    row = KNOWN[index]
    return None if row.free else row.formula_object().canonical


@lru_cache(maxsize=8)
def _grid(lo: float, hi: float, n: int) -> np.ndarray:
    grid = np.linspace(lo, hi, n)
    grid.flags.writeable = False
    return grid


@lru_cache(maxsize=256)
def _row_values(index: int, lo: float, hi: float, n: int) -> np.ndarray:
    values = np.asarray(KNOWN[index].formula_object().numpy(_grid(lo, hi, n)), dtype=np.float64)
    values.flags.writeable = False
    return values


# -- comparing -------------------------------------------------------------------------------
def _distance(f: np.ndarray, span: float, g: np.ndarray) -> tuple[float, float, float]:
    """(relative distance, max abs difference, scale) of f to the best positive multiple of g."""
    if g.shape != f.shape or not np.all(np.isfinite(g)):
        return math.inf, math.inf, math.nan
    gg = float(np.dot(g, g))
    if not gg > 0.0:
        return math.inf, math.inf, math.nan
    scale = float(np.dot(f, g)) / gg
    if not (_SCALE_RANGE[0] <= scale <= _SCALE_RANGE[1]):
        return math.inf, math.inf, scale
    if abs(scale - 1.0) <= 1e-9:
        scale = 1.0
    diff = float(np.max(np.abs(f - scale * g)))
    return diff / span, diff, scale


def _fit(index: int, f: np.ndarray, span: float, grid: np.ndarray) -> tuple[float, float, float, float]:
    """Fit the row's free constant: (relative distance, max abs difference, scale, constant)."""
    row = KNOWN[index]
    assert row.free is not None
    name, _, lo, hi = row.free
    formula = row.formula_object()

    def cost(log_c: float) -> tuple[float, float, float]:
        g = np.asarray(formula.numpy(grid, {name: math.exp(log_c)}), dtype=np.float64)
        return _distance(f, span, g)

    points = np.linspace(math.log(lo), math.log(hi), 121)
    costs = [cost(float(p))[0] for p in points]
    best = int(np.argmin(costs))
    if not math.isfinite(costs[best]):
        return math.inf, math.inf, math.nan, math.nan
    a, b = float(points[max(best - 1, 0)]), float(points[min(best + 1, len(points) - 1)])
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = cost(c)[0], cost(d)[0]
    for _ in range(_GOLDEN_STEPS):  # golden-section search on log(constant)
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = cost(c)[0]
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = cost(d)[0]
    candidates = [(cost(float(points[best])), float(points[best])), (cost(c), c), (cost(d), d)]
    (rel, diff, scale), log_c = min(candidates, key=lambda t: t[0][0])
    return rel, diff, scale, math.exp(log_c)


def _canonical_text(formula: Any) -> str | None:
    """The formula's canonical text with its parameters replaced by their values as exact decimals."""
    import sympy as sp

    from nsad_lib.errors import FormulaError
    from nsad_lib.formula.language import canonical, symbol, work_budget

    try:
        with work_budget():
            values = {symbol(k): sp.Rational(repr(float(v))) for k, v in formula.parameters.items()}
            expr = formula.expr.xreplace(values) if values else formula.expr
            return canonical(expr)
    except (FormulaError, ArithmeticError, ValueError, TypeError, RecursionError, MemoryError):
        return None


def _as_formula(formula: Any, parameters: Mapping[str, float] | None):  # -> Formula
    from nsad_lib.formula.expression import Formula

    if isinstance(formula, Formula):
        if parameters:
            return Formula(formula.expr, {**formula.parameters, **{k: float(v) for k, v in parameters.items()}})
        return formula
    if isinstance(formula, str):
        return Formula.parse(formula, parameters)
    raise TypeError(f"identify() takes a Formula or formula text, not {type(formula).__name__}")


def identify(formula: Any, parameters: Mapping[str, float] | None = None, *,
             x_range: tuple[float, float] = DEFAULT_RANGE, tolerance: float = TOLERANCE) -> KnownMatch | None:
    """The known activation ``formula`` is (see the module doc), or ``None``.

    ``formula`` is a :class:`~nsad_lib.formula.Formula` (its parameters at their values) or formula
    text (parsed safely, with ``parameters``; text outside the language raises
    :class:`~nsad_lib.errors.FormulaError`). A formula that is constant, or not finite everywhere on
    the grid, matches nothing.
    """
    from nsad_lib.errors import FormulaError

    lo, hi = float(x_range[0]), float(x_range[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"x_range must be two finite numbers, low < high; got {x_range!r}")
    f_obj = _as_formula(formula, parameters)
    text = _canonical_text(f_obj)
    grid = _grid(lo, hi, GRID_POINTS)
    try:
        f = np.asarray(f_obj.numpy(grid), dtype=np.float64)
    except (FormulaError, ArithmeticError, ValueError, TypeError, RecursionError, MemoryError):
        return None
    if f.shape != grid.shape or not np.all(np.isfinite(f)):
        return None
    span = float(np.max(f) - np.min(f))
    if not (span > 0.0 and math.isfinite(span)):
        return None
    found: list[tuple[tuple[int, int, float, int], KnownMatch]] = []
    for index, row in enumerate(KNOWN):
        if text is not None and _row_canonical(index) == text:
            match = KnownMatch(row.name, row.citation, row.formula, "canonical", 0.0, 0.0, {}, (lo, hi))
            found.append(((0, 0, 0.0, index), match))
            continue
        constants: dict[str, float] = {}
        if row.free is None:
            rel, diff, scale = _distance(f, span, _row_values(index, lo, hi, GRID_POINTS))
        else:
            rel, diff, scale, value = _fit(index, f, span, grid)
            constants[row.free[1]] = float(f"{value:.6g}")
        if not rel <= tolerance:
            continue
        name = row.name
        if row.free is not None:
            name = f"{row.name} ({row.free[1]} = {constants[row.free[1]]:.4g})"
        scale = float(f"{scale:.6g}")
        if scale != 1.0:
            constants["scale"] = scale
        match = KnownMatch(name, row.citation, row.formula, "values", diff, rel, constants, (lo, hi))
        found.append(((1, 0 if row.free is None else 1, rel, index), match))
    if not found:
        return None
    return min(found, key=lambda t: t[0])[1]


def table_markdown() -> str:
    """The table as Markdown (name, formula, citation), as docs/discovery.md lists it."""
    lines = ["| name | formula | fitted | citation |", "|---|---|---|---|"]
    for row in KNOWN:
        fitted = f"{row.free[1]} = `{row.free[0]}` in [{row.free[2]:g}, {row.free[3]:g}]" if row.free else ""
        citation = row.citation + (f" ({row.note})" if row.note else "")
        lines.append(f"| {row.name} | `{row.formula}` | {fitted} | {citation} |")
    return "\n".join(lines)
