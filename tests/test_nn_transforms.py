"""torch.func transforms (grad, jacrev, vmap, hessian, functional_call) through nsad-lib activations.

Physics-informed networks take derivatives of the output with respect to the input with these
transforms; each result is checked against plain autograd through the formula's composed ops.
"""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call, grad, hessian, jacrev, vmap

import nsad_lib
from nsad_lib.registry.store import list_entries

ENTRIES = [e.id for e in list_entries()]
# no kink point (0) of the Max/Abs formulas, where subgradient conventions differ
X = torch.linspace(-2.5, 2.5, 6, dtype=torch.float64)


def _composed_derivatives(act: nsad_lib.SymbolicActivation, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    xr = x.clone().requires_grad_()
    (first,) = torch.autograd.grad(act.forward_composed(xr).sum(), xr, create_graph=True)
    if first.grad_fn is None:  # piecewise linear (Max(0, x)): f'' is 0 away from the kink
        return first.detach(), torch.zeros_like(x)
    (second,) = torch.autograd.grad(first.sum(), xr, allow_unused=True)
    return first.detach(), second if second is not None else torch.zeros_like(x)


@pytest.mark.parametrize("trainable", [False, True])
@pytest.mark.parametrize("entry_id", ENTRIES)
def test_jacrev_vmap_grad_and_hessian_match_autograd(entry_id: str, trainable: bool) -> None:
    act = nsad_lib.get(entry_id, trainable=trainable).double()
    first, second = _composed_derivatives(act, X)
    torch.testing.assert_close(torch.diagonal(jacrev(act)(X)), first)
    scalar = vmap(grad(lambda v: act(v.reshape(1)).sum()))(X)  # per-element derivative, batched
    torch.testing.assert_close(scalar, first)
    torch.testing.assert_close(torch.diagonal(hessian(lambda v: act(v).sum())(X)), second)


def test_parameter_gradients_through_functional_call() -> None:
    act = nsad_lib.get("forest-v1", trainable=True).double()
    params = {k: v.detach() for k, v in act.named_parameters()}

    def loss(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return (functional_call(act, p, (X,)) ** 2).sum()

    got = grad(loss)(params)
    want = torch.autograd.grad((act(X) ** 2).sum(), list(act.parameters()))
    for name, w in zip(params, want):
        torch.testing.assert_close(got[name], w)


@pytest.mark.parametrize("spec", ["spambase-v1", "forest-v1", "hajbi2026-higgs-fig-v1"])
def test_physics_informed_input_derivatives_of_a_network(spec: str) -> None:
    """vmap(jacrev(net)) over inputs (du/dx per point), as physics-informed losses compute it."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 8), nsad_lib.get(spec), torch.nn.Linear(8, 1)).double()
    pts = torch.randn(5, 2, dtype=torch.float64)
    got = vmap(jacrev(net))(pts)  # (5, 1, 2)
    xr = pts.clone().requires_grad_()
    h = net[0](xr)
    u = net[2](net[1].forward_composed(h))
    (want,) = torch.autograd.grad(u.sum(), xr)
    torch.testing.assert_close(got[:, 0, :], want)


@pytest.mark.parametrize("spec, trainable", [("spambase-v1", False), ("forest-v1", True), ("hajbi2026-higgs-readme-v1", False)])
def test_forward_mode_dual_numbers(spec: str, trainable: bool) -> None:
    import torch.autograd.forward_ad as fwAD

    act = nsad_lib.get(spec, trainable=trainable).double()
    first, _ = _composed_derivatives(act, X)
    tangent = torch.linspace(0.5, 1.5, X.numel(), dtype=torch.float64)
    with fwAD.dual_level():
        out = act(fwAD.make_dual(X, tangent))
        primal, jvp = fwAD.unpack_dual(out)
    torch.testing.assert_close(primal, act.forward_composed(X).detach())
    torch.testing.assert_close(jvp, first * tangent)
