"""Formula profile measured where it matters: on the target's own pre-activations.

An activation never sees raw features; in the Light network it sees the batch-normalised
output of ``Linear(d, 64)``. So we build exactly that (seeded, as at the start of training),
push an unlabelled sample of the training split through it, and measure the formula on those
numbers:

- ``rank_agreement``: Spearman correlation of ``f(z)`` with ``z`` (absolute value). Near 1:
  ``f`` keeps the order of its inputs (ReLU, GELU, any monotone map). Near 0: ``f`` folds the
  mass so that inputs on opposite sides give the same output (even or periodic formulas).
- ``fold_mass``: share of the pre-activation mass lying on a branch of ``f`` that some *other*
  branch also covers, i.e. where different inputs collapse to the same output while ``f`` is
  still varying (a flat region, like ReLU's negative half, is not counted: it is saturation).
- ``fold_cost``: share of ``f``'s variance over the mass that no monotone function reproduces
  (``1 - R^2`` of the best isotonic fit, increasing or decreasing, weighted by the mass). It
  weighs a fold by the output variation it costs, so a ReLU-like ``f`` with a slight backward
  slope below zero (fold cost 0.002) is not mistaken for an even one (0.6).
- ``tail_gain_left`` / ``tail_gain_right``: mean ``|f'|`` over the mass below / above the
  central 68% (16th-84th percentile), over mean ``|f'|`` inside it. ReLU: 0 and 2 (a one-sided
  gate); tanh: 0.35 and 0.34 (saturates on both sides).
- ``nonlinearity``: ``1 - R^2`` of the best straight line through ``(z, f(z))``. Near 0: the
  network is close to linear over where the inputs lie.
- ``pile_gain``: mean ``|f'|`` in a +-0.25 window around each unit's median (where the bulk
  of zero-inflated rows sits) over mean ``|f'|`` on all the mass. Below ~0.5 small differences
  among the piled-up rows barely move the output, which is how sparse counts get lost.
- parity, boundedness, ``f(0)`` and ``f'(0)``, the 95% mass interval and the folds inside it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from nsad_lib.training.protocol import light_model
from nsad_lib.util.optional import require

__all__ = ["FormulaProfile", "pre_activations", "profile_formula", "PILE_HALF_WIDTH"]

#: Half-width of the window around each unit's median where piled-up rows sit.
PILE_HALF_WIDTH = 0.25
_GRID = 801


@dataclass(frozen=True)
class FormulaProfile:
    """Shape of one formula over one dataset's pre-activations."""
    formula: str
    dataset: str
    mass_interval: tuple[float, float]  # central 95% of the pre-activations
    rank_agreement: float
    fold_mass: float
    nonlinearity: float
    pile_gain: float
    pile_concentration: float  # share of rows within +-0.1 of their unit's median (Gaussian: 0.08)
    parity: str  # "even", "odd" or "neither" (on the mass interval)
    monotone: bool  # on the mass interval
    folds: int  # turning points of f inside the mass interval
    bounded: bool
    f0: float
    df0: float
    flat_mass: float  # share of the mass where |f'| < 5% of its typical size
    fold_cost: float = 0.0  # 1 - R^2 of the best monotone fit of f over the mass
    tail_gain_left: float = 1.0  # mean |f'| below the central 68% of the mass / inside it
    tail_gain_right: float = 1.0  # ... above it

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["mass_interval"] = list(self.mass_interval)
        return out


def pre_activations(X_scaled: np.ndarray, seed: int = 42, width: int = 64) -> np.ndarray:
    """``BatchNorm1d(Linear(d, width)(X))`` in train mode, as at the start of training (seeded).

    Uses the paper's Light network (its first two layers) so the weights are initialised
    exactly as a real run with this seed would start.
    """
    import torch


    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = light_model(X_scaled.shape[1], torch.nn.ReLU)
    first = model[:2]
    if width != 64:  # pragma: no cover - the Light network is 64 wide
        raise ValueError("the Light network's first layer is 64 wide")
    first.train()
    with torch.no_grad():
        z = first(torch.as_tensor(np.asarray(X_scaled), dtype=torch.float32))
    return z.numpy().astype(np.float64)


def _safe(values: np.ndarray) -> np.ndarray:
    return np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0, posinf=1e12, neginf=-1e12)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    rankdata = require("scipy.stats", "check", "the compatibility checker").rankdata  # optional: [check]

    ra, rb = rankdata(a), rankdata(b)
    ra -= ra.mean()
    rb -= rb.mean()
    denom = np.sqrt(np.sum(ra * ra) * np.sum(rb * rb))
    return float(np.sum(ra * rb) / denom) if denom > 0 else 0.0


def _fold_mass(grid: np.ndarray, fg: np.ndarray, dg: np.ndarray, weights: np.ndarray) -> float:
    """Mass on grid points whose output value is also taken on another monotone branch."""
    scale = float(np.max(np.abs(dg))) or 1.0
    moving = np.abs(dg) >= 0.05 * scale
    # split the grid into maximal monotone branches (sign of f' constant, flat parts cut out)
    sign = np.where(moving, np.sign(dg), 0)
    branch = np.zeros(len(grid), dtype=int)
    current, last = 0, 0
    for i, s in enumerate(sign):
        if s != 0 and last != 0 and s != last:
            current += 1
        if s != 0:
            last = s
        branch[i] = current
    ranges = []
    for b in range(current + 1):
        sel = (branch == b) & moving
        if sel.any():
            ranges.append((b, float(fg[sel].min()), float(fg[sel].max())))
    folded = np.zeros(len(grid), dtype=bool)
    for i in np.flatnonzero(moving):
        for b, lo, hi in ranges:
            if b != branch[i] and lo <= fg[i] <= hi:
                folded[i] = True
                break
    return float(np.sum(weights[folded]) / max(np.sum(weights), 1e-12))


