"""Activation specs to modules, in the shape of timm's ``get_act_layer`` / ``create_act_layer``.

A spec is a torch builtin name (``relu``, ``gelu``, ``silu``, ``tanh``), a registry id or name
(``higgs-v1``, ``higgs``), a reference with a scheme (``hf://OWNER/REPO/ID[@REVISION]``),
optionally suffixed ``:trainable`` or ``:fixed`` (whether the formula's constants train), or
already a class or callable, which passes straight through. Every call of the returned factory
builds a *fresh* module (shared instances break hooks and per-position trainable constants).
"""

from __future__ import annotations

from typing import Any, Callable, Union

from torch import nn

from nsad_lib.errors import NsadError
from nsad_lib.registry.resolve import pin_scheme, split_variant
from nsad_lib.registry.store import get

__all__ = ["BUILTIN_ACTIVATIONS", "ActivationFactory", "create_act_layer", "get_act_layer", "split_variant"]

ActivationFactory = Callable[..., nn.Module]

BUILTIN_ACTIVATIONS: dict[str, ActivationFactory] = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}
#: ``:variant`` suffix -> ``trainable`` argument of :func:`~nsad_lib.registry.store.get`.
VARIANTS: dict[str, bool | None] = {"": None, "trainable": True, "fixed": False}


def get_act_layer(spec: Union[str, ActivationFactory, None]) -> ActivationFactory | None:
    """A factory of fresh activation modules for ``spec`` (``None`` and callables pass through).

    Unknown ids fail here, before any model is built. A Hub reference is pulled and verified
    once and pinned to that commit, so every module built later is the same formula. The factory
    accepts and ignores ``inplace=`` (timm passes it; a formula has no in-place form).
    """
    if spec is None or callable(spec):
        return spec
    if not isinstance(spec, str):
        raise NsadError(f"activation spec must be a name, an id or a callable, not {type(spec).__name__}")
    name, variant = split_variant(spec)
    if name.lower() in BUILTIN_ACTIVATIONS and not variant:
        return BUILTIN_ACTIVATIONS[name.lower()]
    if variant not in VARIANTS:
        raise NsadError(f"activation {spec!r}: unknown variant {variant!r}; use :trainable or :fixed")
    trainable = VARIANTS[variant]
    name = pin_scheme(name)
    get(name, trainable=trainable)  # fail now on an unknown id (UnknownEntryError)

    def make(*, inplace: bool | None = None, **_: Any) -> nn.Module:
        return get(name, trainable=trainable)

    make.__name__ = f"activation_{name}"
    return make


def create_act_layer(spec: Union[str, ActivationFactory], **kwargs: Any) -> nn.Module:
    """A fresh activation module for ``spec`` (``get_act_layer(spec)(**kwargs)``)."""
    factory = get_act_layer(spec)
    if factory is None:
        raise NsadError("create_act_layer needs a spec, not None")
    return factory(**kwargs)
