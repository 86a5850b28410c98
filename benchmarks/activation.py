"""Speed and memory of registry activations against torch's built-in ones, side by side.

For every registry entry, on a 4096x1024 float32 tensor, this measures the forward (with
autograd recording, as in training) and forward+backward time and the tensors saved for the
backward, for:

  (a) eager      nsad-lib's SymbolicActivation (custom autograd.Function, saves one tensor; for
                 the entries get() maps to a torch built-in, the formula's own program, builtin=False)
  (b) compiled   the same with ``compile=True`` (torch.compile; compile time excluded, reported)
  (c) composed   the formula as plain composed torch ops under autograd, node by node, as a
                 sympy-to-torch converter such as sympytorch builds it (benchmarks/_naive.py)
  (d) builtin    the ``torch.nn.functional`` op, where one computes the same function

Every number is a ratio against ``torch.nn.functional.gelu`` timed in the same round-robin
(each round times every variant once, in a rotating order; a ratio is the median over rounds
of time / GELU's time in that round; warm-up rounds are dropped). A size sweep (64K to 64M
elements) times forward+backward of a few formulas; a plot shows time against size.

    python benchmarks/activation.py            # full run (several minutes on 2 CPU cores)
    python benchmarks/activation.py --quick    # CI-sized (< 60 s): fewer rounds, sweep to 1M,
                                               # (b) for two formulas only
    python benchmarks/activation.py --allocator reuse   # glibc keeps freed memory: no page faults
    python benchmarks/activation.py --device cuda   # see benchmarks/gpu.sh

Results: benchmarks/out/activation.{json,md} (``--quick``: activation_quick.{json,md}; full runs
also perf_time_vs_size.png), untracked. ``--update-results`` refreshes the committed
benchmarks/results/activation*.{json,md} and docs/img/perf_time_vs_size.png instead.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _naive import NaiveComposed, count_ops  # noqa: E402
from _paths import UPDATE_HELP, output_stem  # noqa: E402

import nsad_lib  # noqa: E402
from nsad_lib.nn.activation import SymbolicActivation  # noqa: E402
from nsad_lib.registry.store import list_entries  # noqa: E402

Fn = Callable[[torch.Tensor], torch.Tensor]

#: Registry names that a torch.nn.functional op computes exactly (checked numerically too).
BUILTINS: dict[str, Fn] = {"gelu": F.gelu, "silu": F.silu, "relu": F.relu}

VARIANTS = ("eager", "compiled", "composed", "builtin")
OPTIONAL = ("sympytorch",)

TARGET_COMPILED = 1.5  # compiled fwd+bwd at most 1.5x built-in GELU
TARGET_EAGER_SPEEDUP = 2.0  # eager fwd+bwd at least 2x faster than composed (3+ operations)


# -- environment ---------------------------------------------------------------------------
def machine(device: torch.device) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "nsad_lib": nsad_lib.__version__,
        "platform": platform.platform(),
        "device": str(device),
    }
    try:
        info["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


#: glibc ``mallopt`` parameters (malloc.h): M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3


def reuse_freed_memory() -> None:
    """Make glibc's malloc keep and reuse freed memory instead of returning it to the OS.

    With glibc's defaults a 16 MiB tensor freed at the top of the heap can be given back to
    the OS, and the next allocation faults its pages in again (about 1 us per 4 KiB page, zeroed).
    Which variant pays for those faults then depends on which one ran before it: built-in
    GELU's own forward+backward was measured at 8 ms after itself and 20 ms after another
    variant. Raising the trim and mmap thresholds (what jemalloc or tcmalloc, the allocators
    recommended for PyTorch CPU training, do by design) leaves every variant its own
    steady-state cost: compute and memory traffic, no page faults.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError) as exc:
        raise SystemExit(f"--allocator reuse needs glibc's mallopt (Linux); not available here ({exc}); use --allocator system") from exc
    settings = ((_M_TRIM_THRESHOLD, 2**31 - 1), (_M_TOP_PAD, 256 << 20), (_M_MMAP_THRESHOLD, 32 << 20))
    if not all(mallopt(param, value) == 1 for param, value in settings):
        raise SystemExit("--allocator reuse: the C library's mallopt refused the settings (not glibc?); use --allocator system")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# -- the things measured --------------------------------------------------------------------
