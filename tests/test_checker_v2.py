"""Checker v2 (issue 17): the learned Δ model with an interval, shipped as JSON, evaluated with numpy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nsad_lib.compat.check import check
from nsad_lib.compat.features import FEATURES
from nsad_lib.compat.learn import export_model, fit_ensembles, interval_verdicts, scores
from nsad_lib.compat.predictor import CheckerModel, TreeEnsemble, load_model, model_path, verdict_of_interval
from nsad_lib.data import datasets
from nsad_lib.errors import NsadError

REPO = Path(__file__).resolve().parents[1]
HIGGS_FIG = "hajbi2026-higgs-fig-v1"


def _cases(n=120, seed=0):
    from nsad_lib.compat.learn import Case

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(FEATURES)))
    y = 2.0 * X[:, 0] - np.abs(X[:, 2]) + rng.normal(scale=0.3, size=n)
    out = [Case(f"d{i % 6}", f"a{i % 20}", "periodic", "continuous", X[i], float(y[i]), "transfers", True, True,
                f"x + {i % 20}") for i in range(n)]
    ds = {f"d{k}": {"domain": "continuous", "x": X[k]} for k in range(6)}
    return out, ds, X, y


def test_numpy_trees_equal_sklearn_and_the_json_round_trips():
    cases, ds, X, y = _cases()
    models = fit_ensembles(X, y, level=0.8, params={"n_estimators": 30})
    doc = export_model(models, cases, ds, level=0.8, version=1, fitted={})  # raises if they differ
    model = CheckerModel(json.loads(json.dumps(doc)))
    mid, lo, hi = model.predict_arrays(X)
    np.testing.assert_allclose(mid, models[1].predict(X), atol=1e-9)
    assert np.all(lo <= mid) and np.all(mid <= hi)
    far = int(np.argmax(np.abs(X[:, 0])))  # the row where feature 0 (the strongest signal) is most unusual
    p = model.predict(X[far], entry_id=f"a{far % 20}")
    assert p.decision_level == 0 and p.verdict == verdict_of_interval(p.delta, p.delta)  # the median decides
    assert p.drivers and p.drivers[0][0] == FEATURES[0]
    assert p.nearest and "measured" in p.nearest[0]


def test_a_decision_band_gives_uncertain_where_it_straddles_minus_one():
    cases, ds, X, y = _cases()
    models = fit_ensembles(X, y, level=0.8, params={"n_estimators": 30})
    band = fit_ensembles(X, y, level=0.5, params={"n_estimators": 30})
    doc = export_model(models, cases, ds, level=0.8, version=1, fitted={}, decision_level=0.5,
                       decision_models=(band[0], band[2]))
    model = CheckerModel(json.loads(json.dumps(doc)))
    lo, hi = model.decision_band(X)
    np.testing.assert_allclose(lo, np.minimum(band[0].predict(X), models[1].predict(X)), atol=1e-9)
    verdicts = [model.predict(x).verdict for x in X]
    assert verdicts == interval_verdicts(lo, hi)
    assert "uncertain" in verdicts and "transfers" in verdicts


def test_interval_verdicts():
    assert verdict_of_interval(-0.5, 2.0) == "transfers"
    assert verdict_of_interval(-1.0, 2.0) == "transfers"  # Δ >= -1 point transfers
    assert verdict_of_interval(-5.0, -1.5) == "does-not-transfer"
    assert verdict_of_interval(-3.0, 0.5) == "uncertain"


def test_scores_count_uncertain_as_a_miss_and_balance_the_classes():
    delta = np.array([0.5, 0.0, -3.0, -0.2])
    s = scores(delta, ["transfers", "uncertain", "transfers", "transfers"], mid=np.array([0.5, 0.0, 0.0, 0.0]),
               low=np.array([0, -1, -1, -1]), high=np.array([1, 1, 1, 1]))
    assert s["agreement"] == pytest.approx(0.5)  # the uncertain real transfer is a miss
    assert s["recall_transfers"] == pytest.approx(2 / 3) and s["recall_fails"] == 0.0
    assert s["balanced"] == pytest.approx(1 / 3)
    assert s["coverage"] == pytest.approx(0.75) and s["mae"] == pytest.approx(0.8)  # (0 + 0 + 3 + 0.2) / 4
    assert s["median_ae"] == pytest.approx(0.1)
    assert s["inside"] == pytest.approx(0.75) and s["below"] == pytest.approx(0.25)
    assert interval_verdicts(np.array([-0.5]), np.array([1.0])) == ["transfers"]


def test_malformed_model_files_are_refused(tmp_path):
    cases, ds, X, y = _cases()
    doc = export_model(fit_ensembles(X, y, params={"n_estimators": 5}), cases, ds, level=0.8, version=1, fitted={})
    bad = json.loads(json.dumps(doc))
    bad["models"]["mid"]["trees"][0]["left"][0] = 10_000
    with pytest.raises(NsadError, match="out of range"):
        CheckerModel(bad)
    bad = json.loads(json.dumps(doc))
    bad["features"] = bad["features"][::-1]
    with pytest.raises(NsadError, match="other features"):
        CheckerModel(bad)
    with pytest.raises(NsadError, match="not an nsad-checker-model"):
        CheckerModel({"schema": "pickle"})
    with pytest.raises(NsadError, match="no such file"):
        load_model(str(tmp_path / "missing.json"))
    with pytest.raises(NsadError, match="malformed"):
        TreeEnsemble({"init": 0.0, "trees": []})


def test_the_shipped_model_is_json_package_data():
    path = model_path()
    assert path.is_file() and path.suffix == ".json"
    doc = json.loads(path.read_text())
    assert doc["schema"] == "nsad-checker-model/1" and doc["version"] >= 1 and doc["features"] == list(FEATURES)
    assert doc["fitted"]["cases"] >= 100 and "fit_checker.py" in doc["fitted"]["command"]
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11+")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "models/*.json" in config["package-data"]["nsad_lib.compat"]


def test_check_gives_the_model_verdict_labelled_as_a_prediction():
    ds = datasets.load("spambase")
    v = check(HIGGS_FIG, ds)
    rules = check(HIGGS_FIG, ds, model=None)
    assert rules.prediction is None and rules.rules_verdict == rules.verdict == v.rules_verdict
    p = v.prediction
    assert v.verdict == p.verdict and p.low <= p.delta <= p.high
    assert p.delta < -1  # the suite measured -8.9 points for this formula on spambase
    first = v.reasons[0]
    assert first.rule == "prediction" and "PREDICTED (not measured)" in first.text
    nearest = next(r for r in v.reasons if r.rule == "nearest")
    assert "spambase (this formula: -8.9)" in nearest.text  # what the formula measured where the data are alike
    assert any(r.rule == "driver" for r in v.reasons)
    assert any(r.rule == "pile" for r in v.reasons)  # today's readable reasons are kept
    assert v.to_dict()["prediction"]["kind"] == "prediction"
