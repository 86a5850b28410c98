"""The demo: discover an activation on the shipped HIGGS sample, plot it, and try it on Forest.

Run ``python -m nsad_lib.discovery.demo`` or ``nsad-lib demo``. Everything uses the small real samples
shipped in the package (3,000 HIGGS rows, 5,000 Forest rows), so it needs no download; nothing
is written to any registry. Its size is fixed (``DEMO_EVALUATIONS`` formulas trained by the
search, never cut by the clock), so every run prints the same formula and the same numbers; on
2 busy cores it takes about a minute (see docs/quickstart.md for the measured time).
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

#: Formulas the demo's search trains on the HIGGS sample (the demo's whole size; see module doc).
DEMO_EVALUATIONS = 30
#: The search family: ``gated`` (x times a learned gate) is where HIGGS validation found its gain
#: (docs/discovery.md); the demo says plainly whether the winner beats ReLU either way.
DEMO_FAMILY = "gated"


def main(evaluations: int = DEMO_EVALUATIONS, plot_path: str = "demo_activation.png",
         seeds: tuple[int, ...] = (42, 43, 44)) -> dict[str, dict[str, object]]:
    """Discover, print, plot, compare; returns the comparison (mean accuracy/AUC/params)."""
    import torch

    from nsad_lib.data import datasets
    from nsad_lib.discovery import discover
    from nsad_lib.discovery.validate import best
    from nsad_lib.formula.plot import plot_formula
    from nsad_lib.nn.activation import SymbolicActivation
    from nsad_lib.training.protocol import train_and_evaluate

    torch.set_num_threads(1)  # the same numbers on every machine (summation order), and fastest for tiny nets
    t0 = time.monotonic()
    print(f"1. discovering an activation on the shipped HIGGS sample (search --family {DEMO_FAMILY}, "
          f"{evaluations} evaluations) ...")
    with tempfile.TemporaryDirectory() as tmp:
        result = discover("sample:higgs", name="demo", strategy="search", family=DEMO_FAMILY, evaluations=evaluations,
                          registry=tmp, dry_run=True, progress=lambda m: print("   ", m))
    entry = result.entry
    formula = entry.formula_object()
    m = {"val_auc": best(result.validated).auc, "baseline_relu": {"val_auc": result.baseline_relu["val_auc"]}}
    print(f"   found in {time.monotonic() - t0:.0f} s: f(x) = {entry.formula}  {dict(entry.parameters)}"
          f"  ({'trainable' if entry.trainable else 'frozen'} constants)")
    known = entry.provenance.get("prior_art")
    if isinstance(known, dict) and known.get("name"):
        print(f"   it is a known activation: {known['name']} ({known.get('citation', '?')})")
    if result.beats_baseline:
        print(f"   it beats Light ReLU on the HIGGS validation rows: AUC {m['val_auc']:.4f} vs {m['baseline_relu']['val_auc']:.4f}")
    else:
        print(f"   it does NOT beat Light ReLU on the HIGGS validation rows: AUC {m['val_auc']:.4f} vs "
              f"{m['baseline_relu']['val_auc']:.4f} (discover would not save it without --keep-if-worse)")
    plot_formula(formula, plot_path, title="discovered on HIGGS sample")
    print(f"2. plot of f and f' saved to {plot_path}")

    forest = datasets.load("forest", sample=True)
    print(f"3. training Light networks on the shipped Forest sample ({forest.n_rows:,} rows), seeds {list(seeds)} ...")

    def discovered() -> SymbolicActivation:
        return SymbolicActivation(formula, trainable=entry.trainable)

    rows: dict[str, dict[str, object]] = {}
    for label, act in (("Light ReLU", "relu"), ("Light discovered", discovered)):
        runs = [train_and_evaluate(forest, "light", act, seed) for seed in seeds]
        rows[label] = {"accuracy": float(np.mean([r.accuracy for r in runs])), "auc": float(np.mean([r.auc for r in runs])),
                       "params": runs[0].params}
    print(f"\n   {'model':<18} {'accuracy':>9} {'AUC':>7} {'params':>7}")
    for label, r in rows.items():
        print(f"   {label:<18} {r['accuracy']:>9.3f} {r['auc']:>7.3f} {r['params']:>7,}")
    print(f"\n   total {time.monotonic() - t0:.0f} s")
    rows["discovered"] = {"formula": entry.formula, "parameters": dict(entry.parameters),  # type: ignore[dict-item]
                          "beats_relu_on_validation": result.beats_baseline,
                          "known_as": known.get("name") if isinstance(known, dict) else None}
    return rows


if __name__ == "__main__":
    main()