def builtin_for(entry: Any, device: torch.device) -> Fn | None:
    """The built-in op for an entry, if one computes the same function (checked on a grid)."""
    fn = BUILTINS.get(entry.name)
    if fn is None:
        return None
    x = torch.linspace(-8, 8, 4001, device=device)
    ref = nsad_lib.get(entry.id).to(device)
    with torch.no_grad():
        if not torch.allclose(fn(x), ref(x), rtol=1e-5, atol=1e-5):
            return None
    return fn


def sympytorch_for(entry: Any, device: torch.device) -> Fn | None:
    """The formula through sympytorch itself, when that package is installed (optional)."""
    try:
        import sympy as sp
        import sympytorch  # type: ignore[import-not-found]
    except ImportError:
        return None
    from nsad_lib.formula.functions import sigmoid, softplus

    formula = entry.formula_object()
    expr = formula.substituted()
    expr = expr.xreplace({s: sp.Symbol(s.name) for s in expr.free_symbols})
    try:
        module = sympytorch.SymPyModule(expressions=[expr], extra_funcs={sigmoid: torch.sigmoid, softplus: F.softplus}).to(device)
        module(x=torch.zeros(2, device=device))
    except Exception:  # noqa: BLE001 - an op sympytorch lacks: leave the column empty
        return None
    return lambda x: module(x=x).squeeze(-1)


def program_module(entry: Any, compile: bool = False) -> torch.nn.Module:
    """``get(id)``, or for an entry that ``get`` maps to a torch built-in (relu-v1, gelu-v1,
    silu-v1: column (d) times that built-in) the same formula through the library's own program."""
    act = nsad_lib.get(entry.id, compile=compile)
    if getattr(act, "_builtin", None) is None:
        return act
    return SymbolicActivation(act.formula, compile=compile, name=entry.id, builtin=False)


def variants_for(entry: Any, device: torch.device, compile: bool) -> dict[str, Fn]:
    out: dict[str, Fn] = {"eager": program_module(entry).to(device)}
    if compile:
        out["compiled"] = program_module(entry, compile=True).to(device)
    out["composed"] = NaiveComposed(entry.formula_object()).to(device)
    builtin = builtin_for(entry, device)
    if builtin is not None:
        out["builtin"] = builtin
    st = sympytorch_for(entry, device)
    if st is not None:
        out["sympytorch"] = st
    return out


