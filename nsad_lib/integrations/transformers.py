"""transformers: ``config.hidden_act = "nsad:<id>"`` through ``ACT2FN`` and ``ACT2CLS``.

Model code in transformers looks activations up by name: ``ACT2FN[config.hidden_act]`` (a fresh
module per lookup) or ``ACT2CLS[name]()``. :func:`register` adds the registry's ids under the
names ``nsad:<id>``::

    from nsad_lib.integrations.transformers import register
    register()                                   # every registry id, as nsad:<id>
    config = BertConfig(..., hidden_act="nsad:higgs-v1")

After :func:`register`, ``ACT2FN`` also resolves any other ``nsad:`` name on first use
(``nsad:higgs-v1:trainable``, ``nsad:hf://OWNER/REPO/ID@REV``), and an unknown one fails with the
registry's close-match error (:class:`~nsad_lib.errors.UnknownEntryError`, which names similar
ids) instead of a bare ``KeyError``. A model saved with ``save_pretrained`` keeps the name in its
``config.json`` and the trained constants in its weights; call :func:`register` in the process
that loads it, before ``from_pretrained``.
"""

from __future__ import annotations

from typing import Any, Iterable

from nsad_lib.integrations._names import PREFIX, registry_ids, strip_prefix

__all__ = ["PREFIX", "register"]


def _activations_module():
    from nsad_lib.util.optional import require

    return require("transformers.activations", "transformers", "the transformers integration")


def _nsad_instantier(base: type) -> type:
    """A subclass of transformers' ``ClassInstantier`` that resolves unknown ``nsad:`` names."""

    class NsadClassInstantier(base):  # type: ignore[misc, valid-type]
        def __contains__(self, key: object) -> bool:
            return super().__contains__(key) or strip_prefix(key) is not None  # type: ignore[arg-type]

        def __missing__(self, key: Any) -> Any:
            ref = strip_prefix(key)
            if ref is None:
                raise KeyError(key)
            from nsad_lib.registry.factory import get_act_layer

            factory = get_act_layer(ref)  # an unknown id raises UnknownEntryError (close matches)
            self[key] = factory
            return factory

    NsadClassInstantier.__name__ = NsadClassInstantier.__qualname__ = f"Nsad{base.__name__}"
    return NsadClassInstantier


def register(ids: Iterable[str] | None = None) -> list[str]:
    """Add ``nsad:<id>`` to ``ACT2FN`` and ``ACT2CLS`` for each id (default: every registry entry).

    Returns the names added. Unknown ids fail with the registry's close-match error before
    anything is added. Safe to call more than once.
    """
    from nsad_lib.registry.factory import get_act_layer

    activations = _activations_module()
    factories = {f"{PREFIX}{ref}": get_act_layer(ref) for ref in registry_ids(ids)}
    act2fn = activations.ACT2FN
    if not type(act2fn).__name__.startswith("Nsad"):
        act2fn.__class__ = _nsad_instantier(type(act2fn))
    for name, factory in factories.items():
        activations.ACT2CLS[name] = factory
        act2fn[name] = factory
    return list(factories)
