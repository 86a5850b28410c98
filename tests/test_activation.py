"""SymbolicActivation: values, gradients, saved memory, dtypes, export, compile, serialization."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

import nsad_lib
from nsad_lib.formula.language import X, symbol
from nsad_lib.nn.activation import SymbolicActivation
from nsad_lib.registry.store import Registry

SEED_IDS = [e.id for e in Registry(include_env=False).entries() if e.provenance.get("method", {}).get("strategy") == "literature"]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _inputs(n: int = 257, dtype=torch.float64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=g, dtype=torch.float64) * 3
    x = torch.where(x.abs() < 0.05, x + 0.1, x)  # keep kinks (relu at 0) out of finite differences
    return x.to(dtype)


def test_seed_entries_are_all_present():
    assert set(SEED_IDS) == {"relu-v1", "gelu-v1", "silu-v1", "hajbi2026-higgs-readme-v1", "hajbi2026-higgs-fig-v1", "hajbi2026-spambase-fig-v1"}


@pytest.mark.parametrize("entry_id", SEED_IDS)
def test_forward_matches_numpy_float64(entry_id):
    act = nsad_lib.get(entry_id).double()
    x = _inputs()
    expected = act.formula.numpy(x.numpy())
    np.testing.assert_allclose(act(x).numpy(), expected, rtol=1e-6, atol=1e-6)
    with torch.no_grad():  # composed path gives the same values
        np.testing.assert_allclose(act(x).numpy(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("entry_id", SEED_IDS)
def test_backward_passes_gradcheck(entry_id):
    act = nsad_lib.get(entry_id).double()
    x = _inputs(64).requires_grad_()
    assert torch.autograd.gradcheck(act, (x,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("name, reference", [("relu-v1", F.relu), ("gelu-v1", F.gelu), ("silu-v1", F.silu)])
def test_reference_entries_run_torchs_own_kernel(name, reference):
    """An entry that is exactly a torch built-in runs it: the same bits, forward and backward."""
    act = nsad_lib.get(name)
    assert "kernel='torch" in repr(act)
    x = torch.linspace(-8, 8, 10_001, dtype=torch.float32)
    assert torch.equal(act(x), reference(x))
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    act(xa).sum().backward()
    reference(xb).sum().backward()
    assert torch.equal(xa.grad, xb.grad)


@pytest.mark.parametrize("name, reference", [("relu-v1", F.relu), ("gelu-v1", F.gelu), ("silu-v1", F.silu)])
def test_reference_formulas_match_torch_functional_float32(name, reference):
    """The same formulas through the library's own program (``builtin=False``)."""
    act = SymbolicActivation(nsad_lib.get(name).formula, builtin=False)
    assert "kernel=" not in repr(act)
    x = torch.linspace(-8, 8, 10_001, dtype=torch.float32)
    # torch.nn.functional evaluated exactly (float64, rounded to float32) is the yardstick;
    # torch's own float32 GELU kernel is itself 1.2e-6 off near x = -3.5 (1 + erf cancellation),
    # so against it the bound is 2e-6.
    exact = reference(x.double()).float()
    torch.testing.assert_close(act(x), exact, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(act(x), reference(x), rtol=1e-6, atol=2e-6)
    xg = x.clone().requires_grad_()
    xd = x.double().requires_grad_()
    act(xg).sum().backward()
    reference(xd).sum().backward()
    torch.testing.assert_close(xg.grad, xd.grad.float(), rtol=1e-6, atol=1e-6)


def test_parameter_gradients_are_correct():
    act = SymbolicActivation("a*x*sigmoid(b*x) + c*sin(x)", {"a": 1.2, "b": 0.8, "c": -0.3}, trainable=True).double()
    assert [n for n, _ in act.named_parameters()] == ["a", "b", "c"]
    x = _inputs(48).requires_grad_()

    def fn(x, a, b, c):
        act.a.data, act.b.data, act.c.data = a.detach(), b.detach(), c.detach()
        return act._function.apply(x, a, b, c)

    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (1.2, 0.8, -0.3)]
    assert torch.autograd.gradcheck(fn, (x, *params), eps=1e-6, atol=1e-6)
    # and against autograd through the composed ops
    act2 = SymbolicActivation("a*x*sigmoid(b*x) + c*sin(x)", {"a": 1.2, "b": 0.8, "c": -0.3}, trainable=True).double()
    xs = _inputs(48)
    act2(xs).pow(2).sum().backward()
    a, b, c = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (1.2, 0.8, -0.3))
    (a * xs * torch.sigmoid(b * xs) + c * torch.sin(xs)).pow(2).sum().backward()
    for p, ref in zip(act2.parameters(), (a, b, c)):
        torch.testing.assert_close(p.grad, ref.grad)


def test_buffers_when_frozen_parameters_when_trainable():
    frozen = SymbolicActivation("a*x", {"a": 2.0})
    assert list(frozen.parameters()) == [] and "a" in dict(frozen.named_buffers())
    trained = SymbolicActivation("a*x", {"a": 2.0}, trainable=True)
    assert [n for n, _ in trained.named_parameters()] == ["a"]


def _saved_tensors(fn, x):
    saved = []

    def pack(t):
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(x).sum().backward()
    return saved


@pytest.mark.parametrize("entry_id", SEED_IDS)
def test_backward_saves_exactly_one_tensor(entry_id):
    act = nsad_lib.get(entry_id)
    x = torch.randn(4096, requires_grad=True)
    saved = _saved_tensors(act, x)
    assert len(saved) == 1 and saved[0].shape == x.shape


def test_composed_ops_save_more_for_a_larger_formula():
    act = SymbolicActivation("cos(x) - cos(cos(x)) + x*sigmoid(x)")
    x = torch.randn(1024, requires_grad=True)
    assert len(_saved_tensors(act, x)) == 1
    assert len(_saved_tensors(act.forward_composed, x)) >= 4


