"""``distill``: let the network learn its activation, then write the curve down as a formula.

A piecewise-linear spline (33 knots on [-4, 4], linear beyond, initialised to ReLU) is shared
by every unit of the Light network and trained with it on the fit rows. Its curve is sampled
over the 1st-99th percentile of the pre-activations it actually received, and the backend
regresses a compact formula to those samples. A spline, unlike a rational function, cannot
blow up between knots, and starting from ReLU means the learned deviation is the signal.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nsad_lib.discovery.backends.base import Backend
from nsad_lib.discovery.candidates import from_expressions
from nsad_lib.discovery.source import SourceData
from nsad_lib.discovery.strategies import Progress, StrategyResult

KNOTS = 33
SPAN = 4.0
SAMPLES = 400


class SplineActivation(nn.Module):
    """Learnable piecewise-linear activation; records its inputs when ``recording``."""

    def __init__(self, knots: int = KNOTS, span: float = SPAN):
        super().__init__()
        grid = torch.linspace(-span, span, knots)
        self.register_buffer("grid", grid)
        self.step = float(grid[1] - grid[0])
        self.values = nn.Parameter(torch.relu(grid).clone())
        self.recording = False
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.recording and not self.training:
            self.seen.append(x.detach().reshape(-1)[::7].clone())
        pos = (x - self.grid[0]) / self.step
        idx = pos.floor().clamp(0, len(self.grid) - 2).long()
        t = pos - idx
        v0, v1 = self.values[idx], self.values[idx + 1]
        return v0 + t * (v1 - v0)


def learn_curve(data: SourceData, *, seed: int, epochs: int = 15) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Train the Light network with a shared spline; return (xs, f(xs)) over the seen range."""
    from nsad_lib.training.protocol import fit_light

    spline = SplineActivation()
    spline.recording = True  # records only in eval mode: fit_light's final pass over the val rows
    with torch.random.fork_rng(devices=[]):
        r = fit_light(data.X_fit, data.y_fit, data.X_val, data.y_val, lambda: spline, epochs=epochs, seed=seed, scale=False,
                      task=data.dataset.task, n_classes=data.dataset.n_classes)
    spline.recording = False
    seen = torch.cat(spline.seen).numpy() if spline.seen else np.array([-3.0, 3.0])
    lo, hi = (float(q) for q in np.quantile(seen, [0.01, 0.99]))
    xs = np.linspace(lo, hi, SAMPLES)
    with torch.no_grad():
        ys = spline(torch.as_tensor(xs, dtype=torch.float32)).double().numpy()
    from nsad_lib.discovery.validate import metric

    value = r.r2 if data.dataset.task == "regression" else r.auc
    key = "spline_" + metric(data.dataset.task)[1]  # spline_val_auc for binary
    return xs, ys, {key: round(float(value), 5) if value is not None and np.isfinite(value) else None,
                    "range_lo": round(lo, 4), "range_hi": round(hi, 4)}


def run(data: SourceData, backend: Backend, *, seed: int, budget_s: float, progress: Progress) -> StrategyResult:
    progress("distill: training the Light network with a learnable spline activation")
    xs, ys, facts = learn_curve(data, seed=seed)
    progress(f"distill: regressing a formula to the learned curve on [{facts['range_lo']:.2f}, {facts['range_hi']:.2f}]")
    exprs = backend.regress(xs, ys, seed=seed, budget_s=0.2 * budget_s)
    cands, rejected = from_expressions(exprs, backend.name, f"distill:{backend.name}")
    settings = {"spline_knots": KNOTS, "spline_span": SPAN, "samples": SAMPLES, "range": "1st-99th percentile of pre-activations"}
    facts["curve"] = [[round(float(a), 4), round(float(b), 4)] for a, b in zip(xs[::40], ys[::40])]
    return StrategyResult(cands, settings, facts, rejected)
