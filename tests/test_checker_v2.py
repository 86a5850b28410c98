"""Checker v2 (issue 17): the suite-matrix smoother of Δ with an interval, shipped as JSON, evaluated
with numpy; its held-out evaluation never sees the held-out cells."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nsad_lib.compat.check import check
from nsad_lib.compat.features import FEATURES
from nsad_lib.compat.learn import (
    DATA_FEATURES,
    Case,
    apart_both,
    by_dataset,
    by_dataset_and_family,
    by_family,
    case_profiles,
    export_model,
    held_out_predictions,
    interval_verdicts,
    scores,
    select_settings,
)
from nsad_lib.compat.predictor import CheckerModel, load_model, model_path, verdict_of_interval
from nsad_lib.compat.smoother import CLIP, SHAPE_POINTS, Smoother, formula_shape, shape_distances
from nsad_lib.data import datasets
from nsad_lib.errors import NsadError
from nsad_lib.formula import Formula

REPO = Path(__file__).resolve().parents[1]
HIGGS_FIG = "hajbi2026-higgs-fig-v1"
FAMILIES = ("periodic", "gated", "saturating")


def _suite(n_datasets=8, n_formulas=9, seed=0):
    """A synthetic matrix: Δ = formula effect + dataset effect (a smooth function of the profile) + noise."""
    rng = np.random.default_rng(seed)
    di = [FEATURES.index(f) for f in DATA_FEATURES]
    grid = np.linspace(-2, 2, SHAPE_POINTS)
    shapes, effect = {}, {}
    for k in range(n_formulas):
        s = np.tanh((1 + k) * grid) + 0.3 * np.sin(k * grid)
        s = s - s.mean()
        shapes[f"f{k}"] = s / np.sqrt(np.mean(s ** 2))
        effect[f"f{k}"] = rng.normal(scale=3.0)
    cases = []
    for d in range(n_datasets):
        x = rng.normal(size=len(FEATURES))
        for k in range(n_formulas):
            delta = effect[f"f{k}"] + x[di[0]] + rng.normal(scale=0.3)
            cases.append(Case(f"d{d}", f"f{k}", FAMILIES[k % 3], "continuous", x.copy(), float(delta), "transfers",
                              True, True, f"x + {k}"))
    return cases, shapes


def test_formula_shape_ignores_output_shift_scale_and_sign():
    f = formula_shape(Formula.parse("x*sigmoid(x)"))
    g = formula_shape(Formula.parse("3*x*sigmoid(x) - 2"))
    h = formula_shape(Formula.parse("-x*sigmoid(x)"))
    assert f.shape == (SHAPE_POINTS,) and np.sqrt(np.mean(f ** 2)) == pytest.approx(1.0)
    np.testing.assert_allclose(f, g, atol=1e-12)
    assert shape_distances(f, np.stack([h, g]))[0] == pytest.approx(0.0, abs=1e-12)
    assert shape_distances(f, formula_shape(Formula.parse("sin(3*x)"))[None, :])[0] > 0.5
    assert not formula_shape(Formula.parse("Max(x, 5)")).any()  # constant on the normal quantiles: no shape


def test_smoother_reads_the_formula_row_on_the_nearest_dataset_and_never_weighs_nothing():
    shapes = {"a": np.linspace(-1, 1, SHAPE_POINTS), "b": np.sign(np.linspace(-1, 1, SHAPE_POINTS))}
    profiles = {"near": np.array([0.0, 0.0]), "far": np.array([5.0, 5.0]), "mid": np.array([2.0, 2.0])}
    cells = [("near", "a", 2.0), ("far", "a", -6.0), ("near", "b", -9.0), ("far", "b", 1.0), ("mid", "a", 500.0)]
    sm = Smoother(cells, profiles, shapes, h_data=0.05, h_formula=0.05)
    p = sm.predict(np.array([[0.1, 0.0]]), shapes["a"][None, :])
    assert p["delta"][0] == pytest.approx(2.0) and p["known"][0] == 1.0
    p = sm.predict(np.array([[100.0, 100.0]]), shapes["b"][None, :] * -3)  # far from everything, -b is b
    assert p["delta"][0] == pytest.approx(1.0) and np.isfinite(p["spread"][0])
    assert sm.predict(np.array([[2.0, 2.0]]), shapes["a"][None, :])["delta"][0] == CLIP  # Δ clipped to ±25
    top = sm.heaviest(np.array([0.0, 0.0]), shapes["a"], top=2)
    assert top[0][:3] == ("near", "a", 2.0) and top[0][3] > 0.9


def test_held_out_predictions_never_see_the_held_out_cells():
    cases, shapes = _suite()
    profiles = case_profiles(cases)
    for key, group in ((by_dataset, "d3"), (by_family, "gated")):
        base, chosen = held_out_predictions(cases, key, profiles, shapes)
        poisoned = [replace(c, delta=-c.delta * 7 + 11) if key(c) == group else c for c in cases]
        again, chosen2 = held_out_predictions(poisoned, key, profiles, shapes)
        held = np.array([key(c) == group for c in cases])
        for name in ("delta", "low", "high", "dlow", "dhigh"):
            np.testing.assert_array_equal(base[name][held], again[name][held])  # untouched by its own cells
        assert chosen[group] == chosen2[group]
        assert np.any(base["delta"][~held] != again["delta"][~held])  # the poison does reach the other folds


def test_the_new_formula_on_new_data_split_leaves_out_the_dataset_and_the_family():
    cases, shapes = _suite(n_datasets=6, n_formulas=9)
    profiles = case_profiles(cases)
    base, _ = held_out_predictions(cases, by_dataset_and_family, profiles, shapes, apart=apart_both)
    poisoned = [replace(c, delta=c.delta - 40) if (c.dataset == "d2" or c.family == "gated") else c for c in cases]
    again, _ = held_out_predictions(poisoned, by_dataset_and_family, profiles, shapes, apart=apart_both)
    held = np.array([c.dataset == "d2" and c.family == "gated" for c in cases])
    np.testing.assert_array_equal(base["delta"][held], again["delta"][held])
    assert np.any(base["delta"][~held] != again["delta"][~held])


def test_the_recipe_predicts_a_smooth_matrix_and_beats_chance():
    cases, shapes = _suite(n_datasets=10, n_formulas=12, seed=1)
    pred, _ = held_out_predictions(cases, by_dataset, case_profiles(cases), shapes)
    y = np.array([c.delta for c in cases])
    s = scores(y, interval_verdicts(pred["dlow"], pred["dhigh"]), pred["delta"], pred["low"], pred["high"])
    assert s["agreement"] > 0.75 and s["coverage"] >= 0.8
    assert np.all(pred["low"] <= pred["delta"]) and np.all(pred["delta"] <= pred["high"])


def test_export_round_trips_and_names_what_the_nearest_cells_measured():
    cases, shapes = _suite()
    profiles = case_profiles(cases)
    settings = select_settings(cases, range(len(cases)), profiles, shapes)
    doc = export_model(cases, settings=settings, level=0.8, version=2, fitted={}, shapes=shapes)  # raises if unlike
    model = CheckerModel(json.loads(json.dumps(doc)))
    c = cases[4]
    p = model.predict(c.x, shape=shapes[c.activation])
    assert p.low <= p.delta <= p.high and p.verdict in ("transfers", "does-not-transfer", "uncertain")
    assert p.delta == pytest.approx(round(c.delta, 3), abs=0.5)  # its own cell is in the matrix
    first = p.nearest[0]
    assert first["dataset"] == c.dataset and c.activation in first["measured"] and "similar_formulas" not in first
    assert model.predict(c.x, entry_id=c.activation) == p  # a suite formula's shape is looked up
    new = model.predict(c.x, shape=-shapes["f1"] * 0.5 + 0.01 * np.linspace(-1, 1, SHAPE_POINTS))
    assert new.nearest[0].get("similar_formulas") is True
    with pytest.raises(NsadError, match="shape is needed"):
        model.predict(c.x, entry_id="unknown")


def test_interval_verdicts():
    assert verdict_of_interval(-0.5, 2.0) == "transfers"
    assert verdict_of_interval(-1.0, 2.0) == "transfers"  # Δ >= -1 point transfers
    assert verdict_of_interval(-5.0, -1.5) == "does-not-transfer"
    assert verdict_of_interval(-3.0, 0.5) == "uncertain"


def test_scores_count_uncertain_as_a_miss_balance_the_classes_and_clip_the_errors():
    delta = np.array([0.5, 0.0, -3.0, -0.2])
    s = scores(delta, ["transfers", "uncertain", "transfers", "transfers"], mid=np.array([0.5, 0.0, 0.0, 0.0]),
               low=np.array([0, -1, -1, -1]), high=np.array([1, 1, 1, 1]))
    assert s["agreement"] == pytest.approx(0.5)  # the uncertain real transfer is a miss
    assert s["recall_transfers"] == pytest.approx(2 / 3) and s["recall_fails"] == 0.0
    assert s["balanced"] == pytest.approx(1 / 3)
    assert s["coverage"] == pytest.approx(0.75) and s["mae"] == pytest.approx(0.8)  # (0 + 0 + 3 + 0.2) / 4
    assert s["median_ae"] == pytest.approx(0.1)
    assert s["inside"] == pytest.approx(0.75) and s["below"] == pytest.approx(0.25)
    diverged = scores(np.array([-9000.0, 1.0]), ["does-not-transfer", "transfers"], mid=np.array([-5.0, 1.0]))
    assert diverged["mae"] == pytest.approx(10.0)  # |-25 - (-5)| / 2: Δ clipped to ±25 points


def test_malformed_model_files_are_refused(tmp_path):
    cases, shapes = _suite(n_datasets=4, n_formulas=6)
    settings = select_settings(cases, range(len(cases)), case_profiles(cases), shapes)
    doc = export_model(cases, settings=settings, level=0.8, version=2, fitted={}, shapes=shapes)
    for edit, message in ((lambda d: d["formulas"][0].update(shape=[1.0, 2.0]), "wrong length"),
                          (lambda d: d["delta"]["d0"].update(ghost=1.0), "no profile or shape"),
                          (lambda d: d["bands"]["known"].pop("0.80"), "no interval quantiles"),
                          (lambda d: d["bandwidths"].update(h_data=0.0), "must be positive"),
                          (lambda d: d.pop("delta"), "malformed"),
                          (lambda d: d.update(features=d["features"][::-1]), "other features")):
        bad = json.loads(json.dumps(doc))
        edit(bad)
        with pytest.raises(NsadError, match=message):
            CheckerModel(bad)
    with pytest.raises(NsadError, match="not an nsad-checker-model"):
        CheckerModel({"schema": "pickle"})
    with pytest.raises(NsadError, match="no such file"):
        load_model(str(tmp_path / "missing.json"))


def test_the_shipped_model_is_json_package_data():
    path = model_path()
    assert path.is_file() and path.suffix == ".json"
    doc = json.loads(path.read_text())
    assert doc["schema"] == "nsad-checker-model/2" and doc["version"] >= 2 and doc["features"] == list(FEATURES)
    assert doc["fitted"]["cases"] >= 100 and "fit_checker.py" in doc["fitted"]["command"]
    assert all(abs(v) <= CLIP for row in doc["delta"].values() for v in row.values())
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
    assert any(r.rule == "pile" for r in v.reasons)  # today's readable reasons are kept
    assert v.to_dict()["prediction"]["kind"] == "prediction"


def test_check_of_a_new_formula_names_the_similar_suite_formulas():
    from nsad_lib.registry.entry import Entry

    v = check(Entry.create("user-new", 1, "x*tanh(x) + 0.1*x"), datasets.load("spambase"))
    nearest = next(r for r in v.reasons if r.rule == "nearest")
    assert "similar formulas:" in nearest.text and "this formula" not in nearest.text
    assert v.prediction is not None and v.prediction.verdict == v.verdict


def test_a_same_shape_suite_formula_is_named_not_called_this_formula():
    """2*silu + 1 has silu's shape: the reasons name the suite formula whose measurements they show."""
    from nsad_lib.compat.check import prediction_reasons
    from nsad_lib.compat.predictor import Prediction

    p = Prediction(model="m", delta=0.1, low=-0.5, high=0.7, level=0.8, decision_level=0.0, verdict="transfers",
                   nearest=({"dataset": "magic", "weight": 1.0, "measured": {"silu": 0.2}},))
    own = [r.text for r in prediction_reasons(p, "transfers", "silu") if r.rule == "nearest"]
    other = [r.text for r in prediction_reasons(p, "transfers", "my-silu-v1") if r.rule == "nearest"]
    assert own == ["nearest suite datasets by profile (measured Δ, points): magic (this formula: +0.2)"]
    assert other == ["nearest suite datasets by profile (measured Δ, points): magic (same shape as silu: +0.2)"]


