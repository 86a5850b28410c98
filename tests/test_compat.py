"""The compatibility checker on real data: profiles, verdicts, label hygiene, evidence, marks.

Data come from ../shared/data (the paper's datasets); where a copy is missing the test falls
back to the sample shipped in the package, and says so in the skip/fallback reason.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from nsad_lib.compat.check import check, domain_marks, evidence_record, write_evidence
from nsad_lib.data import datasets
from nsad_lib.data.profile import one_hot_blocks, profile_data
from nsad_lib.data.types import Dataset
from nsad_lib.errors import DataError, UnknownEntryError
from nsad_lib.registry.entry import Entry
from nsad_lib.registry.store import Registry, bundled_path

HIGGS_FIG = "hajbi2026-higgs-fig-v1"
_CACHE: dict[str, Dataset] = {}


def real(name: str) -> Dataset:
    """The full dataset from ../shared/data, else the shipped sample, else a visible skip."""
    if name not in _CACHE:
        try:
            _CACHE[name] = datasets.load(name)
        except DataError:
            try:
                _CACHE[name] = datasets.load(name, sample=True)
            except DataError as exc:  # pragma: no cover - both missing
                pytest.skip(f"{name}: neither ../shared/data nor the shipped sample is available ({exc})")
    return _CACHE[name]


# -- dataset profile -----------------------------------------------------------------------
@pytest.mark.parametrize("name, domain", [("forest", "continuous"), ("higgs", "continuous"),
                                         ("spambase", "discrete"), ("sms", "discrete")])
def test_profile_domain_on_real_data(name, domain):
    ds = real(name)
    rows = np.random.default_rng(0).choice(ds.n_rows, min(5000, ds.n_rows), replace=False)
    profile = profile_data(ds.X[rows], ds.feature_names)
    assert profile.domain == domain, profile.reasons
    assert profile.confidence >= 0.8
    assert profile.reasons


def test_forest_one_hot_blocks_are_indicators_not_counts():
    ds = real("forest")
    profile = profile_data(ds.X[:5000], ds.feature_names)
    assert profile.one_hot_blocks == ((10, 4), (14, 40))  # wilderness areas, soil types
    assert profile.kinds.get("count", 0) == 0
    assert any("one-hot" in r for r in profile.reasons)


def test_spambase_float_frequencies_are_counts_in_disguise():
    ds = real("spambase")
    profile = profile_data(ds.X, ds.feature_names)
    freq = [f for f in profile.features if f.name.startswith("word_freq_")]
    assert sum(not f.integer for f in freq) >= 40  # floats, yet counts
    assert sum(f.kind == "count" for f in freq) >= 40
    assert profile.zero_fraction > 0.7


def test_higgs_btag_levels_are_codes_not_counts():
    ds = real("higgs")
    profile = profile_data(ds.X[:5000], ds.feature_names)
    btags = [f for f in profile.features if f.name.endswith("btag")]
    assert btags and all(f.kind == "categorical" for f in btags)


def test_profile_feature_kinds_on_a_synthetic_table():
    rng = np.random.default_rng(1)
    n = 2000
    onehot = np.eye(3)[rng.integers(0, 3, n)]
    X = np.column_stack([rng.normal(size=n), rng.poisson(0.2, n), np.full(n, 7.0), onehot, rng.integers(0, 5, n)])
    profile = profile_data(X, ["m", "c", "k", "a", "b", "c2", "code"])
    kinds = [f.kind for f in profile.features]
    assert kinds == ["continuous", "count", "constant", "binary", "binary", "binary", "categorical"]
    assert one_hot_blocks(X) == [(3, 3)]


# -- verdicts (the acceptance cases) ---------------------------------------------------------
@pytest.mark.parametrize("name, expected", [("forest", "transfers"), ("spambase", "does-not-transfer"),
                                            ("sms", "does-not-transfer"), ("higgs", "does-not-transfer")])
def test_higgs_formula_verdicts(name, expected):
    # today's rules alone (model=None); the v2 model's verdicts are scored in tests/test_checker_v2.py
    v = check(HIGGS_FIG, real(name), model=None)
    assert v.verdict == expected, [str(r) for r in v.reasons]
    assert v.reasons and all(r.text for r in v.reasons)
    assert v.seconds < 30


def test_reference_activations_transfer_everywhere():
    for ref in ("relu-v1", "gelu-v1"):
        for name in ("forest", "spambase"):
            assert check(ref, real(name), model=None).verdict == "transfers"


def _heldout(formula: str) -> Entry:
    return Entry.create("heldout-1", 1, formula, summary="held-out formula")


def test_fold_cost_weighs_folds_by_the_variance_they_cost():
    # higgs-specialist-v1 is ReLU-like with a slight backward slope below zero: rank agreement
    # alone (about 0.7) called it a fold; a monotone fit reproduces >99% of its variance
    v = check("higgs-specialist-v1", real("higgs"))
    fp = v.formula_profile
    assert fp.rank_agreement < 0.8 and fp.fold_cost < 0.02
    order = next(r for r in v.reasons if r.rule == "order")
    assert order.accepted
    even = check(HIGGS_FIG, real("higgs")).formula_profile
    assert even.fold_cost > 0.3


@pytest.mark.parametrize("formula, gated", [("Max(x, 0)", True), ("x*sigmoid(x)", True), ("tanh(x)", False),
                                            ("softplus(x)", False), ("x + x*Abs(x)/4", False)])
def test_gate_rule_separates_one_sided_gates_from_other_monotone_shapes(formula, gated):
    v = check(_heldout(formula), real("higgs"))
    assert v.rules_verdict == ("transfers" if gated else "does-not-transfer")
    v = check(_heldout(formula), real("higgs"), model=None)
    fp = v.formula_profile
    gate = next(r for r in v.reasons if r.rule == "gate")
    assert gate.accepted is gated, (fp.tail_gain_left, fp.tail_gain_right)
    assert v.verdict == ("transfers" if gated else "does-not-transfer")
    if formula == "Max(x, 0)":
        assert fp.tail_gain_left == pytest.approx(0.0, abs=1e-6) and fp.tail_gain_right == pytest.approx(2.0, abs=0.1)


def test_discrete_rejection_names_the_zero_pile():
    v = check(HIGGS_FIG, real("spambase"))
    rules = {r.rule for r in v.rejected}
    assert {"pile", "order"} <= rules
    pile = next(r for r in v.reasons if r.rule == "pile")
    assert "zero" in pile.text and "even" in pile.text


def test_verdict_json_round_trip():
    v = check(HIGGS_FIG, real("spambase"))
    data = json.loads(json.dumps(v.to_dict()))
    assert data["rules_verdict"] == "does-not-transfer" and data["domain"] == "discrete"
    assert data["verdict"] == data["prediction"]["verdict"] and data["prediction"]["kind"] == "prediction"
    assert data["formula_profile"]["parity"] == "even"


# -- label hygiene ---------------------------------------------------------------------------
def test_no_probe_verdict_does_not_read_labels():
    ds = real("spambase")
    garbage = np.random.default_rng(7).integers(0, 2, ds.n_rows)
    scrambled = replace(ds, y=garbage)
    constant = replace(ds, y=np.zeros(ds.n_rows, dtype=np.int64))
    a = check(HIGGS_FIG, ds, compare_source=False)
    b = check(HIGGS_FIG, scrambled, compare_source=False)
    c = check(HIGGS_FIG, constant, compare_source=False)
    d = check(HIGGS_FIG, ds.X, compare_source=False)  # features only: no labels at all
    assert a.verdict == b.verdict == c.verdict == d.verdict
    assert a.score == b.score == c.score == d.score
    assert a.prediction is not None and a.prediction == b.prediction == c.prediction == d.prediction
    assert a.formula_profile == b.formula_profile
    assert replace(d.formula_profile, dataset=a.dataset) == a.formula_profile


def test_profile_uses_training_split_rows_only():
    from nsad_lib.training.protocol import split_indices

    ds = real("spambase")
    _, test = split_indices(ds.n_rows, 42)
    poisoned = ds.X.copy()
    poisoned[test] = 1e6  # test rows would wreck every statistic if they were read
    a = check(HIGGS_FIG, ds.X, compare_source=False)
    b = check(HIGGS_FIG, poisoned, compare_source=False)
    assert a.score == b.score and a.formula_profile == b.formula_profile
    assert a.prediction == b.prediction


# -- errors ----------------------------------------------------------------------------------
def test_bad_inputs_raise_nsad_errors(tmp_path):
    with pytest.raises(UnknownEntryError):
        check("no-such-entry-v1", "forest")
    with pytest.raises(DataError, match="no such file"):
        check("relu-v1", tmp_path / "missing.csv")
    table = tmp_path / "t.csv"
    table.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(60)))
    with pytest.raises(DataError, match="no target column"):
        check("relu-v1", table, target="nope")
    assert check("relu-v1", table, target="y", model=None).verdict == "transfers"


# -- probe and evidence ----------------------------------------------------------------------
def test_probe_and_evidence_make_a_new_version(tmp_path):
    bundled_file = bundled_path() / f"{HIGGS_FIG}.json"
    before = bundled_file.read_bytes()
    v = check(HIGGS_FIG, real("spambase"), probe=True, probe_epochs=2, probe_rows=1500)
    assert v.probe is not None and v.probe.train_rows + v.probe.val_rows <= 1500
    assert any(r.rule == "probe" for r in v.reasons)
    new = write_evidence(v, tmp_path)
    assert new.id == "hajbi2026-higgs-fig-v2" and new.provenance["parent"] == HIGGS_FIG
    assert new.formula == Registry().resolve(HIGGS_FIG).formula
    record = new.domains["transfers"][-1]
    assert record["dataset"] == "spambase" and record["evidence"]["kind"] == "probe"
    assert record == evidence_record(v)
    assert bundled_file.read_bytes() == before  # bundled entries stay immutable
    again = write_evidence(v, tmp_path)  # a further record becomes v3, never an overwrite
    assert again.id == "hajbi2026-higgs-fig-v3"
    assert Registry(tmp_path).resolve("hajbi2026-higgs-fig-v2") == new


def test_write_evidence_refuses_the_bundled_registry():
    from nsad_lib.errors import EntryError

    v = check("relu-v1", real("spambase"), compare_source=False)
    with pytest.raises(EntryError, match="read-only"):
        write_evidence(v, bundled_path())


# -- domain marks ----------------------------------------------------------------------------
def _entry(source: str, transfers: list) -> Entry:
    return Entry.create("marks", 1, "x*cos(x)", domains={"source": source, "transfers": transfers},
                        check_numerics=False)


def test_domain_marks():
    # bundled entries: measured evidence from registry/evidence.json (issue 14.11), with counts
    assert domain_marks(Registry().resolve("relu-v1")) == {"continuous": "verified (2 of 2 datasets)",
                                                          "discrete": "verified (2 of 2 datasets)"}
    # the paper's figure formula: the transfer matrix (4 datasets) plus the tabular-25 leaderboard
    assert domain_marks(Registry().resolve(HIGGS_FIG)) == {"continuous": "fails (7 of 11 datasets)",
                                                          "discrete": "fails (8 of 11 datasets)"}
    e = _entry("continuous", [
        {"dataset": "forest", "domain": "continuous", "verdict": "transfers", "evidence": {"accuracy": 0.82}},
        {"dataset": "spambase", "domain": "discrete", "verdict": "fails", "evidence": {"kind": "probe"}},
    ])
    # one record is evidence about one dataset, not the whole domain
    assert domain_marks(e) == {"continuous": "1 dataset: transfers", "discrete": "1 dataset: fails"}
    p = _entry("unknown", [{"dataset": "sms", "domain": "discrete", "verdict": "transfers",
                             "evidence": {"kind": "prediction"}}])
    assert domain_marks(p) == {"continuous": "unknown", "discrete": "predicted"}


# -- issue 13.8: a large file is not read whole to profile a sample ---------------------------------
def _large_table(path, rows: int = 60_000) -> None:
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(size=(rows, 6)), rng.poisson(0.3, size=(rows, 5))])
    y = (X[:, 0] + rng.normal(size=rows) > 0).astype(int)
    with open(path, "w") as fh:
        fh.write(",".join([f"f{j}" for j in range(X.shape[1])] + ["label"]) + "\n")
        np.savetxt(fh, np.column_stack([X, y]), fmt=["%.5f"] * 6 + ["%d"] * 6, delimiter=",")


def test_check_reads_only_the_profiled_rows_of_a_large_file(tmp_path, monkeypatch):
    from nsad_lib.compat import check as compat
    from nsad_lib.data import tabular

    path = tmp_path / "big.csv"
    _large_table(path)
    assert path.stat().st_size > 3_000_000 and tabular.count_data_rows(path) > compat.FULL_READ_MAX_ROWS
    parsed: list[int] = []
    real_parse = tabular._parse_text

    def counting(*args):
        frame = real_parse(*args)
        parsed.append(len(frame))
        return frame

    monkeypatch.setattr(tabular, "_parse_text", counting)
    sampled = check("relu-v1", path, sample_rows=3000, compare_source=False)
    assert parsed == [3000] and sampled.rows_profiled == 3000  # not the 60,000 rows of the file
    monkeypatch.undo()
    whole = check("relu-v1", load_file_for_test(path), sample_rows=3000, compare_source=False)
    # the very same training-split rows are profiled, so the data profile is identical
    assert sampled.data_profile == whole.data_profile
    assert sampled.verdict == whole.verdict
    again = check("relu-v1", path, sample_rows=3000, compare_source=False)
    assert again.to_dict() | {"seconds": 0} == sampled.to_dict() | {"seconds": 0}  # deterministic


def load_file_for_test(path):
    from nsad_lib.data.tabular import load_file

    return load_file(path, target=-1)


def test_check_refuses_header_only_and_regression_files(tmp_path):
    header = tmp_path / "header.csv"
    header.write_text("a,b,label\n")
    with pytest.raises(DataError, match="no data rows, only a header"):
        check("relu-v1", header)
    houses = tmp_path / "houses.csv"
    rng = np.random.default_rng(1)
    houses.write_text("rooms,value\n" + "".join(f"{rng.normal():.4f},{rng.uniform(1, 5):.3f}\n" for _ in range(300)))
    with pytest.raises(DataError, match="regression target .*positive=1 \\(--positive\\) applies to class labels"):
        check("relu-v1", houses, target="value", positive=1)  # issue 16: regression is supported, positive= is not


# -- issue 14.10: a probe on few validation rows warns ----------------------------------------------
def test_probe_on_few_rows_warns():
    from nsad_lib.errors import SmallDataWarning

    with pytest.warns(SmallDataWarning, match=r"the probe's validation scores come from only 150 rows"):
        v = check("relu-v1", real("spambase"), probe=True, probe_epochs=1, probe_rows=600, compare_source=False)
    assert v.probe is not None and v.probe.val_rows == 150


def test_check_reads_the_shipped_samples_by_name():
    """``sample:NAME`` is the small sample shipped in the package, as ``discover`` takes it."""
    from nsad_lib.compat.check import load_target

    ds = load_target("sample:spambase")
    assert ds.name == "spambase" and ds.n_features == 57 and "spambase_sample" in str(ds.meta)
    with pytest.raises(DataError, match=r"sample:NAME for the small sample"):
        load_target("sample-of-nothing.csv")
