"""The probe's transfer matrix: what ``nsad-lib check --probe`` measures on every suite cell.

For every ``tabular-25`` dataset x every activation of a suite grid store (the checker's training
data, ``--like``), one probe run per seed (``RunSpec(evaluation="probe")``: Light network, 15
epochs by default, a seeded sample of up to 20,000 rows of the paper's *training* split for the
check's seed (``--split-seed``, 42), scored on its own 25% validation part; that seed's test split
is never read), exactly what ``check(..., probe=True, probe_seeds=SEEDS)`` trains, ReLU included as the probe's baseline. The
runs go through the benchmark runner into a resumable store, so an interrupted grid resumes and
``scripts/evaluate_checker.py --probe-store DIR`` reads the probe's Δ of every case from it.

    NSAD_REGISTRY_PATH=benchmarks/zoo python scripts/probe_matrix.py --like GRID --out PROBE_GRID --workers 2
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--like", type=Path, required=True, help="the suite grid's folder (its datasets and activations)")
    ap.add_argument("--out", type=Path, required=True, help="folder of the probe grid's results.jsonl")
    ap.add_argument("--seeds", default="42", help="comma-separated probe seeds (check --probe's default: 42)")
    ap.add_argument("--epochs", default="15",
                    help="probe epochs, or 'matched': per dataset, as many Adam steps as 15 epochs of the protocol "
                         "(training.protocol.matched_probe_epochs)")
    ap.add_argument("--split-seed", type=int, default=42,
                    help="the training split every probe seed uses (check's --seed; default 42)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--datasets", default="", help="only these datasets (comma-separated)")
    args = ap.parse_args(argv)

    from nsad_lib.bench import suite
    from nsad_lib.bench.runner import plan, run_grid, validate
    from nsad_lib.bench.store import ResultStore

    like = ResultStore(args.like)
    if not like.exists():
        print(f"error: no results.jsonl in {args.like}", file=sys.stderr)
        return 2
    names: list[str] = []
    acts: list[str] = []
    for record in like.records():  # the grid's datasets and activations, in the order it ran them
        spec = record["spec"]
        if spec.get("model") != "light":
            continue
        if spec["dataset"] not in names:
            names.append(spec["dataset"])
        if spec["activation"] not in acts:
            acts.append(spec["activation"])
    if args.datasets:
        wanted = [d.strip() for d in args.datasets.split(",") if d.strip()]
        names = [n for n in names if n in wanted]
    seeds = [int(s) for s in args.seeds.split(",")]
    validate(acts)
    loaded = {n: suite.load(n) for n in names}
    # every probe seed on the training split of the check's seed (check(seed=42)'s default), as a check does
    from nsad_lib.training.protocol import MATCHED, probe_epochs_for, train_indices

    setting = MATCHED if args.epochs == MATCHED else int(args.epochs)
    epochs = {n: probe_epochs_for(setting, len(train_indices(ds.n_rows, args.split_seed))) for n, ds in loaded.items()}
    specs = [replace(s, evaluation="probe", split_seed=args.split_seed, epochs=epochs[s.dataset])
             for s in plan(loaded, acts, seeds, 15)]
    store = ResultStore(args.out)

    def on_record(record: dict, done: int, total: int, failed: int) -> None:
        if done % 50 == 0 or done == total:
            print(f"  [{done}/{total}] failed {failed}", flush=True)

    counts = run_grid(specs, loaded, store, workers=args.workers, on_record=on_record)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
