"""transformers: ``config.hidden_act = "nsad:<id>"`` through ACT2FN/ACT2CLS; tiny models from configs, no download."""

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
transformers = pytest.importorskip("transformers")

from nsad_lib.errors import UnknownEntryError  # noqa: E402
from nsad_lib.integrations import find_activations  # noqa: E402
from nsad_lib.integrations import transformers as nsad_transformers  # noqa: E402
from nsad_lib.nn.activation import SymbolicActivation  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


def _tiny_bert_config(act: str, **extra):
    return transformers.BertConfig(
        vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=16, hidden_act=act, **extra,
    )


def test_register_adds_nsad_names_to_act2fn_and_act2cls():
    from transformers.activations import ACT2CLS, ACT2FN, get_activation

    names = nsad_transformers.register()
    assert "nsad:higgs-v1" in names and "nsad:silu-v1" in names
    for name in ("nsad:higgs-v1", "nsad:silu-v1"):
        assert name in ACT2FN and name in ACT2CLS
    first, second = ACT2FN["nsad:higgs-v1"], ACT2FN["nsad:higgs-v1"]
    assert isinstance(first, SymbolicActivation) and first is not second and first.name == "higgs-v1"
    assert isinstance(ACT2CLS["nsad:forest-v1"](), SymbolicActivation)
    assert isinstance(get_activation("nsad:higgs-v1"), SymbolicActivation)
    # names not registered by id resolve on first use (variants); the built-in names still work
    fixed = ACT2FN["nsad:higgs-v1:fixed"]
    assert not list(fixed.parameters()) and fixed.name == "higgs-v1"
    assert type(ACT2FN["gelu"]).__name__ == "GELUActivation"
    with pytest.raises(KeyError):
        ACT2FN["no-such-builtin"]
    assert nsad_transformers.register(["higgs-v1"]) == ["nsad:higgs-v1"]  # idempotent


def test_unknown_nsad_id_fails_with_the_close_match_error_not_a_bare_keyerror():
    from transformers.activations import ACT2FN, get_activation

    nsad_transformers.register(["higgs-v1"])
    for lookup in (lambda: ACT2FN["nsad:higs-v1"], lambda: get_activation("nsad:higs-v1"),
                   lambda: transformers.BertModel(_tiny_bert_config("nsad:higs-v1"))):
        with pytest.raises(UnknownEntryError, match=r"no registry entry 'higs-v1'; close matches: higgs-v1"):
            lookup()
    with pytest.raises(UnknownEntryError, match="close matches: higgs-v1"):
        nsad_transformers.register(["higs-v1"])


def test_tiny_bert_forward_backward_save_and_reload_with_the_activation_intact(tmp_path):
    nsad_transformers.register(["higgs-v1"])
    torch.manual_seed(0)
    model = transformers.BertModel(_tiny_bert_config("nsad:higgs-v1"))
    acts = find_activations(model)
    assert [name for name, _ in acts] == [f"encoder.layer.{i}.intermediate.intermediate_act_fn" for i in range(2)]
    ids = torch.randint(0, 40, (3, 8))
    out = model(input_ids=ids).last_hidden_state
    out.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for _, a in acts for p in a.parameters())
    with torch.no_grad():  # move the constants off their registry values, so the reload must restore them
        for _, act in acts:
            act.a.add_(0.25)
            act.b.sub_(0.125)
    model.eval()
    with torch.no_grad():
        expected = model(input_ids=ids).last_hidden_state
    model.save_pretrained(tmp_path / "bert")
    assert '"hidden_act": "nsad:higgs-v1"' in (tmp_path / "bert" / "config.json").read_text()

    reloaded = transformers.BertModel.from_pretrained(tmp_path / "bert").eval()
    for name, value in activation_constants(model).items():
        assert torch.equal(activation_constants(reloaded)[name], value), name
    assert all(a.name == "higgs-v1" for _, a in find_activations(reloaded))
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_ids=ids).last_hidden_state, expected)


def test_a_tiny_bert_classifier_trains_one_epoch_on_forest_and_its_constants_are_optimised():
    nsad_transformers.register(["forest-v1"])
    X, y = forest_sample()
    torch.manual_seed(0)
    config = _tiny_bert_config("nsad:forest-v1", num_labels=2)
    bert = transformers.BertForSequenceClassification(config)
    embed = torch.nn.Linear(X.shape[1], config.hidden_size)  # each row as one token's embedding
    model = torch.nn.ModuleDict({"embed": embed, "bert": bert})
    before = activation_constants(model)
    assert len(before) == 4  # a and b in each of the two layers

    def forward(batch):
        return bert(inputs_embeds=embed(batch).unsqueeze(1)).logits

    loss = train_one_epoch(model, X, y, forward=forward)
    assert loss < 0.69
    assert_constants_changed(before, activation_constants(model))