# ---------------------------------------------------------------- the probe combination

def test_probe_combination_is_fitted_without_the_held_out_group_and_reads_the_probe():
    """On a synthetic matrix whose Δ the probe measures with noise, the fold-honest combination beats
    the prior alone, never sees the held-out group's Δ, and recovers a probe weight near 1."""
    from nsad_lib.compat.learn import fit_probe_combination, held_out_probe_combination

    cases, shapes = _suite(n_datasets=8, n_formulas=9, seed=3)
    profiles = case_profiles(cases)
    rng = np.random.default_rng(0)
    y = np.array([c.delta for c in cases])
    probe = y + rng.normal(scale=0.5, size=len(y))
    pred, chosen = held_out_predictions(cases, by_dataset, profiles, shapes)
    comb = held_out_probe_combination(cases, by_dataset, pred["delta"], probe, chosen, profiles, shapes)
    assert np.all(np.isfinite(comb["delta"])) and np.all(comb["low"] <= comb["delta"])
    assert np.mean(np.abs(comb["delta"] - y)) < np.mean(np.abs(pred["delta"] - y))
    fit = fit_probe_combination(pred["delta"], probe, y)
    assert fit["coef"][1] == pytest.approx(1.0, abs=0.25)
    # poisoning the held-out dataset's measured Δ changes none of its predictions
    poisoned = [replace(c, delta=-c.delta * 5 + 9) if c.dataset == "d2" else c for c in cases]
    again = held_out_probe_combination(poisoned, by_dataset, pred["delta"], probe, chosen, profiles, shapes)
    held = np.array([c.dataset == "d2" for c in cases])
    for name in ("delta", "low", "high"):
        np.testing.assert_array_equal(comb[name][held], again[name][held])
    assert np.any(comb["delta"][~held] != again["delta"][~held])
    # a case without a probe gets no combined prediction
    probe[0] = np.nan
    partial = held_out_probe_combination(cases, by_dataset, pred["delta"], probe, chosen, profiles, shapes)
    assert np.isnan(partial["delta"][0]) and np.isfinite(partial["delta"][1:]).all()


