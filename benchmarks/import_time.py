"""Import and ``get()`` cost, each measured in fresh subprocesses (median of several runs).

    python benchmarks/import_time.py [--runs 7] [--out STEM] [--update-results]   # default: benchmarks/out/ (untracked)

Reports, all in seconds of wall time inside the child process:
  torch            ``import torch``
  nsad_lib         ``import nsad_lib`` right after ``import torch`` (the package is lazy)
  nsad_lib_alone   ``import nsad_lib`` in a fresh interpreter (what `import` alone pulls in)
  first_get        the first ``nsad_lib.get(id)`` after ``import torch, nsad_lib`` (imports
                   sympy and nsad_lib's modules, scans the registry, parses and compiles)
  get_again_ms     ``get(id)`` again, median of 200 calls (a fresh module each call)
  get_other_ms     ``get()`` of a second, not yet used entry (parse + compile of one formula)

Targets (issue 7): ``import nsad_lib`` adds at most 0.3 s beyond ``import torch``; ``get(id)``
takes under 5 ms after the first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _paths import UPDATE_HELP, output_stem  # noqa: E402

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
import nsad_lib
t2 = time.perf_counter()
first = nsad_lib.get(sys.argv[1])
t3 = time.perf_counter()
times = []
for _ in range(200):
    s = time.perf_counter(); nsad_lib.get(sys.argv[1]); times.append(time.perf_counter() - s)
s = time.perf_counter(); nsad_lib.get(sys.argv[2]); other = time.perf_counter() - s
times.sort()
print(json.dumps({"torch": t1 - t0, "nsad_lib": t2 - t1, "first_get": t3 - t2,
                  "get_again_ms": times[len(times) // 2] * 1e3, "get_other_ms": other * 1e3}))
"""

ALONE = r"""
import json, sys, time
t0 = time.perf_counter()
import nsad_lib
t1 = time.perf_counter()
heavy = sorted(m for m in ("torch", "sympy", "numpy", "scipy", "matplotlib", "huggingface_hub", "pyoperon") if m in sys.modules)
print(json.dumps({"nsad_lib_alone": t1 - t0, "heavy_modules_loaded": heavy}))
"""


def run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--entry", default="gelu-v1")
    ap.add_argument("--other", default="hajbi2026-higgs-fig-v1")
    ap.add_argument("--out", type=Path, help="results path without suffix (default benchmarks/out/import_time)")
    ap.add_argument("--update-results", action="store_true", help=UPDATE_HELP)
    args = ap.parse_args(argv)
    args.out = output_stem("import_time", args.out, args.update_results)
    run(CHILD, args.entry, args.other)  # warm the OS file cache and __pycache__
    samples = [run(CHILD, args.entry, args.other) for _ in range(args.runs)]
    alone = [run(ALONE) for _ in range(args.runs)]
    result = {k: round(statistics.median(s[k] for s in samples), 4) for k in samples[0]}
    result["nsad_lib_alone"] = round(statistics.median(a["nsad_lib_alone"] for a in alone), 4)
    result["heavy_modules_loaded_by_import"] = alone[0]["heavy_modules_loaded"]
    result["runs"] = args.runs
    result["targets"] = {
        "import_adds_le_0.3s": result["nsad_lib"] <= 0.3,
        "import_plus_first_get_adds_le_0.3s": result["nsad_lib"] + result["first_get"] <= 0.3,
        "get_again_lt_5ms": result["get_again_ms"] < 5.0,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        "| measurement | median (s unless noted) |",
        "|---|---:|",
        f"| `import torch` | {result['torch']:.3f} |",
        f"| `import nsad_lib` after torch | {result['nsad_lib']:.4f} |",
        f"| `import nsad_lib` alone (loads {', '.join(result['heavy_modules_loaded_by_import']) or 'no heavy modules'}) | {result['nsad_lib_alone']:.4f} |",
        f"| first `get('{args.entry}')` after both imports | {result['first_get']:.3f} |",
        f"| `get('{args.entry}')` again | {result['get_again_ms']:.3f} ms |",
        f"| first `get('{args.other}')` (new formula) | {result['get_other_ms']:.2f} ms |",
    ]
    text = "\n".join(lines) + "\n"
    args.out.with_suffix(".md").write_text(text)
    print(text)
    print(json.dumps(result["targets"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
