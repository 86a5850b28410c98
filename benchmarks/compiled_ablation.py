"""What the compiled activations' time goes to: an ablation, side by side with built-in GELU.

Inductor fuses an activation's forward into one kernel and its backward into another, so the
time left is the work per element. For every registry entry, on a 4096x1024 float32 input,
this times forward+backward with ``compile=True``:

* as shipped (trainable constants get gradients, summed inside the backward kernel);
* with its constants frozen (``requires_grad`` off: no parameter-gradient sums), for
  trainable entries;
* with every transcendental function ``g(u)`` (``sin``, ``cos``, ``tanh``, ``erf``, ``exp``,
  ``sigmoid``, ...) replaced by ``u**2``: the same kernels' structure, memory traffic and
  parameter sums, without the vectorized SLEEF calls or polynomials.

Every number is the median over rounds of the time divided by built-in GELU's forward+backward
time in the same round. The gap between the first and third rows is what the transcendental
functions cost; it is what keeps a formula with four or five of them per element above 1.5x.

    python benchmarks/compiled_ablation.py              # about 1 minute on 2 CPU cores
    python benchmarks/compiled_ablation.py --threads 1

By default glibc is set to keep freed memory (``--allocator reuse`` of benchmarks/activation.py),
so that page faults for memory released by one variant do not land on the next one.

Results: benchmarks/out/compiled_ablation{_Nthread}.{json,md} (untracked); ``--update-results``
refreshes the committed benchmarks/results/ copies.
"""

from __future__ import annotations

import argparse
import collections
import datetime as _dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import sympy as sp
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _paths import UPDATE_HELP, output_stem  # noqa: E402
from activation import (  # noqa: E402
    load_average,
    machine,
    reuse_freed_memory,
    round_robin,
    run_once,
    summarize,
)

import nsad_lib  # noqa: E402
from nsad_lib.formula.functions import sigmoid, softplus  # noqa: E402
from nsad_lib.formula.language import canonical  # noqa: E402
from nsad_lib.registry.store import list_entries  # noqa: E402

#: Program instructions that are transcendental functions (one call per element each).
TRANSCENDENTAL = ("sin", "cos", "tan", "tanh", "exp", "log", "erf", "erfc", "sigmoid", "softplus")
#: The same functions as sympy classes, for the ablated formulas.
SYMPY_TRANSCENDENTAL = (sp.sin, sp.cos, sp.tan, sp.tanh, sp.exp, sp.log, sp.erf, sp.erfc, sigmoid, softplus)

def transcendental_calls(program: Any) -> dict[str, collections.Counter[str]]:
    """Transcendental instructions in the forward plan and in the backward plan (all outputs).

    Only ``x`` is saved, so the backward recomputes what it needs: a function the forward
    evaluates is counted again wherever the derivative uses it.
    """
    counts: dict[str, collections.Counter[str]] = {}
    for part, outputs in (("fwd", (0,)), ("bwd", tuple(range(1, len(program.outputs))))):
        order, _ = program.plan(outputs)
        counts[part] = collections.Counter(op for op in (program.instructions[s][0] for s in order) if op in TRANSCENDENTAL)
    return counts


