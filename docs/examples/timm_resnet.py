"""A timm model built from scratch with an nsad-lib activation, by factory and by name."""

import timm
import torch

import nsad_lib
from nsad_lib.integrations import find_activations
from nsad_lib.integrations.timm import register

# 1. a factory: timm calls it (with inplace=) at every activation position
model = timm.create_model("resnet18", pretrained=False, num_classes=10, act_layer=nsad_lib.get_act_layer("higgs-v1"))
print(len(find_activations(model)), "nsad-lib activations")  # 17

# 2. a name: register() adds nsad:<id> to timm's activation table
register(["forest-v1"])
model = timm.create_model("resnet18", pretrained=False, num_classes=10, act_layer="nsad:forest-v1")
logits = model(torch.randn(2, 3, 32, 32))
logits.sum().backward()
print(logits.shape)
