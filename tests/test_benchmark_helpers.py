"""The benchmarks' non-timing helpers: what they count and how they rewrite formulas.

Timing itself belongs in benchmarks/, not in tests; the functions that decide what a
benchmark measures are plain code and are checked here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import sympy as sp
import torch

import nsad_lib
from nsad_lib.formula.language import canonical

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import compiled_ablation as ablation  # noqa: E402  (benchmarks/ is not a package)


def test_transcendental_calls_count_the_backward_recomputation():
    # cos(a + b*tanh(x) + x): the forward evaluates tanh and cos; the backward, which only has
    # x, recomputes tanh and evaluates sin for every derivative (d/dx, d/da, d/db share it)
    calls = ablation.transcendental_calls(nsad_lib.get("forest-v1")._program)
    assert dict(calls["fwd"]) == {"tanh": 1, "cos": 1}
    assert dict(calls["bwd"]) == {"tanh": 1, "sin": 1}
    # cos(x) - cos(cos(x)): derivative -sin(x)*(1 + sin(cos(x))) recomputes cos(x)
    calls = ablation.transcendental_calls(nsad_lib.get("hajbi2026-higgs-fig-v1")._program)
    assert dict(calls["fwd"]) == {"cos": 2}
    assert dict(calls["bwd"]) == {"cos": 1, "sin": 2}
    # Max(0, x) has none
    calls = ablation.transcendental_calls(nsad_lib.get("relu-v1")._program)
    assert not calls["fwd"] and not calls["bwd"]


def test_without_transcendentals_keeps_the_structure():
    module = nsad_lib.get("forest-v1")
    expr = ablation.without_transcendentals(module.formula.expr)
    sym = {s.name: s for s in expr.free_symbols}
    a, b, x = sym["a"], sym["b"], sym["x"]
    assert sp.simplify(expr - (a + b * x**2 + x) ** 2) == 0
    assert not expr.atoms(sp.sin, sp.cos, sp.tanh)
    gated = ablation.without_transcendentals(nsad_lib.get("higgs-specialist-v2").formula.expr)
    sym = {s.name: s for s in gated.free_symbols}
    assert sp.simplify(gated - sym["x"] * (sym["a"] * sym["x"]) ** 2) == 0
    # the rewritten formula still parses and runs as an activation with the same constants
    act = nsad_lib.SymbolicActivation(canonical(expr), {"a": 0.5, "b": 2.0})
    out = act(torch.tensor([0.0, 1.0, -1.0]))
    assert torch.allclose(out, torch.tensor([0.25, 3.5**2, 1.5**2]))


def test_benchmarks_write_untracked_by_default_and_committed_results_only_on_request(tmp_path):
    import subprocess

    import _paths
    import activation  # noqa: E402  (benchmarks/activation.py)

    root = Path(__file__).resolve().parent.parent

    def paths(*argv: str):
        ap_args = activation.argparse.Namespace(out=None, plot=None, quick="--quick" in argv,
                                                update_results="--update-results" in argv)
        return activation.output_paths(ap_args, "cpu", "_quick" if "--quick" in argv else "")

    out, plot = paths("--quick")
    assert out == _paths.LOCAL / "activation_quick" and plot is None
    out, plot = paths()
    assert out == _paths.LOCAL / "activation" and plot == _paths.LOCAL / "perf_time_vs_size.png"
    out, plot = paths("--quick", "--update-results")
    assert out == root / "benchmarks" / "results" / "activation_quick"
    out, plot = paths("--update-results")
    assert plot == root / "docs" / "img" / "perf_time_vs_size.png"
    # the default destination is ignored by git, so a run leaves the tree clean
    probe = _paths.LOCAL / "activation_quick.json"
    in_git = subprocess.run(["git", "rev-parse", "--git-dir"], cwd=root, capture_output=True).returncode == 0
    if in_git:  # a source tarball has no git
        ignored = subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=root)
        assert ignored.returncode == 0, f"{probe} is not gitignored"
    assert _paths.output_stem("import_time", None, False) == _paths.LOCAL / "import_time"
    assert _paths.output_stem("x", tmp_path / "y", True) == tmp_path / "y"


def test_training_benchmark_runs_end_to_end_and_reports_ratios(tmp_path):
    # the epoch mode once failed before measuring anything (a name its kernel mode rebound)
    import json

    import training  # noqa: E402  (benchmarks/training.py)

    stem = tmp_path / "epoch"
    argv = ["--rows", "2048", "--repeats", "1", "--warmup", "0", "--networks", "light", "--threads", "1",
            "--entries", "spambase-v1", "--out", str(stem)]
    assert training.main(argv) == 0
    report = json.loads(stem.with_suffix(".json").read_text())
    ratios = report["runs"]["light@1"]["ratio"]
    assert set(ratios) == {"relu", "gelu", "spambase-v1"}
    assert ratios["relu"]["relu"] == 1.0 and ratios["spambase-v1"]["relu"] > 0
    assert "spambase-v1" in stem.with_suffix(".md").read_text()


def test_hand_written_floors_compute_the_registry_formulas():
    # benchmarks/_floor.py is only a fair floor if it computes what the library computes
    import _floor

    for spec, trainable in (("spambase-v1", False), ("forest-v1", True)):
        floor = _floor.FLOORS[f"floor:{spec}"]()
        lib = nsad_lib.get(spec, trainable=trainable)
        x = (torch.randn(512, 64, generator=torch.Generator().manual_seed(0)) * 2).requires_grad_()
        g = torch.randn(512, 64, generator=torch.Generator().manual_seed(1))
        got = floor(x)
        want = lib(x)
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
        got_grads = torch.autograd.grad(got, [x, *floor.parameters()], g)
        want_grads = torch.autograd.grad(want, [x, *lib.parameters()], g)
        assert len(got_grads) == len(want_grads) == (3 if trainable else 1)
        for a, b in zip(got_grads, want_grads):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-3)


def test_gpu_script_dry_run_on_the_cpu(tmp_path):
    # the GPU run gets a few scarce minutes when a device is lent: its code must work first time
    import os
    import subprocess

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHON": sys.executable, "GPU_DRY_RUN_OUT": str(tmp_path)}
    done = subprocess.run(["bash", "benchmarks/gpu.sh", "--dry-run"], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    bandwidth = json.loads((tmp_path / "gpu_bandwidth.json").read_text())
    assert set(bandwidth["sizes"]["4096"]["entries"]) == {"gelu (built-in)", "gelu-v1", "forest-v1"}
    epochs = json.loads((tmp_path / "training_cpu.json").read_text())
    assert set(epochs["runs"]) == {"light@1", "heavy@1"}
