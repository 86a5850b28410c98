"""What a user feels: one training epoch of the paper's networks with each activation.

The paper's Light network (d-64-32-1, the activation at both hidden layers) and its Heavy
network shape (d-200-100-1, BatchNorm, Dropout 0.3; here with the activation under test in
place of ReLU) are trained for one epoch on 80,000 x 54 standardised rows (synthetic, the
shape of the forest cover data), batch 1024, Adam, BCE, exactly the loop of
:func:`nsad_lib.training.protocol.fit_model`. For every bundled registry entry (eager, default
settings: ``nsad_lib.get(id)`` as the protocol builds it) the epoch time is divided by ReLU's
(and GELU's) epoch time *in the same round*; each round times every activation once in a
rotating order, and a ratio is the median over rounds (warm-up rounds dropped). Runs at 1 and
2 torch threads, one after the other, in one process.

    python benchmarks/training.py            # full run: 5 rounds, 1 and 2 threads (~5-10 min, 2 cores)
    python benchmarks/training.py --quick    # 20,000 rows, 3 rounds, 1 thread (< 1 min)
    python benchmarks/training.py --networks light --threads 1 --entries gelu-v1 forest-v1
    python benchmarks/training.py --threads 1 --floor   # + hand-written eager floors (benchmarks/_floor.py)
    python benchmarks/training.py --tanh --threads 1 2   # the eager float32 tanh kernels side by side
    python benchmarks/training.py --kernels --threads 1 2   # sin/cos/tan/tanh/exp/log: library vs torch
    python benchmarks/training.py --markdown-from benchmarks/results/training.json   # rewrite the table only

Results: benchmarks/out/training.{json,md} (``--quick``: training_quick.*), untracked;
``--update-results`` writes the committed benchmarks/results/training*.{json,md}.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _paths import UPDATE_HELP, output_stem  # noqa: E402

from nsad_lib.registry.store import list_entries  # noqa: E402
from nsad_lib.training.protocol import activation_factory, light_model  # noqa: E402

Factory = Callable[[], nn.Module]
REFERENCES = ("relu", "gelu")
TARGET = 1.2  # issue 20: Light/Heavy epoch with each bundled entry at most 1.2x ReLU's (1 thread)


def heavy_network(d: int, act: Factory) -> nn.Sequential:
    """The Heavy network's shape (paper: ReLU) with ``act`` at both hidden layers."""
    return nn.Sequential(
        nn.Linear(d, 200), nn.BatchNorm1d(200), act(), nn.Dropout(0.3),
        nn.Linear(200, 100), nn.BatchNorm1d(100), act(), nn.Dropout(0.3),
        nn.Linear(100, 1), nn.Sigmoid(),
    )


def build(network: str, d: int, act: Factory) -> nn.Module:
    return light_model(d, act) if network == "light" else heavy_network(d, act)