def test_double_backward_works():
    act = nsad_lib.get("hajbi2026-higgs-fig-v1").double()
    x = _inputs(32).requires_grad_()
    assert torch.autograd.gradgradcheck(act, (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("device", DEVICES)
def test_low_precision_dtypes(dtype, device):
    act = SymbolicActivation("a*x*sigmoid(b*x) + cos(x) - cos(cos(x))", {"a": 1.0, "b": 1.5}, trainable=True).to(device)
    x64 = _inputs(512)
    x = x64.to(device=device, dtype=dtype).requires_grad_()
    y = act(x)
    assert y.dtype == dtype and y.device.type == device
    y.sum().backward()
    ref = SymbolicActivation("a*x*sigmoid(b*x) + cos(x) - cos(cos(x))", {"a": 1.0, "b": 1.5}).double()
    tol = {torch.float16: 2e-2, torch.bfloat16: 1e-1, torch.float32: 1e-5, torch.float64: 1e-10}[dtype]
    torch.testing.assert_close(y.detach().double().cpu(), ref(x.detach().double().cpu()), rtol=tol, atol=tol)
    assert torch.isfinite(x.grad).all() and torch.isfinite(act.a.grad) and torch.isfinite(act.b.grad)
    assert act.a.grad.dtype == torch.float32


def test_no_grad_uses_composed_ops_and_torch_export_works():
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nsad_lib.get("hajbi2026-higgs-fig-v1"), nn.Linear(16, 1)).eval()
    x = torch.randn(32, 8)
    with torch.no_grad():
        exported = torch.export.export(model, (x,))
        torch.testing.assert_close(exported.module()(x), model(x))


def test_export_with_trainable_parameters():
    model = nn.Sequential(nn.Linear(4, 8), SymbolicActivation("a*x + sin(b*x)", {"a": 0.5, "b": 2.0}, trainable=True)).eval()
    x = torch.randn(5, 4)
    with torch.no_grad():
        exported = torch.export.export(model, (x,))
        torch.testing.assert_close(exported.module()(x), model(x))


def test_compile_matches_eager():
    act = SymbolicActivation("a*x + cos(x) - cos(cos(x))", {"a": 0.3}, trainable=True, compile=True)
    ref = SymbolicActivation("a*x + cos(x) - cos(cos(x))", {"a": 0.3}, trainable=True)
    x = torch.randn(256, requires_grad=True)
    xr = x.detach().clone().requires_grad_()
    y, yr = act(x), ref(xr)
    torch.testing.assert_close(y, yr)
    y.sum().backward()
    yr.sum().backward()
    torch.testing.assert_close(x.grad, xr.grad)
    torch.testing.assert_close(act.a.grad, ref.a.grad)
    assert "compiled=True" in repr(act)


def test_introspection():
    act = SymbolicActivation("a*x*sigmoid(b*x)", {"a": 1.0, "b": 2.0}, trainable=True, name="demo-v1")
    assert "a*x*sigmoid(b*x)" in repr(act) and "demo-v1" in repr(act)
    with torch.no_grad():
        act.a.fill_(0.5)
    from nsad_lib.formula.functions import sigmoid

    assert act.sympy() == sp.Float(0.5) * X * sigmoid(sp.Float(2.0) * X)
    assert symbol("a") not in act.sympy().free_symbols
    assert r"\sigma" in act.latex()


def test_state_dict_round_trips_through_safetensors(tmp_path):
    act = SymbolicActivation("a*x + sin(b*x)", {"a": 0.5, "b": 2.0}, trainable=True)
    with torch.no_grad():
        act.a.add_(0.25)
        act.b.mul_(1.5)
    path = tmp_path / "act.safetensors"
    save_file(act.state_dict(), str(path))
    fresh = SymbolicActivation("a*x + sin(b*x)", {"a": 0.5, "b": 2.0}, trainable=True)
    fresh.load_state_dict(load_file(str(path)), strict=True)
    x = torch.randn(100)
    torch.testing.assert_close(fresh(x), act(x), rtol=0, atol=0)
    other = SymbolicActivation("c*x", {"c": 1.0}, trainable=True)
    with pytest.raises(RuntimeError):
        other.load_state_dict(load_file(str(path)), strict=True)


def test_get_returns_fresh_modules_and_resolves_names():
    a, b = nsad_lib.get("silu-v1"), nsad_lib.get("silu")
    assert a is not b and a.name == b.name == "silu-v1"
    t1 = SymbolicActivation("a*x", {"a": 1.0}, trainable=True)
    t2 = SymbolicActivation("a*x", {"a": 1.0}, trainable=True)
    assert t1.a is not t2.a


def test_in_a_network_trains_end_to_end():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), SymbolicActivation("a*x + sin(x)", {"a": 1.0}, trainable=True), nn.Linear(16, 1))
    x = torch.randn(256, 6)
    y = (x[:, 0] * x[:, 1] > 0).float().unsqueeze(1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(net(x), y)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.8 * first
    assert net[2].a.item() != 1.0


def test_whole_module_pickles_through_torch_save(tmp_path):
    net = nn.Sequential(nn.Linear(3, 4), SymbolicActivation("a*x + sin(b*x)", {"a": 0.5, "b": 2.0}, trainable=True))
    with torch.no_grad():
        net[1].a.add_(0.125)
    path = tmp_path / "net.pt"
    torch.save(net, path)
    loaded = torch.load(path, weights_only=False)
    x = torch.randn(6, 3, requires_grad=True)
    torch.testing.assert_close(loaded(x), net(x))
    loaded(x).sum().backward()  # the rebuilt autograd function works
    assert loaded[1].a.grad is not None
