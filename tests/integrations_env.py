"""Make torchvision importable beside the CPU torch wheel, for the timm and transformers tests.

PyPI's torchvision wheels for Linux x86_64 are built against CUDA torch: beside the CPU torch
wheel these machines use (torch 2.13.0+cpu), their C extension cannot load
(``libc10_cuda.so: cannot open shared object file``). torchvision then stops its own import at an
unguarded ``register_fake("torchvision::nms")`` ("operator torchvision::nms does not exist"), and
so do ``import timm`` (which needs ``torchvision.ops.misc.FrozenBatchNorm2d``) and transformers'
model modules (which import torchvision whenever it is installed). Where that happens, this
defines the schemas of the two operators that import registers fakes for (their C kernels stay
missing; nothing here calls them) and imports torchvision again. Where torchvision loads
normally, it does nothing.
"""

from __future__ import annotations

import sys

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_LIBRARY = None  # kept alive: dropping a torch.library.Library removes its definitions


def import_torchvision() -> bool:
    """Import torchvision (if installed); True when the CPU-wheel workaround was needed."""
    global _LIBRARY
    try:
        import torchvision  # noqa: F401

        return False
    except ModuleNotFoundError:
        return False
    except RuntimeError as exc:
        if "torchvision::nms" not in str(exc):
            raise
    for name in [name for name in sys.modules if name == "torchvision" or name.startswith("torchvision.")]:
        del sys.modules[name]
    import torch

    _LIBRARY = torch.library.Library("torchvision", "FRAGMENT")
    for schema in _SCHEMAS.values():
        _LIBRARY.define(schema)
    import torchvision  # noqa: F401,F811

    return True


def forest_sample(rows: int | None = None):
    """The Forest Cover sample shipped with nsad-lib, standardised: ``(X float32 tensor, y int64 tensor)``."""
    import torch

    from nsad_lib.data import datasets

    ds = datasets.load("forest", sample=True)
    X = torch.as_tensor(ds.X, dtype=torch.float32)
    y = torch.as_tensor(ds.y, dtype=torch.int64)
    if rows is not None:
        X, y = X[:rows], y[:rows]
    X = (X - X.mean(0)) / X.std(0).clamp_min(1e-6)
    return X, y


def activation_constants(model) -> dict[str, "torch.Tensor"]:  # noqa: F821
    """A copy of every trainable constant of the nsad-lib activations in ``model``."""
    from nsad_lib.integrations import find_activations

    return {
        f"{name}.{pname}": p.detach().clone()
        for name, act in find_activations(model)
        for pname, p in act.named_parameters(recurse=False)
    }


def train_one_epoch(model, X, y, *, forward=None, batch_size: int = 128, lr: float = 1e-2, seed: int = 0) -> float:
    """One epoch of Adam on cross-entropy over all of ``model.parameters()``; the last batch's loss."""
    import torch

    torch.manual_seed(seed)
    forward = forward or model
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    loss = torch.tensor(float("nan"))
    for index in torch.randperm(len(X)).split(batch_size):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(forward(X[index]), y[index])
        loss.backward()
        optimiser.step()
    return float(loss.detach())


def assert_constants_changed(before: dict, after: dict) -> None:
    assert before and set(before) == set(after)
    for name, value in before.items():
        assert not torch_equal(value, after[name]), f"{name} did not change: it is not being trained"


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))