def without_transcendentals(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every transcendental function ``g(u)`` replaced by ``u**2``."""
    return expr.replace(lambda e: isinstance(e, SYMPY_TRANSCENDENTAL), lambda e: e.args[0] ** 2)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    cpu = torch.device("cpu")
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(4096, 1024, generator=gen)
    grad = torch.randn(4096, 1024, generator=gen)
    rows: dict[str, Any] = {}
    for e in list_entries():
        if args.entries and e.id not in args.entries:
            continue
        module = nsad_lib.get(e.id, compile=True)
        calls = transcendental_calls(module._program)
        if not sum(calls["fwd"].values()) + sum(calls["bwd"].values()):
            continue  # nothing to ablate
        print(f"  {e.id}", flush=True)
        ablated_text = canonical(without_transcendentals(module.formula.expr))
        group: dict[str, Any] = {"GELU": F.gelu, "compiled": module}
        if e.parameters and e.trainable:
            group["frozen"] = nsad_lib.get(e.id, compile=True).requires_grad_(False)
        group["no_transcendentals"] = nsad_lib.SymbolicActivation(ablated_text, e.parameters, trainable=e.trainable, compile=True)
        for fn in group.values():  # compile outside the timed rounds
            run_once(fn, x0, grad, cpu)
        summary = summarize(round_robin(group, x0, grad, cpu, args.warmup, args.repeats), "GELU")
        rows[e.id] = {
            "formula": e.formula,
            "ablated_formula": ablated_text,
            "calls_fwd": dict(calls["fwd"]),
            "calls_bwd": dict(calls["bwd"]),
            **{n: round(v["ratio"], 3) for n, v in summary.items() if n != "GELU"},
            "iqr": {n: [round(v["ratio_q1"], 3), round(v["ratio_q3"], 3)] for n, v in summary.items() if n != "GELU"},
        }
    return rows


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "# Compiled activations without their transcendental functions (ablation)",
        "",
        (
            f"Run {report['created']} with `{report['command']}` ({report['seconds']} s). Machine: {m.get('cpu', '?')}, "
            f"torch {m.get('torch')} ({m.get('torch_threads')} threads); load average before {report['load_before']}, "
            f"after {report['load_after']}."
        ),
        "",
        (
            f"Forward+backward with `compile=True` on a 4096x1024 float32 input, as a ratio to built-in GELU's "
        f"forward+backward in the same round (median of {report['repeats']} rounds). Calls: transcendental "
        "functions evaluated per element (the backward recomputes from the saved input). Frozen: constants' "
        "`requires_grad` off, so no parameter-gradient sums. Ablated: every transcendental `g(u)` replaced by "
        "`u**2`, same kernels otherwise. Allocator: "
            + ("glibc keeps freed memory (no page faults)." if report.get("allocator") == "reuse" else "the system's malloc as configured.")
        ),
        "",
        "| entry | calls fwd | calls bwd | compiled | frozen | ablated |",
        "|---|---|---|---:|---:|---:|",
    ]

    def fmt_calls(c: dict[str, int]) -> str:
        return ", ".join(f"{n}x {op}" if n > 1 else op for op, n in sorted(c.items())) or "–"

    for eid, r in report["entries"].items():
        frozen = f"{r['frozen']:.2f}" if "frozen" in r else "–"
        lines.append(
            f"| {eid} | {fmt_calls(r['calls_fwd'])} | {fmt_calls(r['calls_bwd'])} | {r['compiled']:.2f} | {frozen} | {r['no_transcendentals']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's own)")
    ap.add_argument("--repeats", type=int, default=15, help="timed rounds")
    ap.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    ap.add_argument("--entries", nargs="*", help="registry ids (default: all with a transcendental function)")
    ap.add_argument("--allocator", choices=("system", "reuse"), default="reuse", help="as in benchmarks/activation.py (default: reuse)")
    ap.add_argument("--out", type=Path, help="results path without suffix (default benchmarks/out/compiled_ablation*)")
    ap.add_argument("--update-results", action="store_true", help=UPDATE_HELP)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.allocator == "reuse":
        reuse_freed_memory()
    out = output_stem("compiled_ablation" + (f"_{args.threads}thread" if args.threads else ""), args.out, args.update_results)
    started = time.perf_counter()
    report: dict[str, Any] = {
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(["python benchmarks/compiled_ablation.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine(torch.device("cpu")),
        "load_before": load_average(),
        "repeats": args.repeats,
        "allocator": args.allocator,
    }
    report["entries"] = measure(args)
    report["load_after"] = load_average()
    report["seconds"] = round(time.perf_counter() - started, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    text = markdown(report)
    out.with_suffix(".md").write_text(text)
    print(text)
    print(f"wrote {out.with_suffix('.json')}, {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
