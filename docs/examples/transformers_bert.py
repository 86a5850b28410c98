"""config.hidden_act = "nsad:<id>": a tiny BERT from a config (no download), saved and reloaded."""

import tempfile

import torch
from transformers import BertConfig, BertModel

from nsad_lib.integrations.transformers import register

register()  # every registry id as nsad:<id> in ACT2FN / ACT2CLS
config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, hidden_act="nsad:higgs-v1")
model = BertModel(config).eval()
ids = torch.randint(0, 100, (1, 12))
with tempfile.TemporaryDirectory() as folder:
    model.save_pretrained(folder)  # config.json keeps "nsad:higgs-v1"; the weights keep the constants
    again = BertModel.from_pretrained(folder).eval()  # in a new process: call register() first
with torch.no_grad():
    assert torch.allclose(model(input_ids=ids).last_hidden_state, again(input_ids=ids).last_hidden_state)
print(again.encoder.layer[0].intermediate.intermediate_act_fn)