def test_probe_deltas_pair_each_seed_with_relu_and_skip_missing_runs():
    from nsad_lib.compat.learn import probe_deltas

    cases, _ = _suite(n_datasets=2, n_formulas=2)

    def rec(d, a, seed, score, epochs=5, evaluation="probe", status="ok", split_seed=None):
        spec = {"dataset": d, "activation": a, "seed": seed, "epochs": epochs, "evaluation": evaluation,
                **({} if split_seed is None else {"split_seed": split_seed})}
        return {"spec": spec, "status": status, "result": {"score": score}}

    records = [rec("d0", "relu", 42, 0.80), rec("d0", "f0", 42, 0.83), rec("d0", "relu", 43, 0.70, split_seed=42),
               rec("d0", "f0", 43, 0.69, split_seed=42), rec("d0", "f0", 43, 0.10),  # seed 43 on its own split
               rec("d0", "f1", 42, 0.50), rec("d0", "f1", 43, 0.5),  # f1: no seed 43 on the split of 42
               rec("d1", "relu", 42, 0.9), rec("d1", "f0", 42, 0.1, epochs=15),  # another setting
               rec("d1", "f1", 42, 0.2, evaluation="test"), rec("d1", "f1", 42, 0.95, status="failed")]
    got = dict(zip([(c.dataset, c.activation) for c in cases], probe_deltas(records, cases, [42, 43], 5)))
    assert got[("d0", "f0")] == pytest.approx(100 * ((0.83 - 0.80) + (0.69 - 0.70)) / 2)
    assert all(np.isnan(got[k]) for k in (("d0", "f1"), ("d1", "f0"), ("d1", "f1")))