def passes(fn: Fn, x0: torch.Tensor, grad: torch.Tensor) -> dict[str, float]:
    """Elementwise work of one forward / backward, in passes over the input (CPU, eager only).

    Counts the elements written by every non-view aten op under a dispatch mode, divided by
    the input's size: a kernel that reads x and writes y is one pass. Compiled variants run
    inductor kernels that bypass the dispatcher (their count is reported separately).
    """
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    skip = {"empty", "empty_like", "empty_strided", "detach", "alias", "zeros", "lift_fresh", "_to_copy"}

    class Count(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.elements = 0

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            if not getattr(func, "is_view", False) and func.overloadpacket.__name__ not in skip:
                for t in tree_flatten(out)[0]:
                    if isinstance(t, torch.Tensor) and t.numel() > 1:
                        self.elements += t.numel()
            return out

    x = x0.detach().cpu().requires_grad_(True)
    g = grad.detach().cpu()
    with Count() as fwd:
        y = fn(x)
    with Count() as bwd:
        y.backward(g)
    n = x.numel()
    return {"fwd": round(fwd.elements / n, 2), "bwd": round(bwd.elements / n, 2)}


def run_once(fn: Fn, x0: torch.Tensor, grad: torch.Tensor | None, device: torch.device) -> float:
    """Seconds for one forward (grad recorded) or forward+backward when ``grad`` is given."""
    x = x0.detach().requires_grad_(True)
    sync(device)
    start = time.perf_counter()
    y = fn(x)
    if grad is not None:
        y.backward(grad)
    sync(device)
    return time.perf_counter() - start


def round_robin(fns: dict[str, Fn], x0: torch.Tensor, grad: torch.Tensor | None, device: torch.device, warmup: int, repeats: int) -> dict[str, list[float]]:
    """Times per variant; each round runs every variant once, starting at a rotating offset."""
    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(warmup + repeats):
        order = names[r % len(names):] + names[: r % len(names)]
        for n in order:
            t = run_once(fns[n], x0, grad, device)
            if r >= warmup:
                times[n].append(t)
    return times


def summarize(times: dict[str, list[float]], ref: str) -> dict[str, dict[str, float]]:
    """Median time and median per-round ratio to ``ref`` (rounds pair up by index)."""
    out: dict[str, dict[str, float]] = {}
    for n, ts in times.items():
        ratios = [t / r for t, r in zip(ts, times[ref])]
        q = statistics.quantiles(ratios, n=4) if len(ratios) >= 4 else [min(ratios), 0, max(ratios)]
        out[n] = {
            "median_ms": statistics.median(ts) * 1e3,
            "ratio": statistics.median(ratios),
            "ratio_q1": q[0],
            "ratio_q3": q[-1],
        }
    return out


def saved_for_backward(fn: Fn, x0: torch.Tensor) -> dict[str, Any]:
    """Tensors autograd keeps for the backward of ``fn`` (unique storages), in input sizes."""
    seen: dict[tuple[int, str], int] = {}
    x = x0.detach().requires_grad_(True)

    def pack(t: torch.Tensor) -> torch.Tensor:
        if isinstance(t, torch.Tensor):
            storage = t.untyped_storage()
            seen[(storage.data_ptr(), str(t.device))] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = fn(x)
    y.backward(torch.ones_like(y))
    input_bytes = x0.numel() * x0.element_size()
    tensors = [b for b in seen.values() if b > 64]  # 0-dim parameters and buffers counted apart
    return {
        "tensors": len(tensors),
        "scalars": len(seen) - len(tensors),
        "bytes": sum(seen.values()),
        "input_sizes": round(sum(seen.values()) / input_bytes, 3),
    }


def peak_memory(fn: Fn, x0: torch.Tensor, grad: torch.Tensor, device: torch.device) -> float | None:
    """Peak extra device memory of one forward+backward, in input sizes (CUDA only)."""
    if device.type != "cuda":
        return None
    gc.collect()
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    run_once(fn, x0, grad, device)
    peak = torch.cuda.max_memory_allocated(device) - base
    return round(peak / (x0.numel() * x0.element_size()), 3)


def dynamo_graphs() -> int:
    from torch._dynamo.utils import counters

    return int(sum(counters["stats"].get(k, 0) for k in ("unique_graphs",)))


# -- the run ---------------------------------------------------------------------------------
def measure_entries(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    shape = (4096, 1024)
    gen = torch.Generator(device="cpu").manual_seed(0)
    x0 = torch.randn(shape, generator=gen).to(device)
    grad = torch.randn(shape, generator=gen).to(device)
    entries = [e for e in list_entries() if not args.entries or e.id in args.entries]
    results: dict[str, Any] = {}
    for entry in entries:
        print(f"  {entry.id}: {entry.formula_object().canonical}", flush=True)
        compile_this = not args.no_compile and (args.compile_entries is None or entry.id in args.compile_entries)
        fns = variants_for(entry, device, compile=compile_this)
        row: dict[str, Any] = {"formula": entry.formula_object().canonical, "ops": count_ops(entry.formula_object())}
        if "compiled" in fns:
            import torch._inductor.metrics as inductor_metrics

            compiled = fns["compiled"]
            inductor_metrics.reset()
            start = time.perf_counter()
            run_once(compiled, x0, grad, device)  # compiles forward and backward graphs
            row["compile_s"] = round(time.perf_counter() - start, 2)
            row["compiled_kernels"] = int(inductor_metrics.generated_kernel_count)
            run_once(compiled, x0, None, device)
            with torch.no_grad():
                eager_out = fns["eager"](x0)
                row["compiled_max_abs_diff"] = float((compiled(x0) - eager_out).abs().max())
        group = {"GELU": F.gelu, **fns}
        graphs_before = dynamo_graphs()
        timing = {}
        for mode, g in (("fwd", None), ("fwdbwd", grad)):
            timing[mode] = summarize(round_robin(group, x0, g, device, args.warmup, args.repeats), "GELU")
        row["recompiles_during_timing"] = dynamo_graphs() - graphs_before
        row["timing"] = timing
        row["saved"] = {n: saved_for_backward(fn, x0) for n, fn in group.items()}
        if device.type == "cpu":  # (CUDA runs the backward on another thread, which the count misses)
            row["passes"] = {n: passes(fn, x0, grad) for n, fn in group.items() if n != "compiled"}
        if device.type == "cuda":
            row["peak_memory_input_sizes"] = {n: peak_memory(fn, x0, grad, device) for n, fn in group.items()}
        results[entry.id] = row
        del fns, group
        gc.collect()
    return results


def measure_sweep(args: argparse.Namespace, device: torch.device, entries: dict[str, Any]) -> dict[str, Any]:
    ids = [i for i in args.sweep_entries if i in entries] or list(entries)[:1]
    by_id = {e.id: e for e in list_entries()}
    sweep: dict[str, Any] = {"entries": ids, "sizes": [], "mode": "fwdbwd", "skipped": []}
    fns: dict[str, Fn] = {"GELU": F.gelu}
    for i in ids:
        for name, fn in variants_for(by_id[i], device, compile=not args.no_compile).items():
            if name != "builtin":
                fns[f"{i}/{name}"] = fn
    limit = args.max_gib * 2**30
    for size in args.sizes:
        shape = (max(size // 1024, 1), min(size, 1024))
        gen = torch.Generator(device="cpu").manual_seed(1)
        x0 = torch.randn(shape, generator=gen).to(device)
        grad = torch.randn(shape, generator=gen).to(device)
        nbytes = x0.numel() * x0.element_size()
        group = {}
        for name, fn in fns.items():
            entry_id, _, variant = name.partition("/")
            saved = entries.get(entry_id, {}).get("saved", {}).get(variant or "builtin", {}).get("input_sizes", 1.0)
            # x, y, grad, x.grad, saved tensors and about two temporaries
            if (6 + saved) * nbytes > limit:
                sweep["skipped"].append({"variant": name, "elements": size, "reason": f"estimated memory over {args.max_gib} GiB"})
                continue
            group[name] = fn
        reps = max(3, min(args.repeats, int(args.repeats * 4 * 2**20 / size)))
        for name, fn in group.items():
            if name.endswith("/compiled"):
                run_once(fn, x0, grad, device)  # shape change: dynamic-shape recompile, once
        print(f"  {size:>10,d} elements, {reps} rounds", flush=True)
        times = round_robin(group, x0, grad, device, args.warmup, reps)
        sweep["sizes"].append({"elements": size, "shape": list(shape), "rounds": reps, "timing": summarize(times, "GELU")})
        del x0, grad
        gc.collect()
    return sweep


# -- reporting -------------------------------------------------------------------------------
def _fmt(v: float | None, digits: int = 2) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def targets(entries: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"compiled_fwdbwd_le_1.5x_gelu": {}, "eager_2x_faster_than_composed": {}, "saved_one_input_tensor": {}}
    for eid, row in entries.items():
        t = row["timing"]["fwdbwd"]
        if "compiled" in t:
            r = t["compiled"]["ratio"]
            out["compiled_fwdbwd_le_1.5x_gelu"][eid] = {"ratio": round(r, 3), "met": r <= TARGET_COMPILED}
        if row["ops"] >= 3:
            speedup = t["composed"]["ratio"] / t["eager"]["ratio"]
            out["eager_2x_faster_than_composed"][eid] = {"speedup": round(speedup, 3), "met": speedup >= TARGET_EAGER_SPEEDUP}
        for v in ("eager", "compiled"):
            if v in row["saved"]:
                s = row["saved"][v]
                out["saved_one_input_tensor"][f"{eid}/{v}"] = {"input_sizes": s["input_sizes"], "met": s["tensors"] == 1 and s["input_sizes"] <= 1.001}
    return out


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    entries = report["entries"]
    extra = [v for v in OPTIONAL if any(v in r["timing"]["fwdbwd"] for r in entries.values())]
    cols = (*VARIANTS, *extra)
    heads = {"eager": "(a) eager", "compiled": "(b) compiled", "composed": "(c) composed", "builtin": "(d) built-in", "sympytorch": "(c') sympytorch"}
    lines = [
        "# Activation benchmark",
        "",
        f"Run {report['created']} with `{report['command']}` ({report['seconds']} s).",
        "",
        f"Machine: {m['cpu']}, {m['cpu_count']} cores, {m.get('memory_gib', '?')} GiB, torch {m['torch']} "
        f"({m['torch_threads']} threads), device {m['device']}" + (f" ({m['gpu']})" if "gpu" in m else "")
        + f"; load average (1/5/15 min) before {report['load_before']}, after {report['load_after']}.",
        "",
        f"Input {report['shape'][0]}x{report['shape'][1]} {report['dtype']}; {report['repeats']} timed rounds after "
        f"{report['warmup']} warm-up rounds. Each number is the median over rounds of the variant's time divided by "
        f"built-in GELU's time in the same round (built-in GELU itself: forward {report['gelu_ms']['fwd']:.2f} ms, "
        f"forward+backward {report['gelu_ms']['fwdbwd']:.2f} ms, for scale only). Allocator: "
        + (
            "glibc set to keep and reuse freed memory (`--allocator reuse`: no page faults)."
            if report.get("allocator") == "reuse"
            else "the system's malloc as configured (freed memory may go back to the OS and fault in again)."
        ),
        "",
        "## Forward+backward time relative to built-in GELU",
        "",
        "| entry | ops | " + " | ".join(heads[c] for c in cols) + " | (c)/(a) | compile s |",
        "|---|---:|" + "---:|" * len(cols) + "---:|---:|",
    ]
    for eid, row in entries.items():
        t = row["timing"]["fwdbwd"]
        r = {v: t[v]["ratio"] if v in t else None for v in cols}
        speed = r["composed"] / r["eager"] if r["eager"] and r["composed"] else None
        lines.append(f"| {eid} | {row['ops']} | " + " | ".join(_fmt(r[c]) for c in cols) + f" | {_fmt(speed)} | {_fmt(row.get('compile_s'), 1)} |")
    lines += [
        "",
        "## Forward time (autograd recording) relative to built-in GELU",
        "",
        "| entry | " + " | ".join(heads[c] for c in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for eid, row in entries.items():
        t = row["timing"]["fwd"]
        lines.append(f"| {eid} | " + " | ".join(_fmt(t[v]["ratio"] if v in t else None) for v in cols) + " |")
    lines += [
        "",
        "## Saved for backward: tensors / bytes in input sizes",
        "",
        "| entry | " + " | ".join(heads[c] for c in cols) + " | GELU |",
        "|---|" + "---:|" * (len(cols) + 1),
    ]
    for eid, row in entries.items():
        sv = row["saved"]
        cell = lambda v: (f"{sv[v]['tensors']} / {sv[v]['input_sizes']:.2f}" + (f" (+{sv[v]['scalars']} scalars)" if sv[v]["scalars"] else "")) if v in sv else "–"  # noqa: E731
        lines.append(f"| {eid} | " + " | ".join(cell(v) for v in (*cols, "GELU")) + " |")
    lines += [
        "",
        "## Work: passes over the data (elements written by aten ops / input size), forward + backward",
        "",
        "Compiled variants run inductor kernels instead of aten ops; their column is the number of generated kernels.",
        "",
        "| entry | (a) eager | (b) compiled kernels | (c) composed | (d) built-in | GELU |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for eid, row in entries.items():
        ps = row.get("passes", {})
        cell = lambda v: f"{ps[v]['fwd']:g} + {ps[v]['bwd']:g}" if v in ps else "–"  # noqa: E731
        lines.append(f"| {eid} | {cell('eager')} | {row.get('compiled_kernels', '–')} | {cell('composed')} | {cell('builtin')} | {cell('GELU')} |")
    if any("peak_memory_input_sizes" in r for r in entries.values()):
        lines += ["", "## Peak device memory of forward+backward (input sizes)", "", "| entry | " + " | ".join(heads[c] for c in cols) + " | GELU |", "|---|" + "---:|" * (len(cols) + 1)]
        for eid, row in entries.items():
            pm = row.get("peak_memory_input_sizes", {})
            lines.append(f"| {eid} | " + " | ".join(_fmt(pm.get(v)) for v in (*cols, "GELU")) + " |")
    sweep = report.get("sweep")
    if sweep and sweep["sizes"]:
        names = list(sweep["sizes"][0]["timing"])
        lines += [
            "",
            "## Size sweep: forward+backward relative to built-in GELU at the same size",
            "",
            "| elements | rounds | " + " | ".join(names) + " |",
            "|---:|---:|" + "---:|" * len(names),
        ]
        for point in sweep["sizes"]:
            t = point["timing"]
            lines.append(f"| {point['elements']:,} | {point['rounds']} | " + " | ".join(_fmt(t[n]["ratio"] if n in t else None) for n in names) + " |")
        for sk in sweep["skipped"]:
            lines.append(f"\nSkipped {sk['variant']} at {sk['elements']:,} elements: {sk['reason']}.")
    lines += ["", "## Targets", ""]
    for name, res in report["targets"].items():
        met = all(v["met"] for v in res.values())
        detail = ", ".join(f"{k}: {v.get('ratio', v.get('speedup', v.get('input_sizes')))}{'' if v['met'] else ' (missed)'}" for k, v in res.items())
        lines.append(f"- {name}: {'met' if met else 'NOT met'} ({detail})")
    recompiles = {k: r["recompiles_during_timing"] for k, r in entries.items() if "recompiles_during_timing" in r}
    lines.append(f"- recompilations while timing (dynamo unique_graphs delta, want 0): {recompiles}")
    if "peak_rss_gib" in report:
        lines.append(f"- peak resident memory of the benchmark process: {report['peak_rss_gib']} GiB")
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = report["sweep"]
    names = list(sweep["sizes"][0]["timing"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for n in names:
        pts = [(p["elements"], p["timing"][n]) for p in sweep["sizes"] if n in p["timing"]]
        style = "k-" if n == "GELU" else ("--" if n.endswith("composed") else "-")
        ax1.plot([e for e, _ in pts], [t["median_ms"] for _, t in pts], style, marker="o", ms=3, label=n if n != "GELU" else "built-in GELU")
        ax2.plot([e for e, _ in pts], [t["ratio"] for _, t in pts], style, marker="o", ms=3, label=n if n != "GELU" else "built-in GELU")
    ax1.set(xscale="log", yscale="log", xlabel="elements", ylabel="forward+backward, ms (median)", title="time vs size")
    ax2.set(xscale="log", yscale="log", xlabel="elements", ylabel="time / built-in GELU (same run)", title="relative to built-in GELU")
    ax2.axhline(TARGET_COMPILED, color="grey", lw=0.8, ls=":")
    for ax in (ax1, ax2):
        ax.grid(True, which="both", alpha=0.3)
    ax2.legend(fontsize=7, loc="upper left")
    m = report["machine"]
    fig.suptitle(f"{m['device']}: {m['cpu'] if m['device'] == 'cpu' else m.get('gpu', '')}, torch {m['torch']}, {m['torch_threads']} threads", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def output_paths(args: argparse.Namespace, device_type: str, suffix: str) -> tuple[Path, Path | None]:
    """Results stem and plot path: untracked benchmarks/out/ unless --update-results (or --out/--plot)."""
    out = output_stem(f"activation{suffix}", args.out, args.update_results)
    if args.plot is not None:
        return out, args.plot
    if args.quick:
        return out, None
    name = f"perf_time_vs_size{'' if device_type == 'cpu' else '_' + device_type}.png"
    return out, (ROOT / "docs" / "img" / name if args.update_results else out.parent / name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="CI-sized run: 5 rounds, sweep up to 1M elements, no plot")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--repeats", type=int, help="timed rounds (default 15; quick 5)")
    ap.add_argument("--warmup", type=int, help="untimed rounds first (default 3; quick 2)")
    ap.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's own)")
    ap.add_argument(
        "--allocator",
        choices=("system", "reuse"),
        default="system",
        help="system: the C library's malloc as configured (default); reuse: glibc keeps freed memory, so no "
        "variant pays page faults for memory another one released (CPU, Linux; see reuse_freed_memory)",
    )
    ap.add_argument("--entries", nargs="*", help="registry ids (default: all)")
    ap.add_argument("--sweep-entries", nargs="*", default=["gelu-v1", "hajbi2026-higgs-fig-v1"])
    ap.add_argument("--sizes", type=lambda s: [int(float(v)) for v in s.split(",")], help="comma-separated element counts")
    ap.add_argument("--max-gib", type=float, default=6.0, help="skip sweep points estimated to need more memory")
    ap.add_argument("--no-compile", action="store_true", help="skip variant (b)")
    ap.add_argument("--compile-entries", nargs="*", help="time (b) only for these ids (default: all; quick: gelu-v1 and the Higgs figure formula)")
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--out", type=Path, help="results path without suffix (default benchmarks/out/activation[_quick])")
    ap.add_argument("--plot", type=Path, help="plot path (full runs: next to the results; with --update-results docs/img/perf_time_vs_size.png)")
    ap.add_argument("--update-results", action="store_true", help=UPDATE_HELP)
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: CUDA is not available")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.allocator == "reuse":
        if device.type != "cpu":
            ap.error("--allocator reuse applies to CPU runs (CUDA uses torch's caching allocator)")
        reuse_freed_memory()
    args.repeats = args.repeats or (5 if args.quick else 15)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    if args.sizes is None:
        top = 20 if args.quick else 26
        args.sizes = [2**k for k in range(16, top + 1, 2)]
    if args.quick:
        args.sweep_entries = args.sweep_entries[:1]
        if args.compile_entries is None:  # compiling costs ~3 s per formula on a cold cache
            args.compile_entries = ["gelu-v1", "hajbi2026-higgs-fig-v1"]
    suffix = ("_quick" if args.quick else "") + ("" if device.type == "cpu" else f"_{device.type}")
    out, plot_path = output_paths(args, device.type, suffix)

    started = time.perf_counter()
    report: dict[str, Any] = {
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(["python benchmarks/activation.py", *(sys.argv[1:] if argv is None else argv)]),
        "machine": machine(device),
        "load_before": load_average(),
        "shape": [4096, 1024],
        "dtype": "float32",
        "repeats": args.repeats,
        "warmup": args.warmup,
        "allocator": args.allocator,
    }
    print(f"entries on {device} ({report['machine']['torch_threads']} threads):", flush=True)
    report["entries"] = measure_entries(args, device)
    first = next(iter(report["entries"].values()))
    report["gelu_ms"] = {m: first["timing"][m]["GELU"]["median_ms"] for m in ("fwd", "fwdbwd")}
    if not args.no_sweep:
        print("size sweep:", flush=True)
        report["sweep"] = measure_sweep(args, device, report["entries"])
    report["targets"] = targets(report["entries"])
    report["load_after"] = load_average()
    report["seconds"] = round(time.perf_counter() - started, 1)
    try:
        import resource

        report["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    except ImportError:  # pragma: no cover - not on Windows
        pass
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    text = markdown(report)
    out.with_suffix(".md").write_text(text)
    if plot_path is not None and report.get("sweep", {}).get("sizes"):
        plot_path.parent.mkdir(parents=True, exist_ok=True)
        plot(report, plot_path)
    print(text)
    print(f"wrote {out.with_suffix('.json')}, {out.with_suffix('.md')}" + (f", {plot_path}" if plot_path else "") + f" in {report['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
