"""timm: nsad-lib activations as ``act_layer=``, by factory or by ``"nsad:<id>"`` name.

timm's model constructors take ``act_layer=`` as a class, a callable or a name looked up in its
activation table, and call it with ``inplace=``. :func:`nsad_lib.get_act_layer` already returns
such a callable (a fresh module per call, ``inplace`` ignored), so the plain way needs nothing
from this module::

    import timm, nsad_lib
    model = timm.create_model("resnet18", pretrained=False, num_classes=10,
                              act_layer=nsad_lib.get_act_layer("higgs-v1"))

:func:`register` also puts ``nsad:<id>`` names into timm's table, so configs that name the
activation by string work too: ``timm.create_model("resnet18", act_layer="nsad:higgs-v1")``.
"""

from __future__ import annotations

from typing import Iterable

from nsad_lib.integrations._names import PREFIX, registry_ids

__all__ = ["PREFIX", "act_layer", "register"]


def _timm_create_act():
    from nsad_lib.util.optional import require

    return require("timm.layers.create_act", "timm", "the timm integration")


def act_layer(spec):
    """The ``act_layer=`` value for ``spec`` (an id, ``id:trainable``, ``hf://...``); unknown ids fail now."""
    from nsad_lib.registry.factory import get_act_layer

    return get_act_layer(spec)


def register(ids: Iterable[str] | None = None) -> list[str]:
    """Add ``nsad:<id>`` to timm's activation table for each id (default: every registry entry).

    Returns the names added. timm lower-cases names before the lookup, so ids are registered
    lower-cased (registry ids are lower case). Unknown ids fail with the registry's close-match
    error before anything is added.
    """
    from nsad_lib.registry.factory import get_act_layer

    create_act = _timm_create_act()
    factories = {f"{PREFIX}{ref}".lower(): get_act_layer(ref) for ref in registry_ids(ids)}
    create_act._ACT_LAYER_DEFAULT.update(factories)
    return list(factories)
