"""scikit-learn style: skorch's NeuralNetClassifier around nsad-lib's MLP, in a Pipeline and a GridSearchCV."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from integrations_env import activation_constants, assert_constants_changed, forest_sample

skorch = pytest.importorskip("skorch")
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer, StandardScaler  # noqa: E402

from nsad_lib.integrations.skorch import MLP, classifier  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


def _to_float32(X):
    return np.asarray(X, dtype=np.float32)


def test_one_epoch_on_forest_trains_the_activation_constants():
    X, y = forest_sample()
    torch.manual_seed(0)
    net = classifier(n_features=X.shape[1], activation="higgs-v1:trainable", max_epochs=1).initialize()
    before = activation_constants(net.module_)
    assert len(before) == 2
    net.fit(X.numpy(), y.numpy())
    assert_constants_changed(before, activation_constants(net.module_))
    assert net.score(X.numpy(), y.numpy()) > 0.6
    assert net.history[-1, "train_loss"] < 0.69


def test_grid_search_over_activation_ids_in_a_pipeline():
    X, y = forest_sample(rows=1200)
    pipe = make_pipeline(StandardScaler(), FunctionTransformer(_to_float32), classifier(n_features=54, max_epochs=2))
    ids = ["relu", "higgs-v1:trainable", "forest-v1"]
    torch.manual_seed(0)
    grid = GridSearchCV(pipe, {"neuralnetclassifier__module__activation": ids}, cv=2, scoring="accuracy")
    grid.fit(X.numpy().astype(np.float64), y.numpy())
    assert list(grid.cv_results_["param_neuralnetclassifier__module__activation"]) == ids
    assert np.all(grid.cv_results_["mean_test_score"] > 0.55)
    best = grid.best_estimator_[-1].module_
    assert isinstance(best, MLP)
    assert grid.best_params_["neuralnetclassifier__module__activation"] in ids
    assert grid.predict(X.numpy()[:10]).shape == (10,)
