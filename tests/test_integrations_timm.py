"""timm: nsad-lib activations as ``act_layer=`` (factory and ``nsad:<id>`` name), real timm models."""

from __future__ import annotations

import pytest
import torch
from integrations_env import (
    activation_constants,
    assert_constants_changed,
    forest_sample,
    import_torchvision,
    train_one_epoch,
)

import_torchvision()
timm = pytest.importorskip("timm")

import nsad_lib  # noqa: E402
from nsad_lib.errors import UnknownEntryError  # noqa: E402
from nsad_lib.integrations import find_activations  # noqa: E402
from nsad_lib.integrations import timm as nsad_timm  # noqa: E402
from nsad_lib.nn.activation import SymbolicActivation  # noqa: E402

BUILTIN_ACTS = (torch.nn.ReLU, torch.nn.GELU, torch.nn.SiLU, torch.nn.Tanh, torch.nn.ReLU6, torch.nn.LeakyReLU)


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


def _resnet(act_layer):
    torch.manual_seed(0)
    return timm.create_model("resnet18", pretrained=False, num_classes=10, act_layer=act_layer)


def test_resnet18_uses_the_nsad_activation_everywhere_forward_backward_and_compiles_without_graph_breaks():
    model = _resnet(nsad_lib.get_act_layer("higgs-v1"))
    acts = find_activations(model)
    assert len(acts) == 17  # the stem + two per basic block, 8 blocks
    assert all(a.name == "higgs-v1" and str(a.formula) == "sin(a + b*sin(x) - x)" for _, a in acts)
    assert len({id(a) for _, a in acts}) == 17  # a fresh module per position
    assert not [m for m in model.modules() if isinstance(m, BUILTIN_ACTS)]

    x = torch.randn(2, 3, 32, 32)
    out = model(x)
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    out.square().sum().backward()
    grads = [p.grad for _, a in acts for p in a.parameters()]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)

    model.eval()
    explanation = torch._dynamo.explain(model)(x)
    assert explanation.graph_break_count == 0 and explanation.graph_count == 1, explanation.break_reasons
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)  # fullgraph: a break would raise
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), model(x), rtol=1e-4, atol=1e-5)


def test_register_puts_nsad_names_in_timms_table():
    assert nsad_timm.register(["higgs-v1", "forest-v1"]) == ["nsad:higgs-v1", "nsad:forest-v1"]
    model = _resnet("nsad:forest-v1")
    acts = find_activations(model)
    assert len(acts) == 17 and {a.name for _, a in acts} == {"forest-v1"}
    assert not [m for m in model.modules() if isinstance(m, BUILTIN_ACTS)]
    from timm.layers import create_act_layer

    assert isinstance(create_act_layer("nsad:higgs-v1", inplace=True), SymbolicActivation)
    all_names = nsad_timm.register()
    assert "nsad:silu-v1" in all_names and len(all_names) == len(nsad_lib.list_entries())


def test_unknown_id_fails_with_close_matches_before_anything_is_added():
    from timm.layers import create_act

    before = dict(create_act._ACT_LAYER_DEFAULT)
    with pytest.raises(UnknownEntryError, match=r"'higs-v1'; close matches: higgs-v1"):
        nsad_timm.register(["silu-v1", "higs-v1"])
    assert create_act._ACT_LAYER_DEFAULT == before
    with pytest.raises(UnknownEntryError, match="close matches: higgs-v1"):
        nsad_timm.act_layer("higs-v1")


def test_a_timm_mlp_trains_one_epoch_on_forest_and_its_constants_are_optimised():
    from timm.layers import Mlp

    X, y = forest_sample()
    torch.manual_seed(0)
    model = Mlp(in_features=X.shape[1], hidden_features=64, out_features=2, act_layer=nsad_timm.act_layer("higgs-v1:trainable"))
    before = activation_constants(model)
    assert set(before) == {"act.a", "act.b"}
    loss = train_one_epoch(model, X, y)
    assert loss < 0.69  # better than chance on the binary task
    assert_constants_changed(before, activation_constants(model))
