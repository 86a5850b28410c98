"""Fit the checker v2 on the suite's transfer matrix and write its JSON model into the package.

Reads a runner store (``results.jsonl``: every ``tabular-25`` dataset x the formula set x seeds
42-44, the Light protocol), computes the unlabelled features of every (dataset, formula) case
(cached in ``benchmarks/results/checker/features.json``; only new cases are profiled), fits the
low / median / high quantile gradient-boosting models of Δ and writes
``nsad_lib/compat/models/checker-v2.json`` (no pickle: tree arrays).

    python scripts/evaluate_checker.py --store /path/to/tabular-25 --zoo benchmarks/zoo   # docs + decision level
    python scripts/fit_checker.py --store /path/to/tabular-25 --zoo benchmarks/zoo        # then the model
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "nsad_lib" / "compat" / "models" / "checker-v2.json"
CACHE = REPO / "benchmarks" / "results" / "checker" / "features.json"
ZOO = REPO / "benchmarks" / "zoo"
EVALUATION = REPO / "benchmarks" / "results" / "checker" / "evaluation.json"
#: Bump when the model's form or training data definition changes.
VERSION = 1


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
    ap.add_argument("--decision-level", type=float, default=None,
                    help="the band the verdict reads (0: the median alone; default: the level "
                         "evaluate_checker.py chose, benchmarks/results/checker/evaluation.json)")
    args = ap.parse_args(argv)

    from nsad_lib.compat.learn import export_model, fit_ensembles, load_cases
    from nsad_lib.util.atomic import atomic_write_text

    cases, datasets, facts = load_cases(args.store, args.zoo if args.zoo.is_dir() else None, args.cache, seeds=args.min_seeds,
                                        progress=lambda s: print(s, file=sys.stderr))
    if len(cases) < 50:
        print(f"error: only {len(cases)} measured cases in {args.store}; too few to fit", file=sys.stderr)
        return 2
    level, decision = args.level, args.decision_level
    if decision is None:
        decision = json.loads(EVALUATION.read_text())["decision_level"] if EVALUATION.is_file() else 0.0
    X = np.stack([c.x for c in cases])
    y = np.array([c.delta for c in cases])
    models = fit_ensembles(X, y, level=level)
    decision_models = fit_ensembles(X, y, level=decision)[::2] if 0 < decision != level else (
        (models[0], models[2]) if decision == level else ())
    digest = hashlib.sha256((args.store / "results.jsonl").read_bytes()).hexdigest()
    fitted = {**facts, "store": args.store.name, "store_sha256": digest,
              "command": "python scripts/fit_checker.py --store <grid folder> --zoo benchmarks/zoo"}
    doc = export_model(models, cases, datasets, level=level, version=VERSION, fitted=fitted,
                       decision_level=decision, decision_models=decision_models)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({len(cases)} cases, {facts['datasets']} datasets, {facts['activations']} formulas)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
