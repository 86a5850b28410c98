"""Issue 16.2: multiclass and regression in the training harness, loaders, discovery and the probe."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from nsad_lib.data.tabular import infer_task, load_file
from nsad_lib.data.types import Dataset, DatasetMeta
from nsad_lib.errors import DataError
from nsad_lib.training import protocol
from nsad_lib.training.protocol import heavy_model, light_model, param_counts, train_and_evaluate


def _named(name: str) -> Dataset:
    from nsad_lib.data import datasets

    try:
        return datasets.load(name)
    except DataError as exc:
        pytest.skip(f"{name} not available: {exc}")


@pytest.fixture(scope="module")
def covertype7() -> Dataset:
    ds = _named("covertype7")
    return ds.subset(np.arange(6000), note="first 6,000 rows (test)")


@pytest.fixture(scope="module")
def california() -> Dataset:
    return _named("california")


# -- target inference --------------------------------------------------------------------------
@pytest.mark.parametrize("values, task", [
    ([0, 1] * 30, "binary"),
    (["ham", "spam"] * 30, "binary"),
    ([0.5, 2.5] * 30, "binary"),  # two values are two classes, whatever they are
    ([1, 2, 3] * 20, "multiclass"),
    ([1.0, 2.0, 3.0, 7.0] * 15, "multiclass"),  # integer-valued floats are class codes
    (["a", "b", "c"] * 20, "multiclass"),
    (list(range(50)) * 2, "multiclass"),  # 50 distinct integers: still classes
    (list(range(51)) * 2, "regression"),  # 51: a quantity
    ([0.1, 0.2, 0.35] * 20, "regression"),  # non-integer values
])
def test_infer_task(values, task):
    assert infer_task(np.asarray(values)) == task
    assert infer_task(pd.Series(values)) == task


def _file(tmp_path, y, name="t.csv"):
    rng = np.random.default_rng(0)
    path = tmp_path / name
    pd.DataFrame({"a": rng.normal(size=len(y)), "b": rng.normal(size=len(y)), "y": y}).to_csv(path, index=False)
    return path


def test_text_labels_become_codes_with_classes(tmp_path):
    labels = np.array(["red", "green", "blue"] * 40)
    ds = load_file(_file(tmp_path, labels), target="y")
    assert ds.task == "multiclass" and ds.classes == ("blue", "green", "red") and ds.n_classes == 3
    assert ds.y.dtype == np.int64 and ds.output_width == 3
    np.testing.assert_array_equal(np.array(ds.classes)[ds.y], labels)  # codes decode to the labels
    assert any("3 classes mapped in sorted order to 0..2" in n for n in ds.meta.notes)
    assert ds.class_counts() == {"blue": 40, "green": 40, "red": 40}
    sub = ds.subset(np.arange(30))
    assert sub.task == "multiclass" and sub.classes == ds.classes


def test_task_override_and_clear_errors(tmp_path):
    rng = np.random.default_rng(3)
    y = rng.uniform(0, 10, 120).round(2)
    path = _file(tmp_path, y)
    assert load_file(path, target="y").task == "regression"
    with pytest.raises(DataError, match=r"regression target .*positive=5 \(--positive\) applies to class labels"):
        load_file(path, target="y", positive=5)
    with pytest.raises(DataError, match="non-integer values.*multiclass labels must be integers or text"):
        load_file(path, target="y", task="multiclass")
    codes = _file(tmp_path, np.arange(120) % 4, "codes.csv")
    ds = load_file(codes, target="y", task="regression")  # class codes read as a quantity when asked
    assert ds.task == "regression" and ds.y.dtype == np.float64
    with pytest.raises(DataError, match="task='regression' was asked for"):
        load_file(codes, target="y", task="regression", positive=1)
    with pytest.raises(DataError, match="unknown task 'ordinal'"):
        load_file(codes, target="y", task="ordinal")
    with pytest.raises(DataError, match="2 classes .*that is a binary task"):
        load_file(_file(tmp_path, np.arange(120) % 2, "two.csv"), target="y", task="multiclass")
    with pytest.raises(DataError, match="a regression target must hold numbers"):
        load_file(_file(tmp_path, np.array(["x", "y", "z"] * 40), "text.csv"), target="y", task="regression")
    with pytest.raises(DataError, match="60 distinct text labels"):
        load_file(_file(tmp_path, np.array([f"id{i}" for i in range(60)] * 2), "ids.csv"), target="y")


def test_dataset_validates_its_task():
    meta = DatasetMeta("t", "t", "y", 3)
    X = np.zeros((3, 1), np.float32)
    with pytest.raises(ValueError, match="unknown task"):
        Dataset("t", X, np.zeros(3, np.int64), ("a",), ("continuous",), meta, task="ranking")
    with pytest.raises(ValueError, match="integer codes 0..2"):
        Dataset("t", X, np.array([0, 1, 3]), ("a",), ("continuous",), meta, "multiclass", ("a", "b", "c"))
    with pytest.raises(ValueError, match="floating point"):
        Dataset("t", X, np.array([0, 1, 3]), ("a",), ("continuous",), meta, "regression")
    binary = Dataset("t", X, np.array([0, 1, 1]), ("a",), ("continuous",), meta)
    assert binary.task == "binary" and binary.n_classes == 2 and binary.output_width == 1


# -- shapes and parameter counts ---------------------------------------------------------------
def test_output_widths_and_param_counts():
    assert param_counts(28) == (26_601, 4_161)  # binary unchanged
    assert param_counts(54, "multiclass", 7) == (31_801 + 6 * 101, 5_825 + 6 * 33)
    assert param_counts(8, "regression") == (count := param_counts(8))  # same width, no sigmoid
    assert count == (22_601, 2_881)
    x = torch.randn(5, 54)
    heavy = heavy_model(54, "multiclass", 7).eval()
    light = light_model(54, torch.nn.ReLU, "multiclass", 7).eval()
    assert heavy(x).shape == (5, 7) and light(x).shape == (5, 7)
    assert not isinstance(light[-1], torch.nn.Sigmoid)
    reg = light_model(8, torch.nn.ReLU, "regression").eval()
    assert reg(torch.randn(5, 8)).shape == (5, 1) and isinstance(reg[-1], torch.nn.Linear)
    with pytest.raises(Exception, match="n_classes >= 3"):
        light_model(8, torch.nn.ReLU, "multiclass", None)


def test_macro_auc_matches_sklearn_ovr_macro():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 400)
    logits = rng.normal(size=(400, 4)) + np.eye(4)[y]
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = roc_auc_score(y, probs, multi_class="ovr", average="macro")
    assert protocol.macro_auc(y, probs) == pytest.approx(expected, abs=1e-12)
    y3 = np.where(y == 3, 0, y)  # class 3 absent from y_true: left out, no crash
    assert 0.5 < protocol.macro_auc(y3, probs) < 1.0


# -- real data, short trainings ----------------------------------------------------------------
def test_covertype7_light_and_heavy(covertype7):
    assert covertype7.task == "multiclass" and covertype7.classes == (1, 2, 3, 4, 5, 6, 7)
    assert covertype7.n_features == 54 and set(np.unique(covertype7.y)) <= set(range(7))
    light = train_and_evaluate(covertype7, "light", "relu", 42, epochs=2)
    assert light.task == "multiclass" and light.n_classes == 7 and light.params == 5_825 + 6 * 33
    # 7 classes, majority class (type 2) ~ 49%: two epochs on 4,800 rows land above chance
    assert 0.45 < light.accuracy < 0.85 and light.score == light.accuracy
    assert 0.6 < light.auc < 0.98 and light.macro_auc == light.auc
    assert light.rmse is None and light.r2 is None and light.non_finite_outputs == 0
    assert light.e_param == pytest.approx(light.auc / math.log10(light.params))
    heavy = train_and_evaluate(covertype7, "heavy", "relu", 42, epochs=2)
    assert heavy.params == 31_801 + 6 * 101 and 0.45 < heavy.accuracy < 0.9
    again = train_and_evaluate(covertype7, "light", "relu", 42, epochs=2)
    assert again.accuracy == light.accuracy and again.auc == light.auc  # deterministic per seed


def test_california_regression(california):
    assert california.task == "regression" and california.X.shape == (20_640, 8)
    assert california.meta.sha256 and california.n_classes is None
    r = train_and_evaluate(california, "light", "relu", 42, epochs=2)
    assert r.task == "regression" and r.n_classes is None and r.params == 2_881
    # targets in units of 100,000 USD (std ~1.15): 2 epochs explain a good part of the variance
    assert 0.3 < r.r2 < 0.9 and r.score == r.r2
    assert 0.5 < r.rmse < 1.0
    assert math.isnan(r.accuracy) and math.isnan(r.auc) and r.macro_auc is None
    # RMSE is in the target's units, R² consistent with it on the test split
    _, test = protocol.split_indices(california.n_rows, 42)
    sst = np.var(california.y[test])
    assert r.r2 == pytest.approx(1 - r.rmse ** 2 / sst, abs=1e-6)


def test_gradients_flow_for_every_task(covertype7, california):
    for ds in (covertype7.subset(np.arange(512)), california.subset(np.arange(512))):
        torch.manual_seed(0)
        model = light_model(ds.n_features, torch.nn.GELU, ds.task, ds.n_classes)
        X = torch.as_tensor((ds.X - ds.X.mean(0)) / (ds.X.std(0) + 1e-6), dtype=torch.float32)
        out = model(X)
        if ds.task == "multiclass":
            loss = torch.nn.functional.cross_entropy(out, torch.as_tensor(ds.y))
        else:
            y = torch.as_tensor((ds.y - ds.y.mean()) / ds.y.std(), dtype=torch.float32).reshape(-1, 1)
            loss = torch.nn.functional.mse_loss(out, y)
        loss.backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert model[0].weight.grad.abs().sum() > 0 and model[-1].weight.grad.abs().sum() > 0


def test_regression_targets_are_standardised_on_the_training_split():
    """Scaling y by 1000 changes nothing but the units of RMSE (R² identical)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3)).astype(np.float32)
    y = (X[:, 0] * 2 + np.sin(X[:, 1]) + 0.1 * rng.normal(size=600)).astype(np.float64)
    meta = DatasetMeta("t", "t", "y", 600)
    small = Dataset("s", X, y, ("a", "b", "c"), ("continuous",) * 3, meta, "regression")
    big = Dataset("b", X, y * 1000 + 5e4, ("a", "b", "c"), ("continuous",) * 3, meta, "regression")
    r1 = train_and_evaluate(small, "light", "relu", 42, epochs=40)  # 480 rows: one Adam step per epoch
    r2 = train_and_evaluate(big, "light", "relu", 42, epochs=40)
    assert r1.r2 == pytest.approx(r2.r2, abs=1e-4)
    assert r2.rmse == pytest.approx(1000 * r1.rmse, rel=1e-3)
    assert r1.r2 > 0.5


