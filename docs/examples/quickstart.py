"""A registry activation in a plain torch model, trained for a few steps."""

import torch
import torch.nn as nn

import nsad_lib

torch.manual_seed(0)
act = nsad_lib.get("higgs-v1", trainable=True)  # sin(a + b*sin(x) - x), a fresh nn.Module
net = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), act, nn.Linear(16, 1))
x, target = torch.randn(256, 8), torch.randn(256, 1)
optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)  # the formula's constants a, b train too
for _ in range(20):
    optimiser.zero_grad()
    loss = nn.functional.mse_loss(net(x), target)
    loss.backward()
    optimiser.step()
print(act, f"loss {loss.item():.3f}")
