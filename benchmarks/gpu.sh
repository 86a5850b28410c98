#!/usr/bin/env bash
# Issue 20's GPU run, in one short script (budget: under 5 minutes on a CUDA machine).
#
#   bash benchmarks/gpu.sh                    # from the repository root, with the project installed
#   bash benchmarks/gpu.sh --update-results   # write the committed benchmarks/results/ copies
#
# 1. Bandwidth of the compiled activation (compile=True) on 16M and 64M float32 elements: the
#    forward (reads x, writes f: 8 bytes/element) and the backward (reads x and the incoming
#    gradient, writes the input's gradient: 12 bytes/element), in GB/s and as a share of the
#    device's peak (from its memory clock and bus width; torch.clone's bandwidth beside it as
#    the achievable reference). Timed with CUDA events, median of 20 after 5 warm-up calls.
# 2. One epoch of the Light and Heavy networks per bundled entry against ReLU and GELU
#    (benchmarks/training.py --device cuda, 3 rotating rounds).
#   bash benchmarks/gpu.sh --dry-run          # the same code on the CPU, tiny sizes, two entries (~1 min):
#                                             # checks the script before scarce GPU minutes are spent
# Writes benchmarks/out/gpu_bandwidth.{json,md} and training_cuda.{json,md} (untracked) unless
# --update-results (a dry run writes benchmarks/out/gpu_dry_run/). Nothing here has been run on a
# GPU yet: docs/performance.md quotes no GPU figure.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
DEST="benchmarks/out"
EXTRA=()
DRY=0
if [[ "${1:-}" == "--update-results" ]]; then DEST="benchmarks/results"; EXTRA=(--update-results); fi
if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; DEST="${GPU_DRY_RUN_OUT:-benchmarks/out/gpu_dry_run}"; fi
mkdir -p "$DEST"
timeout 170 "$PY" - "$DEST" "$DRY" <<'PY'
import json, statistics, sys, time
import torch
import torch.nn.functional as F
import nsad_lib
from nsad_lib.registry.store import list_entries

dest, dry = sys.argv[1], sys.argv[2] == "1"
if not dry and not torch.cuda.is_available():
    sys.exit("gpu.sh: torch.cuda.is_available() is False (CPU-only torch build or no GPU)")
device = "cpu" if dry else "cuda"
if dry:
    name, peak, sizes, entries = "CPU (dry run)", None, (1 << 12, 1 << 14), ["gelu-v1", "forest-v1"]
else:
    props = torch.cuda.get_device_properties(0)
    clock_khz, bus_bits = getattr(props, "memory_clock_rate", 0), getattr(props, "memory_bus_width", 0)
    peak = 2 * clock_khz * 1e3 * bus_bits / 8 / 1e9 if clock_khz and bus_bits else None  # GB/s (DDR)
    name, sizes, entries = props.name, (1 << 24, 1 << 26), [e.id for e in list_entries()]
print(f"device: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}, peak {peak or 'unknown'} GB/s", flush=True)


def timed(fn, reps=20, warm=5):
    for _ in range(warm):
        fn()
    times = []
    for _ in range(reps):
        if dry:
            start = time.perf_counter(); fn(); times.append(time.perf_counter() - start)
            continue
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); torch.cuda.synchronize()
        times.append(a.elapsed_time(b) / 1e3)
    return statistics.median(times)


rows, report = [], {"device": name, "torch": torch.__version__, "peak_GBps": peak, "sizes": {}}
for n in sizes:
    x = torch.randn(n, device=device)
    g = torch.randn(n, device=device)
    copy = timed(lambda: x.clone())
    size = {"clone_GBps": 8 * n / copy / 1e9, "entries": {}}
    fns = {"gelu (built-in)": F.gelu, **{e: nsad_lib.get(e, trainable=False, compile=True) for e in entries}}
    for name, fn in fns.items():
        xr = x.detach().requires_grad_()
        fwd = timed(lambda: fn(x))
        y = fn(xr)
        bwd = timed(lambda: torch.autograd.grad(y, xr, g, retain_graph=True))
        gbf, gbb = 8 * n / fwd / 1e9, 12 * n / bwd / 1e9
        size["entries"][name] = {"fwd_GBps": gbf, "bwd_GBps": gbb}
        pct = (lambda v: f"{100 * v / peak:.0f}%") if peak else (lambda v: "-")
        rows.append(f"| {n:,} | {name} | {gbf:.0f} | {pct(gbf)} | {gbb:.0f} | {pct(gbb)} |")
        print(rows[-1], flush=True)
        del y
    report["sizes"][n] = size
md = [f"# Compiled activation bandwidth on {name}", "", f"peak {peak and round(peak)} GB/s; clone: "
      + ", ".join(f"{v['clone_GBps']:.0f} GB/s at {k:,}" for k, v in report["sizes"].items()), "",
      "| elements | entry | fwd GB/s | % peak | bwd GB/s | % peak |", "|---:|---|---:|---:|---:|---:|", *rows, ""]
open(f"{dest}/gpu_bandwidth.json", "w").write(json.dumps(report, indent=1) + "\n")
open(f"{dest}/gpu_bandwidth.md", "w").write("\n".join(md))
PY
if [[ "$DRY" == 1 ]]; then
  timeout 120 "$PY" benchmarks/training.py --device cpu --rows 4096 --repeats 1 --warmup 0 --threads 1 \
    --networks light heavy --entries spambase-v1 forest-v1 --out "$DEST/training_cpu"
else
  timeout 120 "$PY" benchmarks/training.py --device cuda --repeats 3 --threads 1 "${EXTRA[@]}"
fi