# -- discovery and the probe accept the new tasks ---------------------------------------------
def test_probe_on_multiclass_and_regression(covertype7, california):
    from nsad_lib.compat.check import check, evidence_record

    v = check("relu-v1", california.subset(np.arange(3000)), probe=True, probe_epochs=1, probe_rows=3000,
              probe_seeds=(42,))
    assert v.probe.task == "regression" and v.probe.metric == "r2"
    assert -1.0 < v.probe.baseline_relu < 0.9  # an R², not an accuracy
    assert any("R²" in r.text for r in v.reasons if r.rule == "probe")
    assert evidence_record(v)["evidence"]["metric"] == "r2"
    m = check("relu-v1", covertype7.subset(np.arange(3000)), probe=True, probe_epochs=1, probe_rows=3000,
              probe_seeds=(42,))
    assert m.probe.task == "multiclass" and m.probe.metric == "accuracy" and 0.2 < m.probe.baseline_relu < 0.9


def test_discover_validates_with_r2_and_macro_auc(california, covertype7, tmp_path):
    from nsad_lib.discovery import validate
    from nsad_lib.discovery.backends.base import Expression
    from nsad_lib.discovery.candidates import from_expressions
    from nsad_lib.discovery.source import SourceData, check_data_arg, prepare

    cands, _ = from_expressions([Expression("add(X0, sin(X1))", 0.0, 4)], "gplearn", "test")
    for ds, key, lo, hi in ((california, "val_r2", -1.0, 0.95), (covertype7, "val_macro_auc", 0.5, 0.99)):
        source: SourceData = prepare(ds, 42, max_rows=2000)
        assert source.describe()["task"] == ds.task
        (v,) = validate.validate(cands, source, seeds=(42,), epochs=1)
        assert lo < v.auc < hi and v.task == ds.task
        record = v.record()
        assert key in record and "val_auc" not in record
        if ds.task == "regression":
            assert record["val_accuracy"] is None  # strict JSON: no NaN
    with pytest.raises(DataError, match="fixed task"):
        check_data_arg("california", task="binary")
    with pytest.raises(DataError, match="does not apply to --task regression"):
        check_data_arg(str(tmp_path), positive="1", task="regression")


