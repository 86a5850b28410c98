"""Issue 20: eager float32 sin, cos, tan, tanh, exp and log on CPU run numpy's SIMD kernels.

They must stay within a few float32 ulp of the float64 result with exact limits, give the same
bits whatever the torch thread count (large inputs are split across threads), fall back to
torch's kernels where numpy has no SIMD loop, and leave other dtypes to torch exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import nsad_lib.nn.ops as ops
from nsad_lib.nn.activation import SymbolicActivation
from nsad_lib.nn.executor import SMALL_BYTES, backward_into, forward_into
from nsad_lib.nn.ops import INTO_OPS, NUMPY_PARALLEL_MIN, numpy_simd

KERNELS = {"sin": (torch.sin, 2.0), "cos": (torch.cos, 2.0), "tan": (torch.tan, 4.0), "tanh": (torch.tanh, 2.0),
           "exp": (torch.exp, 3.0), "log": (torch.log, 4.0)}
SPECIAL = [0.0, -0.0, 1e-40, -1e-40, 1e-30, -3e-8, 88.7, 89.0, -104.0, math.inf, -math.inf, math.nan]


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bit-for-bit equal values, NaN where the other has NaN (log of negatives)."""
    return a.shape == b.shape and bool(torch.equal(torch.isnan(a), torch.isnan(b))) and torch.equal(
        torch.nan_to_num(a, nan=0.0), torch.nan_to_num(b, nan=0.0))


def _ulp_error(got: torch.Tensor, x: torch.Tensor, reference) -> float:
    want = reference(x.double())
    finite = torch.isfinite(want) & (want.abs() < torch.finfo(torch.float32).max)
    ulp = torch.from_numpy(np.spacing(want[finite].abs().float().numpy())).double()
    return float(((got.double()[finite] - want[finite]).abs() / ulp).max())


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_numpy_kernel_is_within_a_few_ulp_with_exact_limits(name: str) -> None:
    reference, max_ulp = KERNELS[name]
    x = torch.cat([torch.linspace(-1e4, 1e4, 400_001), torch.linspace(-30, 30, 600_001), torch.tensor(SPECIAL)])
    got = INTO_OPS[name](torch.empty_like(x), x)
    assert _ulp_error(got, x, reference) <= max_ulp
    want = reference(x[-len(SPECIAL):].double()).float()
    tail = got[-len(SPECIAL):]
    assert torch.equal(torch.isnan(tail), torch.isnan(want))
    both = ~torch.isnan(want)
    torch.testing.assert_close(tail[both], want[both], rtol=3e-7, atol=0)
    if name in ("sin", "tanh"):  # odd functions keep the sign of zero
        assert torch.signbit(tail[1]) and not torch.signbit(tail[0])


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_numpy_kernel_in_place_and_strided(name: str) -> None:
    x = torch.randn(300, 70)
    want = INTO_OPS[name](torch.empty_like(x), x)
    y = x.clone()
    assert _same(INTO_OPS[name](y, y), want)  # the executor writes over a dying operand
    xt = x.t()  # a transposed view: numpy reads the strides
    assert _same(INTO_OPS[name](torch.empty_like(xt), xt), want.t())


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_numpy_kernel_gives_the_same_bits_with_any_number_of_threads(name: str) -> None:
    """Large inputs are split across threads; every element still comes from the same kernel."""
    x = torch.linspace(-12, 12, NUMPY_PARALLEL_MIN * 3 + 17)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        many = INTO_OPS[name](torch.empty_like(x), x)
        torch.set_num_threads(1)
        one = INTO_OPS[name](torch.empty_like(x), x)
    finally:
        torch.set_num_threads(threads)
    assert _same(many, one)


def test_other_dtypes_and_a_scalar_baseline_keep_torch_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    xd = torch.linspace(-5, 5, 1001, dtype=torch.float64)
    for name, (reference, _) in KERNELS.items():
        assert _same(INTO_OPS[name](torch.empty_like(xd), xd), reference(xd))
    # where numpy's float32 loop is its scalar baseline, torch's kernel (tanh: the expm1 form) runs
    monkeypatch.setattr(ops, "numpy_simd", lambda name: False)
    x = torch.linspace(-5, 5, 1001)
    assert torch.equal(INTO_OPS["sin"](torch.empty_like(x), x), torch.sin(x))
    assert torch.equal(INTO_OPS["exp"](torch.empty_like(x), x), torch.exp(x))
    torch.testing.assert_close(INTO_OPS["tanh"](torch.empty_like(x), x), torch.tanh(x), rtol=3e-7, atol=0)


