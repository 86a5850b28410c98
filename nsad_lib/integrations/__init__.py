"""Drop-in connections to the libraries where models are built from names.

Each module imports its optional package only when called, so ``import nsad_lib`` (and this
package) stay light:

- :mod:`nsad_lib.integrations.timm`: ``act_layer=`` for timm models, and ``"nsad:<id>"`` names
  in timm's activation table (extra ``[timm]``).
- :mod:`nsad_lib.integrations.transformers`: ``config.hidden_act = "nsad:<id>"`` through
  ``ACT2FN``/``ACT2CLS`` (extra ``[transformers]``).
- :mod:`nsad_lib.integrations.hub_mixin`: a ``PyTorchModelHubMixin`` whose ``config.json``
  records the registry ids and revisions of the activations in the model (core: huggingface_hub).
- :mod:`nsad_lib.integrations.skorch`: a small MLP module and classifier for scikit-learn
  pipelines and grid searches over activation ids (extra ``[skorch]``).
"""

from __future__ import annotations

__all__ = ["activation_records", "find_activations"]


def find_activations(model):  # -> list[tuple[str, SymbolicActivation]]
    """Every nsad-lib activation module in ``model``, as ``(qualified name, module)`` pairs."""
    from nsad_lib.nn.activation import SymbolicActivation

    return [(name, module) for name, module in model.named_modules() if isinstance(module, SymbolicActivation)]


def activation_records(model) -> dict[str, dict]:
    """What identifies each nsad-lib activation in ``model``: ``{qualified name: record}``.

    A record holds the registry ``id`` (whose ``-vN`` suffix is the published revision), the
    entry's ``sha256`` (its content hash in the registry that resolves the id here; ``None`` where
    the id does not resolve locally, e.g. an ``hf://`` entry), the ``formula`` text and whether
    its constants train.
    """
    from nsad_lib.errors import NsadError
    from nsad_lib.registry.store import default_registry

    registry = default_registry()
    records: dict[str, dict] = {}
    for name, module in find_activations(model):
        sha256 = None
        try:
            entry = registry.resolve(module.name)
        except NsadError:
            entry = None
        if entry is not None and entry.id == module.name and str(entry.formula_object()) == str(module.formula):
            sha256 = entry.sha256
        records[name] = {
            "id": module.name,
            "sha256": sha256,
            "formula": str(module.formula),
            "trainable": bool(module.trainable),
        }
    return records