def test_discover_end_to_end_on_a_regression_file(tmp_path):
    from nsad_lib.discovery import discover

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = X[:, 0] - 0.5 * X[:, 1] ** 2 + 0.1 * rng.normal(size=400)
    path = tmp_path / "reg.csv"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "price": y}).to_csv(path, index=False)
    r = discover(str(path), name="reg", target="price", evaluations=3, dry_run=True)
    validation = r.entry.metrics["validation"]
    assert "val_r2" in validation and validation["val_accuracy"] is None
    assert r.entry.provenance["split"]["task"] == "regression"
    with pytest.raises(Exception, match="collapse fits a binary symbolic classifier"):
        discover(str(path), name="reg", target="price", strategy="collapse", backend="gplearn", dry_run=True)


# -- the CLI's --task ----------------------------------------------------------------------------
def _main(argv, capsys):
    from nsad_lib.cli import main

    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_discover_prints_r2_for_a_regression_dataset(california, capsys, one_torch_thread):
    code, out, err = _main(["discover", "--data", "california", "--name", "cal", "--evaluations", "2",
                            "--max-rows", "600", "--dry-run", "--keep-if-worse"], capsys)
    assert code == 0, err
    assert "val R² " in out and "Light ReLU" in out and "acc" not in out.splitlines()[-1]


def test_cli_task_is_checked_before_any_data_is_loaded(tmp_path, capsys, monkeypatch):
    import nsad_lib.discovery.source as source

    monkeypatch.setattr(source, "load_dataset", lambda *a, **k: pytest.fail("data loaded before the argument check"))
    code, _, err = _main(["discover", "--data", "california", "--name", "cal", "--task", "binary", "--dry-run"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "california" in err
    code, _, err = _main(["check", "relu-v1", "--data", "california", "--task", "sometimes"], capsys)
    assert code == 2 and "sometimes" in err and len(err.strip().splitlines()) == 1
