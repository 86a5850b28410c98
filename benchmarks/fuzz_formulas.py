"""Fuzz the formula parser, lowering and Entry.create with seeded hostile strings; report times.

    python benchmarks/fuzz_formulas.py               # 50,000 cases (numerics on 1 in 20)
    python benchmarks/fuzz_formulas.py -n 5000 --seed 7

Every case must end in acceptance, FormulaError or EntryError (anything else is a bug and is
printed with its text); the report gives the outcome counts and the max / percentile times of
one case (parse + compile with derivatives + Entry.create), and the slowest strings.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from formula_fuzz import formulas, run_case  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--numerics-every", type=int, default=20, help="run the finiteness check on 1 case in N")
    ap.add_argument("--progress", type=int, default=0, help="print progress every N cases")
    ap.add_argument("--hang-report", type=float, default=60.0, help="dump stacks when one case runs this long (s)")
    args = ap.parse_args()
    import numpy as np

    import nsad_lib.nn.finite  # noqa: F401
    import nsad_lib.registry.entry  # noqa: F401  (imports outside the timings)

    run_case("x*sigmoid(x)", {}, True)  # warm-up: torch import, op tables
    cases = formulas(args.n, args.seed)
    times, counts, slow, bugs = [], {}, [], 0
    t0 = time.perf_counter()
    faulthandler.enable()
    for i, (text, params) in enumerate(cases):
        if args.progress and i % args.progress == 0:
            print(f"... {i} cases, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        # a case that hangs prints its text and every thread's stack (and the run goes on)
        faulthandler.dump_traceback_later(args.hang_report, exit=False)
        try:
            outcome, seconds = run_case(text, params, i % args.numerics_every == 0)
        except Exception:  # noqa: BLE001 - a bug: report it
            bugs += 1
            print(f"BUG on {text[:200]!r} {params}:\n{traceback.format_exc()}", file=sys.stderr)
            continue
        finally:
            faulthandler.cancel_dump_traceback_later()
        counts[outcome] = counts.get(outcome, 0) + 1
        times.append(seconds)
        slow.append((seconds, text))
        slow.sort(reverse=True)
        del slow[5:]
    total = time.perf_counter() - t0
    t = np.array(times)
    print(f"{len(cases)} cases in {total:.1f} s (seed {args.seed}); outcomes: {counts}; bugs: {bugs}")
    print("per case: " + ", ".join(f"p{q} {np.percentile(t, q) * 1000:.1f} ms" for q in (50, 90, 99, 99.9)) + f", max {t.max():.3f} s")
    for seconds, text in slow:
        print(f"  {seconds:.3f} s  {text[:120]!r}{'...' if len(text) > 120 else ''}")
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
