"""Invariants behind the performance claims (no timing here: timing lives in benchmarks/).

- the training path saves exactly one input-sized tensor for every registry entry, eager and
  compiled, while plain composed ops save several;
- ``compile=True`` traces the custom autograd.Function without graph breaks into one forward
  and one backward kernel, does not recompile on a second call or for a second module of the
  same formula, and matches eager;
- the eager path does strictly less elementwise work than composed ops for larger formulas,
  and its buffer reuse / chunking gives the same values as plain ops;
- ``import nsad_lib`` stays light, and ``get()`` reuses parsed and compiled formulas.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

import nsad_lib
import nsad_lib.nn.executor as executor
import nsad_lib.nn.ops as torch_ops
from nsad_lib import SymbolicActivation
from nsad_lib.registry.store import list_entries

ALL_IDS = [e.id for e in list_entries()]
SEED_IDS = ["relu-v1", "gelu-v1", "silu-v1", "hajbi2026-higgs-readme-v1", "hajbi2026-higgs-fig-v1", "hajbi2026-spambase-fig-v1"]


def _saved(fn, x):
    """Unique storages autograd keeps for the backward of fn(x), with their sizes in bytes."""
    seen: dict[int, int] = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = fn(x)
    y.sum().backward()
    return seen


class _CountWrites(TorchDispatchMode):
    """Elements written by non-view aten ops (the elementwise work, in input sizes)."""

    SKIP = {"empty", "empty_like", "empty_strided", "detach", "alias", "zeros", "lift_fresh", "_to_copy"}

    def __init__(self):
        super().__init__()
        self.elements = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if not getattr(func, "is_view", False) and func.overloadpacket.__name__ not in self.SKIP:
            self.elements += sum(t.numel() for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor) and t.numel() > 1)
        return out


def _passes(fn, x):
    x = x.detach().requires_grad_(True)
    g = torch.ones_like(x)
    with _CountWrites() as count:
        fn(x).backward(g)
    return count.elements / x.numel()


# -- memory saved for backward -------------------------------------------------------------
@pytest.mark.parametrize("entry_id", ALL_IDS)
def test_eager_saves_one_input_sized_tensor_for_every_entry(entry_id):
    act = nsad_lib.get(entry_id)  # trainable entries keep their parameters trainable
    x = torch.randn(64, 33, requires_grad=True)
    saved = _saved(act, x)
    assert len(saved) == 1
    assert list(saved.values()) == [x.numel() * x.element_size()]


def test_composed_ops_save_several_tensors_for_a_three_op_formula():
    act = nsad_lib.get("hajbi2026-higgs-fig-v1")  # cos(x) - cos(cos(x))
    x = torch.randn(4096, requires_grad=True)
    assert len(_saved(act, x)) == 1
    composed = _saved(act.forward_composed, x)
    assert len(composed) >= 2 and sum(composed.values()) >= 2 * x.numel() * x.element_size()


# -- elementwise work ------------------------------------------------------------------------
@pytest.mark.parametrize("entry_id", ["gelu-v1", "hajbi2026-higgs-fig-v1", "hajbi2026-spambase-fig-v1"])
def test_eager_does_less_elementwise_work_than_composed_ops(entry_id):
    act = nsad_lib.get(entry_id)
    x = torch.randn(1 << 16)
    eager, composed = _passes(act, x), _passes(act.forward_composed, x)
    assert eager < composed, (eager, composed)


def test_backward_multiplies_by_the_gradient_in_place_without_extra_tensors():
    # cos(x) - cos(cos(x)) saves f' = -sin(x)*(1 + sin(cos(x))): forward cos, cos, sub, sin, sin,
    # addcmul (the final negation is left to the backward); backward one scaled multiply by the
    # incoming gradient: 6 + 1 passes
    act = nsad_lib.get("hajbi2026-higgs-fig-v1")
    assert _passes(act, torch.randn(1 << 16)) == 7


@pytest.mark.parametrize("threads_chunk", [1 << 12, 1 << 40])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
@pytest.mark.parametrize(
    "formula",
    [
        "a*x*sigmoid(b*x) - cos(x)*sin(a*x) + 0.5*pdiv(x, b)",
        # parameters as multiplicands of full tensors (1 + b*(1 - tanh(x)**2) runs as add with alpha)
        "cos(a + b*tanh(x) + x)",
    ],
)
def test_buffer_reuse_and_chunking_match_plain_ops(monkeypatch, threads_chunk, dtype, formula):
    monkeypatch.setattr(executor, "CHUNK_BYTES", threads_chunk)
    monkeypatch.setattr(executor, "CHUNK_BYTES_THREADED", threads_chunk)
    monkeypatch.setattr(executor, "SMALL_BYTES", 0)  # this small input takes the chunked path too
    act = SymbolicActivation(formula, {"a": 1.2, "b": -0.7}, trainable=True).to(dtype)
    n = 3 * 4096 + 17  # several chunks and a ragged last one when chunking is on
    x = (torch.rand(n, dtype=torch.float64) * 6 - 3).to(dtype).requires_grad_(True)
    g = torch.randn(n, dtype=torch.float64).to(dtype)
    act(x).backward(g)
    grads = [x.grad.clone(), act.a.grad.clone(), act.b.grad.clone()]
    x.grad = act.a.grad = act.b.grad = None
    act.forward_composed(x).backward(g)
    tol = {torch.float16: 1e-2, torch.float32: 1e-5, torch.float64: 1e-12}[dtype]
    torch.testing.assert_close(grads[0], x.grad, rtol=tol, atol=tol)
    torch.testing.assert_close(grads[1], act.a.grad, rtol=tol, atol=tol * n)
    torch.testing.assert_close(grads[2], act.b.grad, rtol=tol, atol=tol * n)
    with torch.no_grad():
        torch.testing.assert_close(act(x), act.forward_composed(x), rtol=tol, atol=tol)


def test_non_contiguous_and_broadcast_gradients():
    act = nsad_lib.get("hajbi2026-higgs-fig-v1")
    x = torch.randn(96, 64).t().requires_grad_(True)  # non-contiguous input
    act(x).sum().backward()  # expanded (stride-0) incoming gradient
    ref = x.detach().clone().requires_grad_(True)
    act.forward_composed(ref).sum().backward()
    torch.testing.assert_close(x.grad, ref.grad)


# -- torch.compile ---------------------------------------------------------------------------
def _dynamo_counters():
    from torch._dynamo.utils import counters

    return counters


@pytest.mark.parametrize("entry_id", ALL_IDS)
def test_compiled_matches_eager_and_saves_at_most_one_input(entry_id):
    compiled = nsad_lib.get(entry_id, compile=True)
    eager = nsad_lib.get(entry_id)
    x = torch.randn(32, 48, requires_grad=True)
    xr = x.detach().clone().requires_grad_(True)
    y, yr = compiled(x), eager(xr)
    torch.testing.assert_close(y, yr, rtol=1e-5, atol=1e-5)
    g = torch.randn_like(y)
    y.backward(g)
    yr.backward(g)
    torch.testing.assert_close(x.grad, xr.grad, rtol=1e-5, atol=1e-5)
    for p, pr in zip(compiled.parameters(), eager.parameters()):
        torch.testing.assert_close(p.grad, pr.grad, rtol=1e-4, atol=1e-4)
    saved = _saved(compiled, x.detach().requires_grad_(True))
    tensors = [b for b in saved.values() if b > 64]  # besides 0-dim parameters and buffers
    assert len(tensors) <= 1 and sum(tensors) <= x.numel() * x.element_size()


@pytest.mark.parametrize(
    "formula, parameters",
    [("x*sin(x) + 0.25*cos(3*x) - tanh(x)/3", None), ("cos(a + b*tanh(x) + x)", {"a": 0.5, "b": 1.5})],
    ids=["frozen", "trainable"],
)
def test_compile_has_no_graph_breaks_fuses_and_does_not_recompile(formula, parameters):
    # trainable constants: the backward also reads them (a check on the traced input's layout
    # there once broke the graph, and the compiled backward ran 2x slower)
    import torch._inductor.metrics as inductor_metrics

    counters = _dynamo_counters()
    counters.clear()
    inductor_metrics.reset()
    act = SymbolicActivation(formula, parameters, trainable=parameters is not None, compile=True)
    x = torch.randn(128, 64)

    def step():
        xi = x.clone().requires_grad_(True)
        act(xi).backward(torch.ones_like(xi))
        return xi.grad

    step()
    assert sum(counters["graph_break"].values()) == 0, dict(counters["graph_break"])
    assert counters["stats"]["unique_graphs"] == 1
    assert inductor_metrics.generated_kernel_count == 2  # one forward kernel, one backward kernel
    step()
    twin = SymbolicActivation(formula, parameters, trainable=parameters is not None, compile=True)  # same formula
    xi = x.clone().requires_grad_(True)
    twin(xi).backward(torch.ones_like(xi))
    assert counters["stats"]["unique_graphs"] == 1  # no recompilation, no second graph
    assert inductor_metrics.generated_kernel_count == 2


def test_many_compiled_formulas_each_get_their_own_cache():
    # dynamo caches per code object with a recompile limit; each formula has its own entry
    counters = _dynamo_counters()
    counters.clear()
    x = torch.randn(16)
    for k in range(10):
        act = SymbolicActivation(f"x + {k + 1}*sin(x)", compile=True)
        torch.testing.assert_close(act(x), x + (k + 1) * torch.sin(x))
    assert counters["stats"]["unique_graphs"] == 10
    assert not any("cache_size_limit" in str(k) or "recompile_limit" in str(k) for k in counters["graph_break"])


# -- import and get() ------------------------------------------------------------------------
def test_import_is_light():
    code = (
        "import sys, json; import nsad_lib; "
        "print(json.dumps(sorted(m for m in ('torch', 'sympy', 'numpy', 'matplotlib', 'huggingface_hub', 'pyoperon', 'scipy') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_get_reuses_parsed_and_compiled_formulas():
    from nsad_lib.formula.program import _compile_cached

    nsad_lib.get("gelu-v1")
    before = _compile_cached.cache_info()
    a, b = nsad_lib.get("gelu-v1"), nsad_lib.get("gelu-v1")
    after = _compile_cached.cache_info()
    assert a is not b  # a fresh module each call
    assert after.misses == before.misses and after.hits >= before.hits + 2
    assert a._program is b._program and a._function is b._function


def test_scratch_buffers_survive_switching_inference_mode():
    import threading

    torch_ops._scalar_cached.cache_clear()
    act = SymbolicActivation(nsad_lib.get("gelu-v1").formula, builtin=False)  # the program, not torch's GELU
    x = torch.randn(512, 1024)  # above executor.SMALL_BYTES: chunked, with scratch buffers
    errors: list[BaseException] = []

    def work():  # a new thread starts with an empty (thread-local) scratch cache
        try:
            with torch.inference_mode():  # scratch buffers and scalars first created here
                y = act(x)
            xr = x.clone().requires_grad_(True)
            act(xr).sum().backward()  # ... and written in place outside inference mode
            with torch.inference_mode():
                torch.testing.assert_close(act(x), y)
            torch.testing.assert_close(act(x), y)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert not errors, errors