def test_numpy_simd_reads_the_dispatch_of_this_numpy() -> None:
    from numpy.lib.introspect import opt_func_info

    current = str(opt_func_info(func_name="^sin$", signature="float32")["sin"]["ff"]["current"])
    assert numpy_simd("sin") == (not current.startswith("baseline"))
    assert numpy_simd("no_such_ufunc") is False


@pytest.mark.parametrize("spec", ["sin(a + b*sin(x) - x)", "cos(a + b*tanh(x) + x)", "x*exp(-Abs(x))"])
def test_activation_with_numpy_kernels_matches_float64(spec: str) -> None:
    """The whole eager path (forward, and backward with trainable constants) against float64."""
    act = SymbolicActivation(spec, {"a": 0.3, "b": 0.7} if "a" in spec else None, trainable=True)
    x = torch.randn(1024, 64, requires_grad=True)
    y = act(x)
    g = torch.randn_like(y)
    y.backward(g)
    ref = SymbolicActivation(spec, {"a": 0.3, "b": 0.7} if "a" in spec else None, trainable=True).double()
    xd = x.detach().double().requires_grad_()
    yd = ref.forward_composed(xd)
    yd.backward(g.double())
    torch.testing.assert_close(y.double(), yd, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(x.grad.double(), xd.grad, rtol=1e-4, atol=1e-5)
    for p, q in zip(act.parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad.double(), q.grad, rtol=1e-3, atol=1e-3)


def test_small_inputs_run_whole_and_agree_with_the_chunked_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs up to SMALL_BYTES skip the chunk loop; forcing the chunked path gives the same values."""
    act = SymbolicActivation("a*Abs(b*x + c*sin(x)) + x", {"a": 0.5, "b": 1.5, "c": -0.7}, trainable=True)
    program, params = act._program, [p.detach() for p in act.parameters()]
    x = torch.randn(1024, 64)
    assert x.numel() * x.element_size() <= SMALL_BYTES
    g = torch.randn_like(x)
    whole_y = forward_into(program, x, params)
    whole_g = backward_into(program, x, params, g, (1, 2, 3, 4))
    import nsad_lib.nn.executor as executor

    monkeypatch.setattr(executor, "SMALL_BYTES", 0)
    monkeypatch.setattr(executor, "CHUNK_BYTES", 1 << 14)  # several chunks
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        chunked_y = forward_into(program, x, params)
        chunked_g = backward_into(program, x, params, g, (1, 2, 3, 4))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(whole_y, chunked_y)
    assert torch.equal(whole_g[0], chunked_g[0])
    for a, b in zip(whole_g[1:], chunked_g[1:]):  # sums in another order: equal to float32 rounding
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_thread_pool() -> None:
    """The parent's pool threads do not exist in a forked child (a grid worker): the child must
    not wait on them."""
    import os

    x = torch.linspace(-3, 3, NUMPY_PARALLEL_MIN * 2)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        want = INTO_OPS["sin"](torch.empty_like(x), x)  # the parent's pool exists now
        assert ops._POOL is not None
        pid = os.fork()
        if pid == 0:  # child: compute with the pool, exit 0 if right
            ok = False
            try:
                ok = ops._POOL is None and torch.equal(INTO_OPS["sin"](torch.empty_like(x), x), want)
            finally:
                os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        torch.set_num_threads(threads)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_torch_kernels_run_while_a_dispatch_mode_watches() -> None:
    """A TorchDispatchMode (a FLOP counter, a pass counter) sees every elementwise op: under one,
    the transcendentals are torch's, not numpy's (which the mode could not see)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    seen: list[str] = []

    class Watch(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.append(func.overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    x = torch.linspace(-3, 3, 1001)
    with Watch():
        y = INTO_OPS["sin"](torch.empty_like(x), x)
    assert "sin" in seen and torch.equal(y, torch.sin(x))
