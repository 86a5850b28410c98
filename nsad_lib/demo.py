"""The demo: discover an activation on the shipped HIGGS sample, plot it, and try it on Forest.

Run ``python -m nsad_lib.demo`` or ``nsad-lib demo``. Everything uses the small real samples
shipped in the package (3,000 HIGGS rows, 5,000 Forest rows), so it needs no download and runs
in about a minute on 2 cores; nothing is written to any registry.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np


def main(budget_s: float = 30.0, plot_path: str = "demo_activation.png", seeds: tuple[int, ...] = (42, 43, 44)) -> dict[str, dict[str, float]]:
    """Discover, print, plot, compare; returns the comparison (mean accuracy/AUC/params)."""
    import torch

    from nsad_lib import datasets
    from nsad_lib.activation import SymbolicActivation
    from nsad_lib.discovery import discover
    from nsad_lib.experiments import train_and_evaluate
    from nsad_lib.plotting import plot_formula

    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    t0 = time.monotonic()
    print(f"1. discovering an activation on the shipped HIGGS sample (search, budget {budget_s:.0f} s) ...")
    with tempfile.TemporaryDirectory() as tmp:
        result = discover("sample:higgs", name="demo", strategy="search", budget_s=budget_s, registry=tmp,
                          dry_run=True, progress=lambda m: print("   ", m))
    entry = result.entry
    formula = entry.formula_object()
    print(f"   found in {time.monotonic() - t0:.0f} s: f(x) = {entry.formula}  {dict(entry.parameters)}"
          f"  ({'trainable' if entry.trainable else 'frozen'} constants)")
    plot_formula(formula, plot_path, title="discovered on HIGGS sample")
    print(f"2. plot of f and f' saved to {plot_path}")

    forest = datasets.load("forest", sample=True)
    print(f"3. training Light networks on the shipped Forest sample ({forest.n_rows:,} rows), seeds {list(seeds)} ...")

    def discovered() -> SymbolicActivation:
        return SymbolicActivation(formula, trainable=entry.trainable)

    rows: dict[str, dict[str, float]] = {}
    for label, act in (("Light ReLU", "relu"), ("Light discovered", discovered)):
        runs = [train_and_evaluate(forest, "light", act, seed) for seed in seeds]
        rows[label] = {"accuracy": float(np.mean([r.accuracy for r in runs])), "auc": float(np.mean([r.auc for r in runs])),
                       "params": runs[0].params}
    print(f"\n   {'model':<18} {'accuracy':>9} {'AUC':>7} {'params':>7}")
    for label, r in rows.items():
        print(f"   {label:<18} {r['accuracy']:>9.3f} {r['auc']:>7.3f} {r['params']:>7,}")
    print(f"\n   total {time.monotonic() - t0:.0f} s")
    return rows


if __name__ == "__main__":
    main()
