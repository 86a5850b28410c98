"""Issue 20's eager fast paths stay exact: f' saved by the forward, the float32 tanh, small tensors."""

from __future__ import annotations

import gc

import pytest
import torch

import nsad_lib
from nsad_lib.nn.activation import SymbolicActivation
from nsad_lib.nn.executor import saves_derivative
from nsad_lib.nn.ops import INTO_OPS
from nsad_lib.registry.store import list_entries

ENTRIES = [e.id for e in list_entries()]


def _saved(act: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    saved: list[torch.Tensor] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        act(x)
    return saved


@pytest.mark.parametrize("trainable", [False, True])
@pytest.mark.parametrize("entry_id", ENTRIES)
def test_gradients_match_composed_autograd(entry_id: str, trainable: bool) -> None:
    """float32 (64x33, the Light network's scale) against autograd through the plain composed ops."""
    act = nsad_lib.get(entry_id, trainable=trainable)
    x = (torch.randn(64, 33, generator=torch.Generator().manual_seed(1)) * 2).requires_grad_()
    g = torch.randn(64, 33, generator=torch.Generator().manual_seed(2))
    y = act(x)
    grads = torch.autograd.grad(y, [x, *[p for p in act.parameters()]], g)
    xr = x.detach().double().requires_grad_()
    ref_act = nsad_lib.get(entry_id, trainable=trainable).double()
    yr = ref_act.forward_composed(xr)
    ref = torch.autograd.grad(yr, [xr, *[p for p in ref_act.parameters()]], g.double())
    torch.testing.assert_close(y.double(), yr, atol=2e-6, rtol=1e-5)
    for got, want in zip(grads, ref):
        torch.testing.assert_close(got.double(), want, atol=1e-5 * max(1.0, float(want.abs().max())), rtol=1e-4)


@pytest.mark.parametrize("trainable", [False, True])
@pytest.mark.parametrize("entry_id", ENTRIES)
def test_gradcheck_float64(entry_id: str, trainable: bool) -> None:
    act = nsad_lib.get(entry_id, trainable=trainable).double()
    x = torch.linspace(-3.1, 2.9, 23, dtype=torch.float64).reshape(1, 23).requires_grad_()
    if entry_id.startswith("relu") or entry_id.startswith("spambase"):  # kinks at 0: keep off them
        x = (x.detach() + 0.037).requires_grad_()
    if trainable:
        assert torch.autograd.gradcheck(lambda t, *p: act(t), (x, *act.parameters()), eps=1e-6, atol=1e-6)
    else:
        assert torch.autograd.gradcheck(act, (x,), eps=1e-6, atol=1e-6)


def test_frozen_formula_saves_its_derivative_not_x() -> None:
    act = SymbolicActivation(nsad_lib.get("gelu-v1").formula, builtin=False)  # not torch's own GELU
    assert saves_derivative(act._program)
    x = torch.randn(128, 8, requires_grad=True)
    saved = _saved(act, x)
    assert len(saved) == 1 and saved[0].shape == x.shape
    assert saved[0].data_ptr() != x.data_ptr()
    xd = x.detach().double()
    expected = 0.5 * (1 + torch.erf(xd / 2**0.5)) + xd * torch.exp(-xd * xd / 2) / (2 * torch.pi) ** 0.5
    torch.testing.assert_close(saved[0].double(), expected, atol=1e-6, rtol=1e-5)


def test_cost_model_keeps_x_where_recomputing_is_cheap() -> None:
    assert not saves_derivative(nsad_lib.get("relu-v1")._program)  # step(x) from x: one pass


def test_trainable_constants_keep_saving_x() -> None:
    act = nsad_lib.get("forest-v1", trainable=True)
    x = torch.randn(32, 4, requires_grad=True)
    saved = _saved(act, x)
    assert len(saved) == 1 and saved[0].data_ptr() == x.data_ptr()


def test_double_backward_of_saved_derivative() -> None:
    act = SymbolicActivation("x*erf(x) + cos(x)").double()
    x = torch.randn(9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(act, (x,), eps=1e-6, atol=1e-5)


def test_double_backward_without_the_input_is_a_clear_error() -> None:
    # second order with respect to a parameter (a Hessian-vector product of the weights): the
    # input depends on parameters only, so the activation saved f'(x) and dropped x
    act = SymbolicActivation("x*erf(x) + cos(x)").double()
    weight = torch.nn.Parameter(torch.randn(9, dtype=torch.float64))
    y = act(weight * 2)  # the input (weight * 2) is referenced by nobody after this line
    gc.collect()
    with pytest.raises(RuntimeError, match="second_order=True"):
        torch.autograd.grad(y.sum(), weight, create_graph=True)
    act.second_order = True  # saves x: the same double backward works
    y = act(weight * 2)
    gc.collect()
    (g,) = torch.autograd.grad(y.sum(), weight, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), weight)
    w = weight.detach().requires_grad_()
    (gw,) = torch.autograd.grad(act.forward_composed(w * 2).sum(), w, create_graph=True)
    (hw,) = torch.autograd.grad(gw.sum(), w)
    torch.testing.assert_close(h, hw)
    assert "second_order=True" in repr(act)


@pytest.mark.parametrize("spec", ["spambase-v1", "hajbi2026-higgs-fig-v1", "hajbi2026-higgs-readme-v1"])
def test_physics_informed_loss_through_a_sequential_network(spec: str) -> None:
    """Derivatives of the output with respect to the input, then a backward through them, in an
    nn.Sequential (nobody holds the pre-activations): the frozen formulas save x there."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(1, 16), nsad_lib.get(spec), torch.nn.Linear(16, 1)).double()
    x = torch.linspace(-1, 1, 32, dtype=torch.float64).reshape(-1, 1).requires_grad_()

    def loss_of(model: torch.nn.Module) -> torch.Tensor:
        u = model(x)
        (du,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        return (du**2).mean() + (u**2).mean()

    loss_of(net).backward()
    got = [p.grad.clone() for p in net.parameters()]
    reference = torch.nn.Sequential(net[0], _Composed(net[1]), net[2])
    net.zero_grad()
    loss_of(reference).backward()
    for a, b in zip(got, [p.grad for p in net.parameters()]):
        torch.testing.assert_close(a, b)


class _Composed(torch.nn.Module):
    def __init__(self, act: SymbolicActivation) -> None:
        super().__init__()
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act.forward_composed(x)


def test_tanh_into_float32_accuracy() -> None:
    x = torch.cat([torch.linspace(-30, 30, 400_001), torch.tensor([0.0, -0.0, 1e-30, float("inf"), -float("inf"), float("nan")])])
    out = torch.empty_like(x)
    got = INTO_OPS["tanh"](out, x)
    want = torch.tanh(x.double())
    finite = torch.isfinite(x)
    assert float((got.double() - want)[finite].abs().max()) <= 2.5e-7
    assert got[-3] == 1.0 and got[-2] == -1.0 and torch.isnan(got[-1])
    assert got[-6] == 0.0 and got[-5] == 0.0 and torch.signbit(got[-5])  # -0.0 stays -0.0
    # other dtypes keep torch.tanh exactly
    xd = torch.linspace(-5, 5, 101, dtype=torch.float64)
    torch.testing.assert_close(INTO_OPS["tanh"](torch.empty_like(xd), xd), torch.tanh(xd), atol=0, rtol=0)


def test_tanh_into_float32_relative_accuracy_near_zero() -> None:
    """Within a few float32 eps *relative* to tanh over [-10, 10], near 0 included: the earlier
    2*sigmoid(2x) - 1 had an absolute error of 2e-7 and gave tanh(1e-7) = 0."""
    tiny = torch.logspace(-37, 1, 200_001, dtype=torch.float64).float()
    x = torch.cat([torch.linspace(-10, 10, 1_000_001), tiny, -tiny, torch.tensor([1e-7, -3e-8, 2e-4])])
    got = INTO_OPS["tanh"](torch.empty_like(x), x).double()
    want = torch.tanh(x.double())
    eps = torch.finfo(torch.float32).eps
    rel = (got - want).abs() / want.abs().clamp_min(torch.finfo(torch.float32).tiny)
    assert float(rel.max()) <= 3 * eps, f"worst at x={float(x[rel.argmax()])!r}: {float(rel.max()) / eps:.1f} eps"
    assert float(got[-3]) == pytest.approx(1e-7, rel=3 * eps)
    # the buffer may be the operand itself (the executor writes in place)
    y = x.clone()
    assert torch.equal(INTO_OPS["tanh"](y, y), INTO_OPS["tanh"](torch.empty_like(x), x))


@pytest.mark.parametrize(
    ("spec", "lo", "hi"),
    [
        ("x/tanh(x)", -8.0, -1.0),  # -> 1 at 0; divides by tanh of tiny x
        ("log(tanh(x))", -8.0, 0.0),  # log of tiny tanh: relative error becomes absolute
        ("pdiv(x, tanh(x))", -2.9, 0.0),  # protected division just above its 0.001 guard
        ("x/tanh(x + 0.001) - 1", -7.0, -3.5),  # shifted argument: tanh near 0.001
    ],
)
@pytest.mark.parametrize("grad", [False, True])
def test_formulas_dividing_by_tanh_stay_accurate_near_zero(spec: str, lo: float, hi: float, grad: bool) -> None:
    """Compositions that divide by tanh or take its log, float32 on CPU through the eager path
    (with grad: the forward that also saves f'), against the same formula in float64."""
    act = SymbolicActivation(spec)
    mag = torch.logspace(lo, hi, 4001, dtype=torch.float64)
    xd = mag if spec.startswith("log") else torch.cat([mag, -mag])
    if spec.startswith("x/tanh(x + 0.001)"):
        xd = xd.abs()  # x + 0.001 > 0: no pole
    x = xd.float().requires_grad_(grad)
    got = act(x).detach().double()
    xr = x.detach().double()
    want = {
        "x/tanh(x)": lambda t: t / torch.tanh(t),
        "log(tanh(x))": lambda t: torch.log(torch.tanh(t)),
        "pdiv(x, tanh(x))": lambda t: t / torch.tanh(t),
        "x/tanh(x + 0.001) - 1": lambda t: t / torch.tanh(t + 0.001) - 1,
    }[spec](xr)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_tanh_into_gives_the_same_bits_with_any_number_of_threads() -> None:
    """A formula's output must not depend on the torch thread count (a Hub round trip, a re-run
    on another machine): the fast form is chosen by dtype and device only."""
    x = torch.linspace(-6, 6, 100_001)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        many = INTO_OPS["tanh"](torch.empty_like(x), x)
        torch.set_num_threads(1)
        one = INTO_OPS["tanh"](torch.empty_like(x), x)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(many, one)
    torch.testing.assert_close(one, torch.tanh(x), rtol=3e-7, atol=0)


def test_large_input_chunked_joint_forward() -> None:
    """Inputs past the chunk size (CPU, one thread) give the same f and f' as one piece."""
    act = SymbolicActivation("x*erf(x) + cos(x)")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x = torch.randn(3 * (1 << 20) + 5, requires_grad=True)
        y = act(x)
        y.backward(torch.ones_like(y))
    finally:
        torch.set_num_threads(threads)
    xd = x.detach().double()
    torch.testing.assert_close(y.double(), xd * torch.erf(xd) + torch.cos(xd), atol=2e-6, rtol=1e-5)
    want = torch.erf(xd) + xd * 2 / torch.pi**0.5 * torch.exp(-xd * xd) - torch.sin(xd)
    torch.testing.assert_close(x.grad.double(), want, atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("spec, trainable", [("spambase-v1", False), ("forest-v1", True)])
def test_results_of_small_inputs_do_not_share_the_reused_buffers(spec: str, trainable: bool) -> None:
    """Small inputs run on per-shape buffers kept between calls: what a call returns (f, the saved
    f', the input gradient) must survive later calls of the same shape."""
    act = nsad_lib.get(spec, trainable=trainable)
    gen = torch.Generator().manual_seed(3)
    xs = [torch.randn(256, 48, generator=gen).requires_grad_() for _ in range(3)]
    gs = [torch.randn(256, 48, generator=gen) for _ in range(3)]
    ys = [act(x) for x in xs]  # three graphs alive at once, each holding what its backward needs
    first = [y.detach().clone() for y in ys]
    for y, g in zip(ys, gs):
        y.backward(g)
    for x, y, want, g in zip(xs, ys, first, gs):
        assert torch.equal(y, want)
        xr = x.detach().double().requires_grad_()
        (gr,) = torch.autograd.grad(act.forward_composed(xr), xr, g.double())
        torch.testing.assert_close(x.grad.double(), gr, rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        a, b = act(xs[0]), act(xs[1])
    torch.testing.assert_close(a, first[0], rtol=0, atol=0)
    torch.testing.assert_close(b, first[1], rtol=0, atol=0)


@pytest.mark.parametrize("trainable", [False, True])
@pytest.mark.parametrize("entry_id", ENTRIES)
def test_vectorized_jacobian_and_hessian_match_the_loop(entry_id: str, trainable: bool) -> None:
    """jacobian(vectorize=True) vmaps the backward over a batched incoming gradient: the fused
    backward's buffers cannot take it (it once raised for every formula that saves x)."""
    act = nsad_lib.get(entry_id, trainable=trainable)
    x = torch.linspace(-3, 3, 8)  # no kink point (0) of the Max/Abs formulas: subgradients differ there
    jv = torch.autograd.functional.jacobian(act, x, vectorize=True)
    jl = torch.autograd.functional.jacobian(act, x, vectorize=False)
    torch.testing.assert_close(jv, jl, rtol=0, atol=1e-6)
    xr = x.double().requires_grad_()
    (want,) = torch.autograd.grad(act.forward_composed(xr).sum(), xr)
    torch.testing.assert_close(torch.diagonal(jl).double(), want, rtol=1e-5, atol=1e-5)

    def total(v: torch.Tensor) -> torch.Tensor:
        return act(v).sum()

    hv = torch.autograd.functional.hessian(total, x, vectorize=True)
    hl = torch.autograd.functional.hessian(total, x, vectorize=False)
    torch.testing.assert_close(hv, hl, rtol=0, atol=1e-5)
