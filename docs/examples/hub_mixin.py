"""A user model with nsad-lib activations that saves and loads like any PyTorchModelHubMixin model."""

import json
import tempfile
from pathlib import Path

import torch
import torch.nn as nn

import nsad_lib
from nsad_lib.integrations.hub_mixin import NsadModelHubMixin


class ForestNet(nn.Module, NsadModelHubMixin):
    def __init__(self, n_in: int = 54, hidden: int = 32, act: str = "higgs-v1:trainable"):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, hidden), nsad_lib.get_act_layer(act)(), nn.Linear(hidden, 2))

    def forward(self, x):
        return self.body(x)


model = ForestNet()
with tempfile.TemporaryDirectory() as folder:
    model.save_pretrained(folder)  # or model.push_to_hub("you/forest-net")
    config = json.loads((Path(folder) / "config.json").read_text())
    print(config["act"], config["nsad_activations"]["body.1"]["id"], config["nsad_activations"]["body.1"]["sha256"][:12])
    again = ForestNet.from_pretrained(folder)  # checks the rebuilt activations against the record
x = torch.randn(4, 54)
assert torch.equal(model(x), again(x))