def test_matched_probe_epochs_give_the_protocols_optimizer_steps():
    """forest (80,000 training rows): 79 batches an epoch, the probe's 15,000 rows 15, so 79 epochs;
    a small split whose probe fits in one batch as the protocol's does keeps 15."""
    import math

    from nsad_lib.training.protocol import matched_probe_epochs, probe_epochs_for

    assert matched_probe_epochs(80_000) == 79
    assert matched_probe_epochs(1178) == 30  # 2 batches an epoch against the probe's 1
    assert matched_probe_epochs(800) == 15
    for n in (500, 3000, 16_512, 28_238, 80_000, 400_000):
        e = matched_probe_epochs(n)
        fit = min(n, 20_000) - int(min(n, 20_000) * 0.25)
        steps, probe_steps = 15 * math.ceil(n / 1024), e * math.ceil(fit / 1024)
        assert probe_steps >= steps and (e == 15 or (e - 1) * math.ceil(fit / 1024) < steps)
    assert probe_epochs_for("matched", 80_000) == 79 and probe_epochs_for(7, 80_000) == 7
    for bad in (0, -3, 2.5, True, "long"):
        with pytest.raises(NsadError, match="probe epochs"):
            probe_epochs_for(bad, 1000)


def test_probe_deltas_read_matched_runs_per_dataset():
    from nsad_lib.compat.learn import probe_deltas, probe_setting
    from nsad_lib.training.protocol import matched_probe_epochs, train_indices

    cases, _ = _suite(n_datasets=2, n_formulas=1)
    rows = {"d0": 100_000, "d1": 1000}
    want = {d: matched_probe_epochs(len(train_indices(n, 42))) for d, n in rows.items()}
    assert want == {"d0": 79, "d1": 15}

    def rec(d, a, score, epochs):
        return {"spec": {"dataset": d, "activation": a, "seed": 42, "epochs": epochs, "evaluation": "probe",
                         "rows": rows[d]}, "status": "ok", "result": {"score": score}}

    records = [rec("d0", "relu", 0.8, 79), rec("d0", "f0", 0.9, 79), rec("d0", "f0", 0.1, 15),
               rec("d1", "relu", 0.8, 15), rec("d1", "f0", 0.7, 15)]
    got = dict(zip([c.dataset for c in cases], probe_deltas(records, cases, [42], "matched")))
    assert got == {"d0": pytest.approx(10.0), "d1": pytest.approx(-10.0)}
    assert probe_setting("matched:42,43") == ("matched", [42, 43]) and probe_setting("15:42") == (15, [42])
    with pytest.raises(NsadError, match="EPOCHS:SEEDS"):
        probe_setting("soon:42")


