"""Trained parameters of an entry: a safetensors state dict, checked before it is trusted.

Weights never go through pickle: they are serialised with ``safetensors.torch.save`` (canonical
bytes, so the same values always hash the same), parsed with ``safetensors.torch.load``, and
must load with ``load_state_dict(strict=True)`` into the entry's module and hold finite
floats. Pulled weights keep a ``<id>.safetensors.sha256`` record (``sha256sum`` format)
beside them that every load checks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from nsad_lib.hub._common import MAX_RECORD_BYTES, SHA256_RE, HubError, sha256_bytes
from nsad_lib.registry.entry import Entry
from nsad_lib.util.atomic import atomic_write_bytes
from nsad_lib.util.paths import UnsafeFileError, read_bounded

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from nsad_lib.nn.activation import SymbolicActivation

__all__ = ["build_module", "load_weights", "recorded_weights_sha256", "weights_bytes", "weights_record", "write_weights"]


# -- trained parameters -------------------------------------------------------------------
def _module(entry: Entry, trainable: bool | None, compile: bool = False) -> "SymbolicActivation":
    from nsad_lib.nn.activation import SymbolicActivation

    train = entry.trainable if trainable is None else bool(trainable)
    return SymbolicActivation(entry.formula_object(), trainable=train, compile=compile, name=entry.id)


_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def _check_state(entry: Entry, state: Mapping[str, "torch.Tensor"], where: str) -> dict[str, "torch.Tensor"]:
    """The state dict must load strictly into the entry's module and hold finite values.

    Only float16/bfloat16/float32/float64 tensors are accepted, and finiteness is checked
    after conversion to the dtype of the parameter each value is loaded into (a float64 1e300
    is finite, but would become inf in a float32 parameter).
    """
    import torch

    if not entry.parameters:
        raise HubError(f"{where}: entry {entry.id!r} has no named constants, so it cannot carry trained parameters")
    module = _module(entry, True)
    targets = module.state_dict()
    allowed = tuple(getattr(torch, name) for name in _FLOAT_DTYPES)
    tensors = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor) or value.dtype not in allowed:
            kind = str(value.dtype).replace("torch.", "") if isinstance(value, torch.Tensor) else type(value).__name__
            raise HubError(f"{where}: parameter {key!r} has type {kind}; expected a tensor of {', '.join(_FLOAT_DTYPES)}")
        value = value.detach().to("cpu").contiguous()
        target = targets.get(key)
        as_loaded = value.to(target.dtype) if isinstance(target, torch.Tensor) else value
        if not bool(torch.isfinite(as_loaded).all()):
            dtype = str(as_loaded.dtype).replace("torch.", "")
            raise HubError(f"{where}: parameter {key!r} must be finite as {dtype} (it holds inf/nan or overflows that dtype)")
        tensors[key] = value
    try:
        module.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise HubError(f"{where}: parameters do not match entry {entry.id!r} ({' '.join(first[:3])})") from None
    # What a fresh module holds after loading (its dtype and shapes) is what gets published.
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def weights_bytes(entry: Entry, value: Any) -> bytes:
    """Serialise trained parameters (a module, a state dict or a .safetensors path) canonically."""
    from safetensors.torch import load_file, save
    from torch import nn

    where = f"weights for {entry.id}"
    if isinstance(value, nn.Module):
        state = value.state_dict()
    elif isinstance(value, (str, os.PathLike)):
        try:
            state = load_file(str(value))
        except Exception as exc:  # safetensors raises its own error types for bad files
            raise HubError(f"{value}: not a readable safetensors file: {exc}") from None
    elif isinstance(value, Mapping):
        state = dict(value)
    else:
        raise HubError(f"{where}: expected a module, a state dict or a .safetensors path, got {type(value).__name__}")
    return save(_check_state(entry, state, where))


def load_weights(entry: Entry, data: bytes, where: str) -> dict[str, "torch.Tensor"]:
    """Parse safetensors bytes (never pickle) and check them against the entry."""
    from safetensors.torch import load

    try:
        state = load(data)
    except Exception as exc:  # safetensors' own error types
        raise HubError(f"refused {where}: not a valid safetensors file: {exc}") from None
    return _check_state(entry, state, f"refused {where}")


def build_module(entry: Entry, state: Mapping[str, "torch.Tensor"] | None, trainable: bool | None = None, compile: bool = False) -> "SymbolicActivation":
    """A fresh module for ``entry``, with trained parameters loaded strictly when given."""
    module = _module(entry, trainable, compile)
    if state is not None:
        module.load_state_dict(dict(state), strict=True)
    return module


def weights_record(path: Path) -> Path:
    """The ``sha256sum``-style record kept beside a pulled ``.safetensors`` file."""
    return path.with_name(path.name + ".sha256")


def write_weights(path: Path, data: bytes) -> str:
    """Write pulled weights and their sha256 record (both atomically); returns the sha256."""
    digest = sha256_bytes(data)
    atomic_write_bytes(path, data)
    atomic_write_bytes(weights_record(path), f"{digest}  {path.name}\n".encode("ascii"))
    return digest


def recorded_weights_sha256(path: Path) -> str | None:
    """The sha256 recorded for ``path`` at pull time, or None when there is no record."""
    record = weights_record(path)
    try:
        digest = read_bounded(record, MAX_RECORD_BYTES).decode("ascii").split()[0]
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, IndexError, UnsafeFileError) as exc:
        raise HubError(f"{record}: unreadable weights record: {exc}") from None
    if not SHA256_RE.match(digest):
        raise HubError(f"{record}: not a sha256 record")
    return digest
