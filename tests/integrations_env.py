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
