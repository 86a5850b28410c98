"""The suite matrix as evidence: a product-kernel smoother of Δ over measured (dataset, formula) cells.

For a target (dataset ``d``, formula ``f``) the estimate is the weighted mean of the measured Δ
of the available cells ``(d', f')``, with weight ``w_data(d, d') * w_formula(f, f')``:

- ``w_data`` is a Gaussian kernel of the distance between the unlabelled data profiles
  (:data:`nsad_lib.compat.learn.DATA_FEATURES`, standardised over the suite datasets available),
  so a formula's Δ on the suite datasets most like the target counts most;
- ``w_formula`` is a Gaussian kernel of the distance between the formulas' *shapes*: each formula
  evaluated at 33 quantiles of the standard normal (the BatchNorm'd pre-activations a Light
  network feeds it), centred and scaled to unit variance (the next linear layer absorbs an
  output shift and scale) and compared up to sign (``-f`` is ``f`` for the next layer).

Both distances are 0 for the same dataset / formula, so the smoother uses the formula's own
row when it was measured on other suite datasets (a bundled formula on new data), the target's
own column when the dataset is a suite dataset (a new formula on suite data), and near formulas
on near datasets when neither is known. Its spread (weighted standard deviation) and effective
number of cells go with the estimate. Δ is clipped to ``[-CLIP, CLIP]`` points (a diverging
regression run measures R² changes in the thousands of points; the label ``Δ ≥ -1`` is
unaffected). numpy only; no labels are read at check time (the matrix ships in the model JSON).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

__all__ = ["CLIP", "SHAPE_POINTS", "THRESHOLD", "SPREAD_FLOOR", "band", "intervals", "level_key", "formula_shape", "shape_distances", "Smoother"]

#: Δ beyond ±25 points is clipped (for learning, the smoother and the MAE).
CLIP = 25.0
#: Points of the standard normal where a formula's shape is sampled.
SHAPE_POINTS = 33
#: A case transfers when Δ is at least this (points).
THRESHOLD = -1.0


def _normal_quantiles(n: int = SHAPE_POINTS) -> np.ndarray:
    from statistics import NormalDist

    nd = NormalDist()
    return np.array([nd.inv_cdf((i + 0.5) / n) for i in range(n)], dtype=np.float64)


_GRID = _normal_quantiles()


def formula_shape(formula) -> np.ndarray:  # noqa: ANN001 - an nsad_lib.formula.Formula
    """The formula's values at the standard-normal quantiles, centred and scaled to unit RMS (zeros if constant
    or not finite)."""
    with np.errstate(all="ignore"):
        v = np.asarray(formula.numpy(_GRID.copy()), dtype=np.float64).reshape(-1)
    if v.shape != _GRID.shape or not np.all(np.isfinite(v)):
        v = np.nan_to_num(np.broadcast_to(v, _GRID.shape).astype(np.float64), nan=0.0, posinf=1e6, neginf=-1e6)
    v = v - v.mean()
    s = float(np.sqrt(np.mean(v ** 2)))
    return v / s if s > 1e-12 else np.zeros_like(v)


def shape_distances(a: np.ndarray, B: np.ndarray) -> np.ndarray:
    """RMS distance of shape ``a`` to each row of ``B``, up to sign (0 to 2)."""
    a = np.asarray(a, dtype=np.float64)
    B = np.atleast_2d(np.asarray(B, dtype=np.float64))
    plus = np.sqrt(np.mean((B - a) ** 2, axis=1))
    minus = np.sqrt(np.mean((B + a) ** 2, axis=1))
    return np.minimum(plus, minus)


#: Floor of the spread (points) when an interval is scaled by it.
SPREAD_FLOOR = 1.0


def band(delta: np.ndarray, spread: np.ndarray, quantiles: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """An interval around the estimate: ``delta + q * (spread + SPREAD_FLOOR)`` for the (low, high) residual
    quantiles ``q`` measured in cross-validation (held-out errors in units of the local spread)."""
    scale = np.asarray(spread) + SPREAD_FLOOR
    return np.asarray(delta) + quantiles[0] * scale, np.asarray(delta) + quantiles[1] * scale


def intervals(pred: Mapping[str, np.ndarray], bands: Mapping[str, Mapping[str, Sequence[float]]], level: float,
              decision_level: float) -> dict[str, np.ndarray]:
    """The reported ``level`` interval (``low``, ``high``) and the decision band (``dlow``, ``dhigh``) of the
    smoother's predictions ``pred``, from the residual quantiles ``bands[mode][str(level)]`` measured in
    cross-validation (mode ``known``: the formula's own row is in the matrix; ``new``: it is not). The
    estimate always lies inside both."""
    known = np.asarray(pred["known"]) > 0.5
    out = {}
    for names, lv in ((("low", "high"), level), (("dlow", "dhigh"), decision_level)):
        lo = np.zeros(len(known))
        hi = np.zeros(len(known))
        for mode, rows in (("known", known), ("new", ~known)):
            q = bands[mode][level_key(lv)]
            a, b = band(pred["delta"][rows], pred["spread"][rows], q)
            lo[rows], hi[rows] = a, b
        out[names[0]] = np.minimum(lo, pred["delta"]) if lv > 0 else lo
        out[names[1]] = np.maximum(hi, pred["delta"]) if lv > 0 else hi
    return out


def level_key(level: float) -> str:
    return f"{float(level):.2f}"


class Smoother:
    """Measured cells (dataset, formula, Δ) with each dataset's profile and each formula's shape.

    Two pairs of bandwidths: ``h_data`` / ``h_formula`` when the query's formula is one of the
    cells' formulas (its own row is measured), ``h_data_new`` / ``h_formula_new`` when it is not.
    ``profile_std`` scales the profile features (by default the standard deviation over the
    datasets of the cells given: a held-out dataset never enters it).
    """

    def __init__(self, cells: Sequence[tuple[str, str, float]], profiles: Mapping[str, np.ndarray],
                 shapes: Mapping[str, np.ndarray], *, h_data: float = 0.1, h_formula: float = 0.05,
                 h_data_new: float | None = None, h_formula_new: float | None = None,
                 profile_std: np.ndarray | None = None):
        self.h_data, self.h_formula = float(h_data), float(h_formula)
        self.h_data_new = float(h_data if h_data_new is None else h_data_new)
        self.h_formula_new = float(h_formula if h_formula_new is None else h_formula_new)
        self.datasets = sorted({d for d, _, _ in cells})
        self.formulas = sorted({f for _, f, _ in cells})
        di = {d: i for i, d in enumerate(self.datasets)}
        fi = {f: i for i, f in enumerate(self.formulas)}
        y = np.clip(np.array([v for _, _, v in cells], dtype=np.float64), -CLIP, CLIP)
        order = np.argsort(y, kind="stable")  # cells sorted by Δ (the quantiles read cumulative weights)
        self._y = y[order]
        self._d = np.array([di[d] for d, _, _ in cells], dtype=np.int64)[order]
        self._f = np.array([fi[f] for _, f, _ in cells], dtype=np.int64)[order]
        self.P = (np.stack([np.asarray(profiles[d], dtype=np.float64) for d in self.datasets])
                  if self.datasets else np.zeros((0, 0)))
        self.S = (np.stack([np.asarray(shapes[f], dtype=np.float64) for f in self.formulas])
                  if self.formulas else np.zeros((0, SHAPE_POINTS)))
        if profile_std is None:
            std = self.P.std(axis=0) if len(self.P) else np.ones(0)
            profile_std = np.where(std > 1e-9, std, 1.0)
        self.profile_std = np.asarray(profile_std, dtype=np.float64)

    def __len__(self) -> int:
        return len(self._y)

    def weights(self, profiles: np.ndarray, shapes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(normalised cell weights per query row, profile distances to the datasets, shape distances to the
        formulas). The kernel is evaluated in log space relative to each row's nearest cell, so a query far
        from everything still weighs its nearest cells (never all zero)."""
        Q = np.atleast_2d(np.asarray(profiles, dtype=np.float64))
        Sq = np.atleast_2d(np.asarray(shapes, dtype=np.float64))
        dd = np.sqrt(np.mean(((Q[:, None, :] - self.P[None, :, :]) / self.profile_std) ** 2, axis=2))
        plus = np.sqrt(np.mean((Sq[:, None, :] - self.S[None, :, :]) ** 2, axis=2))
        minus = np.sqrt(np.mean((Sq[:, None, :] + self.S[None, :, :]) ** 2, axis=2))
        fd = np.minimum(plus, minus)
        known = self.known(fd)[:, None]
        hd = np.where(known, self.h_data, self.h_data_new)
        hf = np.where(known, self.h_formula, self.h_formula_new)
        logw = -0.5 * (dd[:, self._d] / hd) ** 2 - 0.5 * (fd[:, self._f] / hf) ** 2
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        return w / w.sum(axis=1, keepdims=True), dd, fd

    @staticmethod
    def known(fd: np.ndarray) -> np.ndarray:
        """Per query row: is its formula one of the cells' formulas (shape distance 0)?"""
        return fd.min(axis=1) < 1e-6 if fd.shape[1] else np.zeros(len(fd), dtype=bool)

    def quantiles(self, w: np.ndarray, qs: Sequence[float]) -> np.ndarray:
        """Weighted quantiles of the cells' Δ, one column per ``q``."""
        cum = np.cumsum(w, axis=1)
        out = np.empty((len(w), len(qs)))
        for j, q in enumerate(qs):
            k = np.argmax(cum >= q - 1e-12, axis=1)
            out[:, j] = self._y[k]
        return out

    def predict(self, profiles: np.ndarray, shapes: np.ndarray) -> dict[str, np.ndarray]:
        """Per query row: ``delta`` (weighted median of the cells' Δ), ``mean``, ``spread`` (weighted standard
        deviation), ``n_eff`` (effective number of cells), ``p_transfer`` (weight share of cells that
        transfer) and ``known`` (1 when the formula is one of the cells' formulas)."""
        n = len(np.atleast_2d(profiles))
        if not len(self._y):
            zero = np.zeros(n)
            return {"delta": zero, "mean": zero, "spread": np.full(n, CLIP), "n_eff": zero,
                    "p_transfer": zero + 0.5, "known": zero}
        w, _, fd = self.weights(profiles, shapes)
        mean = w @ self._y
        return {"delta": self.quantiles(w, (0.5,))[:, 0], "mean": mean,
                "spread": np.sqrt(np.maximum(w @ self._y ** 2 - mean ** 2, 0.0)),
                "n_eff": 1.0 / np.sum(w ** 2, axis=1),
                "p_transfer": w @ (self._y >= THRESHOLD).astype(np.float64),
                "known": self.known(fd).astype(np.float64)}

    def heaviest(self, profile: np.ndarray, shape: np.ndarray, top: int = 6) -> list[tuple[str, str, float, float]]:
        """The ``top`` cells that weigh most for one query: (dataset, formula, Δ, weight share)."""
        if not len(self._y):
            return []
        w, _, _ = self.weights(profile, shape)
        order = np.argsort(-w[0], kind="stable")[:top]
        return [(self.datasets[self._d[i]], self.formulas[self._f[i]], float(self._y[i]), float(w[0, i]))
                for i in order]