def test_malformed_probe_combination_is_refused():
    from nsad_lib.compat.predictor import ProbeCombination

    good = {"intercept": 0.1, "coef": [0.5, 0.6], "residual_quantiles": [-2, 2], "epochs": 5, "seeds": 1,
            "rows": 20000}
    comb = ProbeCombination.from_doc(good)
    assert comb.delta(-3.0, 100.0) == pytest.approx(0.1 + 0.5 * -3.0 + 0.6 * CLIP)  # the probe clipped to ±25
    assert comb.applies(5, 1, 20000) and not comb.applies(15, 1, 20000)
    matched = ProbeCombination.from_doc({**good, "epochs": "matched"})
    assert matched.applies("matched", 1, 20000) and not matched.applies(5, 1, 20000)
    for bad in ({**good, "coef": [1.0]}, {**good, "residual_quantiles": [0, float("nan")]},
                {k: v for k, v in good.items() if k != "epochs"}, {**good, "epochs": "soon"},
                {**good, "epochs": 2.5}):
        with pytest.raises(NsadError, match="probe"):
            ProbeCombination.from_doc(bad)


def test_check_with_the_default_probe_updates_the_prediction():
    """--probe with the defaults the shipped combination was fitted for: the verdict is the updated
    prediction's, first among the reasons; another probe setting is reported but not combined."""
    model = load_model()
    ds = datasets.load("forest", sample=True)
    v = check("higgs-v1", ds, probe=True, compare_source=False)
    from nsad_lib.training.protocol import matched_probe_epochs, train_indices

    assert model.probe.epochs == "matched"
    assert v.probe.epochs == matched_probe_epochs(len(train_indices(ds.n_rows, 42)))
    assert v.with_probe is not None and v.verdict == v.with_probe.verdict
    assert v.with_probe.delta == pytest.approx(model.probe.delta(v.prediction.delta, 100 * v.probe.delta))
    assert v.with_probe.low < v.with_probe.delta < v.with_probe.high
    assert v.reasons[0].rule == "with probe" and v.reasons[0].text.startswith("PREDICTED from the no-training")
    assert v.to_dict()["with_probe"]["model"].endswith("+probe")
    other = check("higgs-v1", ds, probe=True, probe_epochs=2, compare_source=False)
    assert other.with_probe is None and other.verdict == other.prediction.verdict
    assert any(r.rule == "with probe" and "not combined" in r.text for r in other.reasons)