def synthetic(rows: int, d: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardised features and a binary label that depends on them (a logistic model)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(rows, d, generator=g)
    w = torch.randn(d, generator=g) / d**0.5
    y = (torch.rand(rows, generator=g) < torch.sigmoid(X @ w + 0.3 * torch.sin(3 * X[:, 0]))).float().reshape(-1, 1)
    return X, y


class Trainer:
    """One model + Adam; :meth:`epoch` runs fit_model's inner loop once and returns its time."""

    def __init__(self, network: str, act: Factory, X: torch.Tensor, y: torch.Tensor, batch: int, seed: int) -> None:
        torch.manual_seed(seed)
        self.model = build(network, X.shape[1], act).to(X.device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss = nn.BCELoss()
        self.X, self.y, self.batch = X, y, batch
        self.generator = torch.Generator().manual_seed(seed)

    def epoch(self) -> float:
        model, opt, loss_fn, X, y, batch = self.model, self.opt, self.loss, self.X, self.y, self.batch
        model.train()
        start = time.perf_counter()
        order = torch.randperm(len(X), generator=self.generator).to(X.device)
        for begin in range(0, len(X), batch):
            idx = order[begin:begin + batch]
            if len(idx) < 2:
                continue
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(torch.nan_to_num(model(X[idx]), nan=0.5), y[idx])
            loss.backward()
            opt.step()
        if X.device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start


def measure(network: str, specs: list[str], X: torch.Tensor, y: torch.Tensor, args: argparse.Namespace) -> dict[str, Any]:
    from _floor import FLOORS

    trainers = {s: Trainer(network, FLOORS.get(s) or activation_factory(s), X, y, args.batch, args.seed) for s in specs}
    times: dict[str, list[float]] = {s: [] for s in specs}
    rounds = args.warmup + args.repeats
    for r in range(rounds):
        k = r % len(specs)
        for s in specs[k:] + specs[:k]:
            t = trainers[s].epoch()
            if r >= args.warmup:
                times[s].append(t)
    result: dict[str, Any] = {"epoch_s": {}, "ratio": {}}
    for s in specs:
        result["epoch_s"][s] = statistics.median(times[s])
        result["ratio"][s] = {
            ref: statistics.median(t / u for t, u in zip(times[s], times[ref])) for ref in REFERENCES
        }
        rel = sorted(t / u for t, u in zip(times[s], times["relu"]))
        result["ratio"][s]["relu_range"] = [rel[0], rel[-1]]
    return result


def time_kernels(kernels: dict[str, Callable[..., Any]], a: torch.Tensor, calls: int, repeats: int) -> dict[str, list[float]]:
    """Seconds per ``kernel(out, a)`` call of every kernel, one list entry per round: each round
    times every kernel once in a rotating order; the first round is a warm-up and not kept."""
    out = torch.empty_like(a)
    times: dict[str, list[float]] = {k: [] for k in kernels}
    names = list(kernels)
    for r in range(repeats + 1):
        for name in names[r % len(names):] + names[:r % len(names)]:
            start = time.perf_counter()
            for _ in range(calls):
                kernels[name](out, a)
            if r:
                times[name].append((time.perf_counter() - start) / calls)
    return times


def tanh_kernels(repeats: int) -> dict[str, Any]:
    """The eager float32 CPU ``tanh`` the library uses against ``torch.tanh`` and the earlier
    ``2*sigmoid(2x) - 1`` (fast, but not relatively accurate near 0), side by side in one
    process at the current thread count: median seconds per call over rotating rounds, and
    the worst error in float32 eps relative to float64 ``tanh`` over [-10, 10] and 1e-37..10."""
    from nsad_lib.nn.ops import INTO_OPS, scalar_like

    def sigmoid_form(out: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        torch.mul(a, 2.0, out=out)
        torch.sigmoid(out, out=out)
        return torch.add(scalar_like(-1.0, out), out, alpha=2.0, out=out)

    kernels: dict[str, Callable[..., Any]] = {
        "torch.tanh": lambda out, a: torch.tanh(a, out=out),
        "nsad_lib tanh": INTO_OPS["tanh"],
        "2*sigmoid(2x)-1": sigmoid_form,
    }
    tiny = torch.logspace(-37, 1, 200_001, dtype=torch.float64).float()
    x = torch.cat([torch.linspace(-10, 10, 1_000_001), tiny, -tiny])
    want = torch.tanh(x.double())
    eps = torch.finfo(torch.float32).eps
    report: dict[str, Any] = {"threads": torch.get_num_threads(), "max_rel_error_eps": {}, "seconds": {}, "ratio_to_torch_tanh": {}}
    for name, fn in kernels.items():
        rel = (fn(torch.empty_like(x), x).double() - want).abs() / want.abs().clamp_min(torch.finfo(torch.float32).tiny)
        report["max_rel_error_eps"][name] = float(rel.max()) / eps
    for shape, calls in (((1024, 64), 300), ((4096, 1024), 10)):
        a = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
        times = time_kernels(kernels, a, calls, repeats)
        key = f"{shape[0]}x{shape[1]}"
        report["seconds"][key] = {k: statistics.median(v) for k, v in times.items()}
        report["ratio_to_torch_tanh"][key] = {
            k: statistics.median(t / u for t, u in zip(v, times["torch.tanh"])) for k, v in times.items()
        }
    return report


UNARY_KERNELS = ("sin", "cos", "tan", "tanh", "exp", "log")


def unary_kernels(repeats: int) -> dict[str, Any]:
    """Each eager float32 CPU transcendental the library runs (``INTO_OPS``: numpy's SIMD loop
    where numpy has one) against torch's own, side by side in one process at the current thread
    count: median seconds per call over rotating rounds, the ratio to torch's kernel in the same
    round, and the worst error in float32 ulp against float64 (log: on (0, 1e4])."""
    import numpy as np

    from nsad_lib.nn.ops import INTO_OPS, numpy_simd

    report: dict[str, Any] = {"threads": torch.get_num_threads(), "numpy": np.__version__, "kernels": {}}
    grid = torch.cat([torch.linspace(-1e4, 1e4, 400_001), torch.linspace(-30, 30, 600_001)])
    for name in UNARY_KERNELS:
        reference = getattr(torch, name)
        pair: dict[str, Callable[..., Any]] = {"torch": lambda out, a, f=reference: f(a, out=out), "nsad_lib": INTO_OPS[name]}
        x = grid.abs() + 1e-3 if name == "log" else grid
        want = reference(x.double())
        finite = torch.isfinite(want) & (want.abs() < torch.finfo(torch.float32).max)
        ulp = torch.from_numpy(np.spacing(want[finite].abs().float().numpy())).double()
        entry: dict[str, Any] = {"numpy_simd": numpy_simd(name), "max_ulp": {}, "seconds": {}, "ratio_to_torch": {}}
        for k, fn in pair.items():
            entry["max_ulp"][k] = float(((fn(torch.empty_like(x), x).double()[finite] - want[finite]).abs() / ulp).max())
        for shape, calls in (((1024, 64), 300), ((4096, 1024), 10)):
            a = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
            a = a.abs() + 0.1 if name == "log" else a
            times = time_kernels(pair, a, calls, repeats)
            key = f"{shape[0]}x{shape[1]}"
            entry["seconds"][key] = {k: statistics.median(v) for k, v in times.items()}
            entry["ratio_to_torch"][key] = statistics.median(t / u for t, u in zip(times["nsad_lib"], times["torch"]))
        report["kernels"][name] = entry
    return report


def kernel_report(measure: Callable[[int], dict[str, Any]], threads: list[int], repeats: int) -> dict[str, Any]:
    """``measure(repeats)`` at each torch thread count, with the machine and its load before and after."""
    report: dict[str, Any] = {"date": _dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(),
                              "load_before": load(), "runs": {}}
    for n in threads:
        torch.set_num_threads(n)
        report["runs"][str(n)] = measure(repeats)
    report["load_after"] = load()
    return report


def machine() -> dict[str, Any]:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version()}


def load() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# One training epoch, ratio to ReLU (and GELU) in the same round",
        "",
        f"{report['rows']:,} x {report['features']} rows, batch {report['batch']}, Adam, BCE; median of "
        f"{report['repeats']} rotating rounds after {report['warmup']} warm-up; {report['machine']['cpu']}, "
        f"torch {report['machine']['torch']}; load average {report['load_before']} -> {report['load_after']}.",
        "",
        f"Acceptance (issue 20): each bundled entry's epoch at most {TARGET}x ReLU's at 1 thread, eager, default "
        "settings (the last column; at other thread counts it is shown for reference only).",
        "",
    ]
    for key, res in report["runs"].items():
        network, threads = key.split("@")
        relu = res["epoch_s"]["relu"]
        lines += [f"## {network}, {threads} thread(s): ReLU epoch {relu * 1000:.0f} ms", "",
                  f"| activation | / ReLU | (min-max) | / GELU | epoch ms | <= {TARGET}x ReLU |", "|---|---:|---:|---:|---:|---|"]
        for s, ratio in res["ratio"].items():
            lo, hi = ratio["relu_range"]
            reference = s in REFERENCES or s.startswith("floor:")
            ok = "(reference)" if reference else ("yes" if ratio["relu"] <= TARGET else "**no**")
            lines.append(f"| {s} | {ratio['relu']:.2f} | {lo:.2f}-{hi:.2f} | {ratio['gelu']:.2f} | "
                         f"{res['epoch_s'][s] * 1000:.0f} | {ok} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="20,000 rows, 3 rounds, 1 thread")
    ap.add_argument("--rows", type=int, help="rows (default 80,000; quick 20,000)")
    ap.add_argument("--features", type=int, default=54)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--repeats", type=int, help="timed rounds (default 5; quick 3)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, nargs="*", help="torch thread counts (default 1 2; quick 1)")
    ap.add_argument("--networks", nargs="*", default=["light", "heavy"], choices=["light", "heavy"])
    ap.add_argument("--entries", nargs="*", help="registry ids (default: every bundled entry)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (benchmarks/gpu.sh)")
    ap.add_argument("--out", type=Path, help="results stem (default benchmarks/out/training[_quick])")
    ap.add_argument("--update-results", action="store_true", help=UPDATE_HELP)
    ap.add_argument("--tanh", action="store_true",
                    help="only time the eager float32 tanh kernels side by side (1024x64, 4096x1024)")
    ap.add_argument("--kernels", action="store_true",
                    help="only time the eager float32 sin/cos/tan/tanh/exp/log kernels against torch's (1024x64, 4096x1024)")
    ap.add_argument("--floor", action="store_true",
                    help="also time hand-written eager versions of spambase-v1 and forest-v1 (benchmarks/_floor.py)")
    ap.add_argument("--markdown-from", type=Path, metavar="JSON",
                    help="only rewrite the .md beside a results .json from it (no measuring)")
    args = ap.parse_args(argv)
    if args.markdown_from:
        args.markdown_from.with_suffix(".md").write_text(markdown(json.loads(args.markdown_from.read_text())))
        print(f"wrote {args.markdown_from.with_suffix('.md')}")
        return 0
    if args.kernels or args.tanh:
        stem_name, kernels = ("training_kernels", unary_kernels) if args.kernels else ("training_tanh", tanh_kernels)
        report = kernel_report(kernels, args.threads or [1], args.repeats or 7)
        stem = output_stem(stem_name, args.out, args.update_results)
        stem.parent.mkdir(parents=True, exist_ok=True)
        stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
        if not args.kernels:
            print(json.dumps(report["runs"], indent=1))
            return 0
        for n, run in report["runs"].items():
            for name, e in run["kernels"].items():
                print(f"{n} thread(s) {name:5s} numpy SIMD {e['numpy_simd']!s:5s} ratio to torch "
                      + ", ".join(f"{k} {v:.2f}" for k, v in e["ratio_to_torch"].items())
                      + f"; max ulp torch {e['max_ulp']['torch']:.2f}, nsad_lib {e['max_ulp']['nsad_lib']:.2f}")
        return 0
    args.rows = args.rows or (20_000 if args.quick else 80_000)
    args.repeats = args.repeats or (3 if args.quick else 5)
    threads = args.threads or ([1] if args.quick else [1, 2])
    entries = args.entries or [e.id for e in list_entries()]
    specs = [*REFERENCES, *[e for e in entries if e not in REFERENCES]]
    if args.floor:
        if args.device != "cpu":
            ap.error("--floor: the hand-written floors are float32 CPU code (numpy's kernels)")
        from _floor import FLOORS

        specs += list(FLOORS)
    X, y = synthetic(args.rows, args.features, args.seed)
    X, y = X.to(args.device), y.to(args.device)
    report: dict[str, Any] = {
        "date": _dt.datetime.now().isoformat(timespec="seconds"), "machine": machine(), "load_before": load(),
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu", "threads": threads,
        "rows": args.rows, "features": args.features, "batch": args.batch, "repeats": args.repeats,
        "warmup": args.warmup, "runs": {},
    }
    for n in threads:
        torch.set_num_threads(n)
        for network in args.networks:
            res = measure(network, specs, X, y, args)
            report["runs"][f"{network}@{n}"] = res
            worst = max((r["relu"], s) for s, r in res["ratio"].items() if s not in REFERENCES and not s.startswith("floor:"))
            print(f"{network}, {n} thread(s): ReLU {res['epoch_s']['relu'] * 1000:.0f} ms; GELU {res['ratio']['gelu']['relu']:.2f}x; "
                  f"worst entry {worst[1]} {worst[0]:.2f}x", flush=True)
            for s, r in res["ratio"].items():
                print(f"  {s:28s} {r['relu']:.2f}x ReLU  {r['gelu']:.2f}x GELU", flush=True)
    report["load_after"] = load()
    name = "training_quick" if args.quick else "training"
    stem = output_stem(name if args.device == "cpu" else f"{name}_{args.device}", args.out, args.update_results)
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    stem.with_suffix(".md").write_text(markdown(report))
    print(f"wrote {stem}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