def _fold_cost(grid: np.ndarray, fg: np.ndarray, weights: np.ndarray) -> float:
    """1 - R^2 of the best monotone (isotonic) fit of f on the grid, weighted by the mass."""
    IsotonicRegression = require("sklearn.isotonic", "check", "the compatibility checker").IsotonicRegression

    w = weights + 1e-12
    mean = float(np.average(fg, weights=w))
    total = float(np.average((fg - mean) ** 2, weights=w))
    if total <= 1e-24:
        return 0.0
    best = 0.0
    for increasing in (True, False):
        fit = IsotonicRegression(increasing=increasing).fit(grid, fg, sample_weight=w).predict(grid)
        best = max(best, 1.0 - float(np.average((fg - fit) ** 2, weights=w)) / total)
    return max(0.0, 1.0 - best)


def _tail_gains(zf: np.ndarray, df: np.ndarray) -> tuple[float, float]:
    """Mean |f'| below / above the central 68% of the mass, relative to mean |f'| inside it."""
    lo, hi = np.quantile(zf, [0.16, 0.84])
    slope = np.abs(df)
    inner = slope[(zf >= lo) & (zf <= hi)]
    middle = float(inner.mean()) if inner.size else 0.0
    if middle <= 1e-12:
        return 1.0, 1.0  # flat in the middle: no gate to speak of
    left, right = slope[zf < lo], slope[zf > hi]
    return (float(left.mean()) / middle if left.size else 1.0, float(right.mean()) / middle if right.size else 1.0)


def profile_formula(formula, z: np.ndarray, *, name: str = "", dataset: str = "") -> FormulaProfile:
    """Measure ``formula`` (a :class:`~nsad_lib.formula.Formula`) on pre-activations ``z``."""
    zf = z.reshape(-1)
    with np.errstate(all="ignore"):
        lo, hi = (float(v) for v in np.quantile(zf, [0.025, 0.975]))
        f = _safe(formula.numpy(zf))
        df = _safe(formula.derivative_numpy(zf))
        grid = np.linspace(lo, hi, _GRID)
        fg = _safe(formula.numpy(grid))
        dg = _safe(formula.derivative_numpy(grid))
        # rows per grid cell, to weight grid measures by the data's own mass
        hist, _ = np.histogram(np.clip(zf, lo, hi), bins=_GRID, range=(lo, hi))
        weights = hist.astype(np.float64)

        rank = abs(_spearman(zf, f))
        var_f = float(np.var(f))
        if var_f > 0:
            r = np.corrcoef(zf, f)[0, 1]
            nonlin = float(1.0 - (r * r if np.isfinite(r) else 0.0))
        else:
            nonlin = 0.0
        typical = float(np.mean(np.abs(df))) or 1e-12
        med = np.median(z, axis=0, keepdims=True)
        near = np.abs(z - med) <= PILE_HALF_WIDTH
        pile_gain = float(np.mean(np.abs(df.reshape(z.shape)[near])) / typical) if near.any() else 1.0
        concentration = float(np.mean(np.abs(z - med) <= 0.1))

        m = max(abs(lo), abs(hi))
        sym = np.linspace(0.0, m, 401)
        fp, fm = _safe(formula.numpy(sym)), _safe(formula.numpy(-sym))
        spread = float(np.ptp(np.concatenate([fp, fm]))) or 1.0
        if np.max(np.abs(fp - fm)) <= 1e-3 * spread:
            parity = "even"
        elif np.max(np.abs(fp + fm)) <= 1e-3 * spread:
            parity = "odd"
        else:
            parity = "neither"
        moving = np.abs(dg) >= 0.05 * (float(np.max(np.abs(dg))) or 1.0)
        signs = np.sign(dg[moving])
        folds = int(np.sum(signs[1:] != signs[:-1]))
        far = np.concatenate([-np.logspace(1, 4, 40), np.logspace(1, 4, 40)])
        f_far = _safe(formula.numpy(far))
        f_near = float(np.max(np.abs(_safe(formula.numpy(np.linspace(-10, 10, 401))))))
        bounded = bool(np.max(np.abs(f_far)) <= 2.0 * max(f_near, 1.0))
        f0 = float(_safe(formula.numpy(np.array([0.0])))[0])
        # derivative at 0 as the mean over a small window: kinks (ReLU) get their average slope
        df0 = float(np.mean(_safe(formula.derivative_numpy(np.linspace(-1e-3, 1e-3, 21)))))
        flat = float(np.mean(np.abs(df) < 0.05 * typical))
        fold_mass = _fold_mass(grid, fg, dg, weights)
        fold_cost = _fold_cost(grid, fg, weights)
        tail_left, tail_right = _tail_gains(zf, df)
    return FormulaProfile(
        formula=name or str(formula), dataset=dataset, mass_interval=(round(lo, 3), round(hi, 3)),
        rank_agreement=round(rank, 4), fold_mass=round(fold_mass, 4), nonlinearity=round(nonlin, 4),
        pile_gain=round(pile_gain, 4), pile_concentration=round(concentration, 4), parity=parity,
        monotone=folds == 0, folds=folds, bounded=bounded, f0=round(f0, 4), df0=round(df0, 4),
        flat_mass=round(flat, 4), fold_cost=round(fold_cost, 4), tail_gain_left=round(tail_left, 4),
        tail_gain_right=round(tail_right, 4),
    )
