"""The float32 tanh that torch.compile traces instead of torch.tanh (``COMPILE_OPS``).

It replaces a slow SLEEF call in inductor's CPU code; these tests hold it to the accuracy the
module documents, against float64 torch, eagerly and compiled.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nsad_lib import SymbolicActivation
from nsad_lib.nn.ops import COMPILE_OPS, TORCH_OPS, tanh_rational

KERNELS = [("tanh", tanh_rational, torch.tanh, 4e-7)]


def _inputs() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    dense = torch.linspace(-1000.0, 1000.0, 400_001)
    near_zero = torch.logspace(-30, 0, 2_001)
    return torch.cat([dense, near_zero, -near_zero, 3 * torch.randn(200_000, generator=g)])


@pytest.mark.parametrize("name,fast,exact,tol", KERNELS)
def test_kernel_accuracy_against_float64(name, fast, exact, tol):
    x = _inputs()
    err = (fast(x).double() - exact(x.double())).abs()
    assert err.max().item() <= tol, f"{name}: max abs error {err.max().item():.3g} at x={x[err.argmax()].item()}"


@pytest.mark.parametrize("name,fast,exact,tol", KERNELS)
def test_kernel_special_values(name, fast, exact, tol):
    x = torch.tensor([float("nan"), float("inf"), -float("inf"), 0.0, 1e-30])
    got, want = fast(x), exact(x)
    assert torch.equal(torch.isnan(got), torch.isnan(want))
    finite = ~torch.isnan(want)
    assert torch.allclose(got[finite], want[finite], rtol=1e-6, atol=0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_other_dtypes_keep_torch_ops(dtype):
    x = torch.linspace(-5, 5, 101, dtype=dtype)
    assert torch.equal(tanh_rational(x), torch.tanh(x))


def test_only_tanh_is_replaced():
    changed = {k for k in TORCH_OPS if COMPILE_OPS[k] is not TORCH_OPS[k]}
    assert changed == {"tanh"}


def test_compiled_formula_with_replaced_ops_matches_eager_values_and_gradients():
    formula = "cos(a + b*tanh(x) + x) + sin(x)*cos(x)"
    eager = SymbolicActivation(formula, {"a": 0.67, "b": 0.71}, trainable=True)
    compiled = SymbolicActivation(formula, {"a": 0.67, "b": 0.71}, trainable=True, compile=True)
    x = (4 * torch.randn(4096, generator=torch.Generator().manual_seed(1))).requires_grad_()
    g = torch.randn(4096, generator=torch.Generator().manual_seed(2))
    ye = eager(x)
    (gx_e, ga_e, gb_e) = torch.autograd.grad(ye, (x, eager.a, eager.b), g)
    yc = compiled(x)
    (gx_c, ga_c, gb_c) = torch.autograd.grad(yc, (x, compiled.a, compiled.b), g)
    torch.testing.assert_close(yc, ye, rtol=0, atol=1e-6)
    torch.testing.assert_close(gx_c, gx_e, rtol=0, atol=2e-6)
    torch.testing.assert_close(ga_c, ga_e, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(gb_c, gb_e, rtol=1e-5, atol=1e-4)


def test_export_keeps_plain_ops():
    act = SymbolicActivation("tanh(x) + sin(x)")
    program = torch.export.export(act, (torch.randn(8),))
    targets = {str(n.target) for n in program.graph.nodes if n.op == "call_function"}
    assert any("tanh" in t for t in targets)
    assert not any("clamp" in t or "div" in t for t in targets)


# -- the op spec: one definition, torch tables checked against it ------------------------------


def test_torch_tables_cover_the_op_spec_and_a_gap_is_named():
    from nsad_lib.formula.ops import OPS, check_table
    from nsad_lib.nn.ops import INTO_OPS

    assert set(TORCH_OPS) == set(COMPILE_OPS) == set(INTO_OPS) == set(OPS)
    partial = {k: v for k, v in TORCH_OPS.items() if k != "softplus"}
    with pytest.raises(RuntimeError, match="missing operator\\(s\\) softplus"):
        check_table(partial, "test table")
    with pytest.raises(RuntimeError, match="unknown operator\\(s\\) frobnicate"):
        check_table({**TORCH_OPS, "frobnicate": torch.neg}, "test table")


def test_numpy_and_torch_implementations_of_every_op_agree():
    from nsad_lib.formula.ops import NUMPY_OPS, OPS

    rng = np.random.default_rng(0)
    payloads = {None: (), "float": (1.7,), "pair": ((1.7, -0.3),)}
    for name, op in OPS.items():
        operands = [rng.uniform(0.2, 3.0, 257) * rng.choice([-1.0, 1.0], 257) for _ in range(op.arity)]
        if name in ("sqrt", "rsqrt", "log", "pow", "pow_scalar"):
            operands[0] = np.abs(operands[0])
        extra = payloads[op.payload]
        expected = NUMPY_OPS[name](*operands, *extra)
        got = TORCH_OPS[name](*(torch.from_numpy(o) for o in operands), *extra)
        np.testing.assert_allclose(torch.as_tensor(got).numpy(), expected, rtol=1e-12, atol=1e-12, err_msg=name)
