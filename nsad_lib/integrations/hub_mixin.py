"""A ``PyTorchModelHubMixin`` that records and checks the model's nsad-lib activations.

``huggingface_hub.PyTorchModelHubMixin`` already stores a model's ``__init__`` arguments in
``config.json`` (so an ``act="higgs-v1"`` argument travels) and its weights in
``model.safetensors`` (trainable constants included). :class:`NsadModelHubMixin` adds, under the
key ``"nsad_activations"``, each activation's registry id (its ``-vN`` suffix is the published
revision), the entry's sha256 and the formula text, and on ``from_pretrained`` checks that the
rebuilt model has exactly those formulas: a receiver whose registry resolves an id to different
content gets an :class:`~nsad_lib.errors.EntryError` naming the module, not silently another
activation::

    import torch.nn as nn, nsad_lib
    from nsad_lib.integrations.hub_mixin import NsadModelHubMixin

    class Net(nn.Module, NsadModelHubMixin):
        def __init__(self, n_in: int = 54, hidden: int = 32, act: str = "higgs-v1:trainable"):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(n_in, hidden), nsad_lib.get_act_layer(act)(), nn.Linear(hidden, 1))

        def forward(self, x):
            return self.body(x)

    Net().push_to_hub("you/forest-net")
    Net.from_pretrained("you/forest-net")
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from huggingface_hub import PyTorchModelHubMixin

from nsad_lib.errors import EntryError
from nsad_lib.integrations import activation_records

__all__ = ["CONFIG_KEY", "NsadModelHubMixin", "check_records"]

#: The ``config.json`` key that holds the activation records.
CONFIG_KEY = "nsad_activations"


def check_records(model: Any, recorded: dict[str, dict]) -> None:
    """Raise :class:`EntryError` unless ``model``'s activations are the ``recorded`` ones."""
    current = activation_records(model)
    if set(current) != set(recorded):
        raise EntryError(
            f"config.json records nsad-lib activations at {sorted(recorded)}, the rebuilt model has them at {sorted(current)}"
        )
    for name, want in recorded.items():
        have = current[name]
        same_formula = have["id"] == want.get("id") and have["formula"] == want.get("formula")
        same_content = want.get("sha256") is None or have["sha256"] is None or have["sha256"] == want["sha256"]
        if not (same_formula and same_content):
            raise EntryError(
                f"module {name!r}: config.json records {want.get('id')} = {want.get('formula')} (sha256 {want.get('sha256')}), "
                f"but this registry built {have['id']} = {have['formula']} (sha256 {have['sha256']}); "
                "install the entry the model was saved with (e.g. pull it from the Hub) and load again"
            )


class NsadModelHubMixin(PyTorchModelHubMixin):
    """``PyTorchModelHubMixin`` plus the ``"nsad_activations"`` record in ``config.json``."""

    def save_pretrained(self, save_directory: str | Path, *, config: Any = None, **kwargs: Any) -> Any:
        base = config if config is not None else self._hub_mixin_config
        if base is not None and not isinstance(base, dict):
            from dataclasses import asdict, is_dataclass

            base = asdict(base) if is_dataclass(base) else dict(base)
        merged = {**(base or {}), CONFIG_KEY: activation_records(self)}
        return super().save_pretrained(save_directory, config=merged, **kwargs)

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        **model_kwargs: Any,
    ) -> Any:
        model = super()._from_pretrained(
            model_id=model_id,
            revision=revision,
            cache_dir=cache_dir,
            force_download=force_download,
            local_files_only=local_files_only,
            token=token,
            **model_kwargs,
        )
        if os.path.isdir(model_id):
            config_file: str | None = os.path.join(model_id, "config.json")
        else:
            from huggingface_hub import hf_hub_download
            from huggingface_hub.errors import EntryNotFoundError

            try:
                config_file = hf_hub_download(
                    repo_id=model_id, filename="config.json", revision=revision, cache_dir=cache_dir,
                    token=token, local_files_only=local_files_only,
                )
            except EntryNotFoundError:
                config_file = None
        if config_file is not None and os.path.isfile(config_file):
            recorded = json.loads(Path(config_file).read_text(encoding="utf-8")).get(CONFIG_KEY)
            if recorded is not None:
                check_records(model, recorded)
        return model
