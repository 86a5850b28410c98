"""scikit-learn: an MLP module for skorch, so pipelines and grid searches can vary the activation.

skorch wraps a torch module as a scikit-learn estimator (``fit``/``predict_proba``,
``get_params``/``set_params``, ``clone``), so it works inside ``Pipeline`` and ``GridSearchCV``.
Its module arguments are estimator parameters (``module__activation``), and an activation *id*
is a plain string, so a grid over ids clones cleanly::

    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from nsad_lib.integrations.skorch import classifier

    pipe = make_pipeline(StandardScaler(), classifier(n_features=54, max_epochs=5))
    grid = GridSearchCV(pipe, {"neuralnetclassifier__module__activation": ["relu", "higgs-v1:trainable"]}, cv=3)

The inputs must be ``float32`` (``X.astype("float32")``, or a ``FunctionTransformer`` after the
scaler) and the labels ``int64`` class indices, as skorch expects.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nsad_lib.registry.factory import get_act_layer

__all__ = ["MLP", "classifier"]


class MLP(nn.Module):
    """``n_features -> hidden -> ... -> n_classes`` with batch norm and the given activation.

    ``activation`` is any spec :func:`nsad_lib.get_act_layer` takes: ``"relu"``, a registry id,
    ``"higgs-v1:trainable"``, an ``hf://`` reference. Each position gets a fresh module, so
    trainable constants are per layer.
    """

    def __init__(self, n_features: int = 54, n_classes: int = 2, hidden: tuple[int, ...] | int = (64,),
                 activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        widths = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        make_act = get_act_layer(activation)
        layers: list[nn.Module] = []
        width_in = n_features
        for width in widths:
            layers += [nn.Linear(width_in, width), nn.BatchNorm1d(width), make_act()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width_in = width
        layers.append(nn.Linear(width_in, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.net(X)


def classifier(n_features: int = 54, n_classes: int = 2, hidden: tuple[int, ...] | int = (64,),
               activation: str = "relu", **net_kwargs: Any):
    """A ``skorch.NeuralNetClassifier`` around :class:`MLP` (module arguments become ``module__*``).

    Defaults that suit small tabular data and can be overridden: Adam, lr 1e-2, batch size 128,
    10 epochs, cross-entropy on logits, no internal validation split (``train_split=None``; the
    grid search does the validation), quiet.
    """
    from nsad_lib.util.optional import require

    skorch = require("skorch", "skorch", "the skorch integration")

    options: dict[str, Any] = {
        "criterion": torch.nn.CrossEntropyLoss,
        "optimizer": torch.optim.Adam,
        "lr": 1e-2,
        "batch_size": 128,
        "max_epochs": 10,
        "train_split": None,
        "verbose": 0,
    }
    options.update(net_kwargs)
    return skorch.NeuralNetClassifier(
        MLP,
        module__n_features=n_features,
        module__n_classes=n_classes,
        module__hidden=hidden,
        module__activation=activation,
        **options,
    )
