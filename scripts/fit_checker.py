"""Fit the checker v2 on the suite's transfer matrix and write its JSON model into the package.

Reads a runner store (``results.jsonl``: every ``tabular-25`` dataset x the formula set x seeds
42-44, the Light protocol), computes the unlabelled features of every (dataset, formula) case
(cached in ``benchmarks/results/checker/features.json``; only new cases are profiled) and each
formula's shape, runs the smoother's recipe on all cells (bandwidths, interval quantiles and
decision band chosen by leave-one-dataset-out and leave-one-family-out cross-validation; the same
recipe ``evaluate_checker.py`` scores fold by fold) and writes
``nsad_lib/compat/models/checker-v2.json``: the clipped Δ matrix, the dataset profiles, the
formula shapes and the settings (no pickle, plain JSON).

    python scripts/evaluate_checker.py --store /path/to/tabular-25 --zoo benchmarks/zoo   # the docs' figures
    python scripts/fit_checker.py --store /path/to/tabular-25 --zoo benchmarks/zoo \
        --probe-store /path/to/probe-grid --probe-setting matched:42,43,44                # the model
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "nsad_lib" / "compat" / "models" / "checker-v2.json"
CACHE = REPO / "benchmarks" / "results" / "checker" / "features.json"
ZOO = REPO / "benchmarks" / "zoo"
#: Bump when the model's form or training data definition changes.
VERSION = 4


def probe_combination(cases, shapes, store: Path, setting: str, level: float) -> dict:
    """How a probe updates the prediction: the median regression of Δ on (the smoother's honest
    leave-one-dataset-out prior, the probe's Δ) over every case with a probe, and the interval from the
    residuals of the same fit held out by dataset."""
    import numpy as np

    from nsad_lib.bench.store import ResultStore
    from nsad_lib.compat.learn import (
        by_dataset,
        case_profiles,
        clip_delta,
        fit_probe_combination,
        held_out_predictions,
        held_out_probe_combination,
        probe_deltas,
        probe_setting,
    )
    from nsad_lib.training.protocol import PROBE_MAX_ROWS

    epochs, seeds = probe_setting(setting)
    q = probe_deltas(ResultStore(store).latest().values(), cases, seeds, epochs)
    has = np.isfinite(q)
    if has.sum() < 50:
        raise SystemExit(f"error: only {int(has.sum())} cases have a {setting} probe in {store}")
    profiles = case_profiles(cases)
    pred, chosen = held_out_predictions(cases, by_dataset, profiles, shapes, level=level)
    y = np.array([c.delta for c in cases])
    fit = fit_probe_combination(pred["delta"][has], q[has], y[has])
    held = held_out_probe_combination(cases, by_dataset, pred["delta"], q, chosen, profiles, shapes, level=level)
    resid = clip_delta(y[has]) - held["delta"][has]
    tail = (1 - level) / 2
    return {**fit, "residual_quantiles": [round(float(np.quantile(resid, tail)), 4),
                                          round(float(np.quantile(resid, 1 - tail)), 4)],
            "epochs": epochs, "seeds": len(seeds), "rows": PROBE_MAX_ROWS, "cases": int(has.sum()),
            "fitted_on": {"store": store.name, "seeds": seeds},
            "kind": "median regression of the measured Δ on the smoother's leave-one-dataset-out prior and the "
                    "probe's Δ (both clipped to ±25 points); interval from its leave-one-dataset-out residuals"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True, help="folder of the grid's results.jsonl")
    ap.add_argument("--zoo", type=Path, default=ZOO, help="the formula zoo registry folder (families.json)")
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--min-seeds", type=int, default=3,
                    help="cases need this many paired seeds (3: the label's definition; fewer only to preview a grid "
                         "still running)")
    ap.add_argument("--out", type=Path, default=MODEL)
    ap.add_argument("--level", type=float, default=0.8, help="nominal coverage of the reported interval")
    ap.add_argument("--probe-store", type=Path, default=None,
                    help="a probe grid's folder (scripts/probe_matrix.py): also fit how a probe updates the prediction")
    ap.add_argument("--probe-setting", default="matched:42,43,44",
                    help="EPOCHS:SEEDS of the probe the combination reads (check --probe's defaults: matched:42,43,44)")
    args = ap.parse_args(argv)

    from nsad_lib.compat.learn import case_profiles, case_shapes, export_model, load_cases, select_settings
    from nsad_lib.registry.store import Registry
    from nsad_lib.util.atomic import atomic_write_text

    zoo = args.zoo if args.zoo.is_dir() else None
    cases, _, facts = load_cases(args.store, zoo, args.cache, seeds=args.min_seeds,
                                 progress=lambda s: print(s, file=sys.stderr))
    if len(cases) < 50:
        print(f"error: only {len(cases)} measured cases in {args.store}; too few to fit", file=sys.stderr)
        return 2
    shapes = case_shapes(cases, Registry([zoo]) if zoo is not None else None)
    settings = select_settings(cases, range(len(cases)), case_profiles(cases), shapes, (args.level,))
    digest = hashlib.sha256((args.store / "results.jsonl").read_bytes()).hexdigest()
    fitted = {**facts, "store": args.store.name, "store_sha256": digest, "min_seeds": args.min_seeds,
              "settings": settings,
              "command": "python scripts/fit_checker.py --store <grid folder> --zoo benchmarks/zoo"
                         + (f" --probe-store <probe grid folder> --probe-setting {args.probe_setting}"
                            if args.probe_store else "")}
    doc = export_model(cases, settings=settings, level=args.level, version=VERSION, fitted=fitted, shapes=shapes)
    if args.probe_store:
        doc["probe"] = probe_combination(cases, shapes, args.probe_store, args.probe_setting, args.level)
        print(f"probe combination: {doc['probe']}", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({len(cases)} cases, {facts['datasets']} datasets, {facts['activations']} formulas)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
