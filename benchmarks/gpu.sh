#!/usr/bin/env bash
# The activation benchmark on a CUDA GPU, in one short run (a few minutes on a recent GPU).
#
#   bash benchmarks/gpu.sh            # from the repository root, with the project installed
#
# Same measurements as the CPU run (benchmarks/activation.py), on CUDA: timing uses
# torch.cuda.synchronize() around each call, and peak memory of forward+backward comes from
# torch.cuda.max_memory_allocated(). Sizes: the 4096x1024 table plus a sweep from 64K to 64M
# elements (float32; 64M elements = 256 MiB per tensor). Writes benchmarks/out/activation_cuda.{json,md}
# and benchmarks/out/perf_time_vs_size_cuda.png (untracked); `bash benchmarks/gpu.sh --update-results`
# refreshes the committed benchmarks/results/activation_cuda.* and docs/img/perf_time_vs_size_cuda.png.
# Import/get timings are left to the CPU run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
"$PY" - <<'PY'
import torch, sys
if not torch.cuda.is_available():
    sys.exit("gpu.sh: torch.cuda.is_available() is False (CPU-only torch build or no GPU)")
print("GPU:", torch.cuda.get_device_name(0), "torch", torch.__version__, "CUDA", torch.version.cuda)
PY
# 20 timed rounds after 5 warm-up rounds: GPU kernels here take microseconds to milliseconds, so
# the run is dominated by torch.compile's compile time (one forward and one backward kernel per
# entry, plus one dynamic-shape recompile for the sweep).
timeout 290 "$PY" benchmarks/activation.py --device cuda --repeats 20 --warmup 5 \
  --sizes 65536,262144,1048576,4194304,16777216,67108864 --max-gib 24 "$@"
