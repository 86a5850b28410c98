"""Wall time of one 40-run grid with 1 local worker, then with 2 (issue 16: 2 workers must take
<= 0.6x the time of 1 on a 2-core machine). Each grid runs in a fresh store, through the same
runner ``nsad-lib bench`` uses; the results of both must be identical.

    python benchmarks/grid_scaling.py [--epochs 5] [--workers 2] [--out STEM] [--update-results]

Grid: the `quick` suite minus german (5 datasets) x Light {relu, gelu, silu, tanh} x seeds {42, 43}
= 40 runs. The 2-worker time includes starting the worker processes (fork on Linux). After a
warm-up pass, each configuration runs twice, in both orders (1 then 2, 2 then 1); the figures are
the means.
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

DATASETS = ("banana", "phoneme", "titanic", "chess", "mushroom")
ACTIVATIONS = ("relu", "gelu", "silu", "tanh")
SEEDS = (42, 43)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--update-results", action="store_true", help=UPDATE_HELP)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    from nsad_lib.bench import runner, suite
    from nsad_lib.bench.store import ResultStore

    data = {name: suite.load(name) for name in DATASETS}
    specs = runner.plan(data, ACTIVATIONS, SEEDS, args.epochs)
    assert len(specs) == 40
    scores: dict[int, dict] = {}
    samples: dict[int, list[float]] = {1: [], args.workers: []}
    with tempfile.TemporaryDirectory() as tmp:
        # Warm-up: every activation once, so neither configuration pays first-use costs (imports,
        # compiled kernels) that the other then inherits (forked workers share the parent's state).
        warm = runner.plan({DATASETS[0]: data[DATASETS[0]]}, ACTIVATIONS, SEEDS[:1], 1)
        runner.run_grid(warm, data, ResultStore(Path(tmp) / "warm"), workers=1)
        for label, workers in alternating(args.workers):
            store = ResultStore(Path(tmp) / label)
            start = time.perf_counter()
            counts = runner.run_grid(specs, data, store, workers=workers)
            samples[workers].append(time.perf_counter() - start)
            assert counts["failed"] == 0, counts
            scores[workers] = {r["key"]: r["result"]["score"] for r in store.records()}
            print(f"{workers} worker(s): {samples[workers][-1]:.1f} s", flush=True)
        times = mean_seconds(samples)
    ratio = times[args.workers] / times[1]
    result = {"runs": len(specs), "epochs": args.epochs, "datasets": list(DATASETS),
              "activations": list(ACTIVATIONS), "seeds": list(SEEDS), "cpu_count": os.cpu_count(),
              "seconds": {str(k): round(v, 2) for k, v in times.items()}, "ratio": round(ratio, 3),
              "samples": {str(k): [round(x, 2) for x in v] for k, v in samples.items()},
              "identical_results": scores[1] == scores[args.workers],
              "environment": runner.environment()}
    print(f"ratio {args.workers} workers / 1 worker: {ratio:.2f} (target <= 0.6); identical results: "
          f"{result['identical_results']}")
    stem = output_stem("grid_scaling", args.out, args.update_results)
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {stem.with_suffix('.json')}")


if __name__ == "__main__":
    main()
