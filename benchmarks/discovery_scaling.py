"""Evaluations per minute of a suite search (``discover --suite``) with 1 worker, then with 2
(issue 18: 2 workers must give >= 1.7x the evaluations per minute of 1). Each search runs in a
fresh store with the same seed; both must find the same formula.

    python benchmarks/discovery_scaling.py [--executor local|ray] [--evaluations 32] [--epochs 5]
                                           [--workers 2] [--out STEM] [--update-results]

Search: the source half of the `quick` suite (phoneme, chess, german), population 8, seed 42.
With ``local`` one process pool serves the whole search (its start, fork on Linux, is counted);
``ray`` keeps its workers across generations. After a warm-up search, each configuration runs
twice, in both orders; the figures are the means.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _paths import UPDATE_HELP, output_stem  # noqa: E402
from _rounds import alternating, mean_seconds  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executor", choices=("local", "ray"), default="local")
    parser.add_argument("--evaluations", type=int, default=32)
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--update-results", action="store_true", help=UPDATE_HELP)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    import torch

    from nsad_lib.bench import runner
    from nsad_lib.discovery.suite import discover_suite

    torch.set_num_threads(1)
    found: dict[int, tuple] = {}
    samples: dict[int, list[float]] = {1: [], args.workers: []}

    def search(workers: int, folder: Path, evaluations: int):  # -> the search's result
        return discover_suite(suite="quick", split="source", name="scaling", seed=42, evaluations=evaluations,
                              population=args.population, epochs=args.epochs, executor=args.executor,
                              workers=workers, out=folder, dry_run=True)

    with tempfile.TemporaryDirectory() as tmp:
        # Warm-up (a small search, 1 epoch): first-use costs (imports, data loading, compiled
        # kernels) are paid here, not by whichever configuration runs first; forked workers
        # would otherwise inherit the warm state of a run before them.
        search(1, Path(tmp) / "warm", args.population)
        for label, workers in alternating(args.workers):
            start = time.perf_counter()
            result = search(workers, Path(tmp) / label, args.evaluations)
            samples[workers].append(time.perf_counter() - start)
            evaluated = result.search.facts["evaluated"]
            found[workers] = (result.entry.formula, result.entry.parameters)
            assert result.counts["failed"] == 0, result.counts
            print(f"{workers} worker(s): {evaluated} evaluations ({result.counts['ran']} runs) in "
                  f"{samples[workers][-1]:.1f} s; best {found[workers][0]}", flush=True)
        seconds = mean_seconds(samples)
        per_minute = {workers: 60.0 * evaluated / s for workers, s in seconds.items()}
    speedup = per_minute[args.workers] / per_minute[1]
    out = {"executor": args.executor, "suite": "quick", "split": "source", "evaluations": args.evaluations,
           "population": args.population, "epochs": args.epochs, "cpu_count": os.cpu_count(),
           "seconds": {str(k): round(v, 2) for k, v in seconds.items()},
           "samples": {str(k): [round(x, 2) for x in v] for k, v in samples.items()},
           "evaluations_per_minute": {str(k): round(v, 2) for k, v in per_minute.items()},
           "speedup": round(speedup, 3), "same_formula": found[1] == found[args.workers],
           "formula": found[1][0], "environment": runner.environment()}
    print(f"speedup {args.workers} workers / 1 worker: {speedup:.2f}x (target >= 1.7x); "
          f"same formula: {out['same_formula']}")
    stem = output_stem(f"discovery_scaling_{args.executor}", args.out, args.update_results)
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {stem.with_suffix('.json')}")


if __name__ == "__main__":
    main()
